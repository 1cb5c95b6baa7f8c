package io.llmnpu.backend.vulkan;

import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.Map;

/**
 * Measures a device's cost rates by running real one-op graphs through the backend's own shaders:
 * an F32 Linear of {@value #GEMM_ROWS} token rows (the prefill GEMM shader) for the FLOP rate, a
 * one-row F32 Linear over a 32 MiB weight (the decode matrix-vector shader, reading weights from
 * memory) for the streaming rate, and a chain of {@value #CHAIN} small Adds for the cost of a
 * dispatch. Each graph runs once to warm up (pipelines, first-touch of memory), then the fastest of
 * the timed runs counts, which filters out interruptions by other processes.
 */
final class KernelRateProbe {
    static final int GEMM_ROWS = 64;
    static final int GEMM_K = 512;
    static final int GEMM_N = 512;
    static final int STREAM_K = 4096;
    static final int STREAM_N = 2048;
    static final int CHAIN = 64;
    private static final long BUDGET_NANOS = 150_000_000L;
    private static final int MIN_RUNS = 3;
    private static final int MAX_RUNS = 200;

    private KernelRateProbe() {
    }

    static CostRates measure(VulkanDevice device) {
        try (Arena arena = Arena.ofShared()) {
            double gemm = linearSeconds(device, arena, GEMM_ROWS, GEMM_K, GEMM_N);
            double stream = linearSeconds(device, arena, 1, STREAM_K, STREAM_N);
            double oneAdd = chainSeconds(device, arena, 1);
            double chain = chainSeconds(device, arena, CHAIN);
            double dispatch = Math.max(0, (chain - oneAdd) / (CHAIN - 1));
            double flops = 2.0 * GEMM_ROWS * GEMM_K * GEMM_N / gemm;
            double bytes = 4.0 * ((double) STREAM_K * STREAM_N + STREAM_K + STREAM_N) / stream;
            return new CostRates(flops, bytes, dispatch, "measured now");
        }
    }

    private static double linearSeconds(VulkanDevice device, Arena arena, int rows, int k, int n) {
        SubgraphBuilder b = new SubgraphBuilder("cost-probe-linear");
        Value x = b.input("x", DType.F32, Shape.of(rows, k));
        Value y = b.value("y", DType.F32, Shape.of(rows, n));
        b.add(new Op.Linear(x, filled(Tensor.allocate(arena, "w", DType.F32, Shape.of(n, k))), y));
        b.output(y);
        Map<Value, Tensor> bindings = Map.of(x, filled(Tensor.allocate(arena, "x", DType.F32, x.shape())),
                y, Tensor.allocate(arena, "y", DType.F32, y.shape()));
        try (CompiledGraph g = device.compile(b.build())) {
            return best(g, bindings);
        }
    }

    /** A graph of {@code length} dependent Adds on 64 values: nearly all of its time is dispatches. */
    private static double chainSeconds(VulkanDevice device, Arena arena, int length) {
        SubgraphBuilder b = new SubgraphBuilder("cost-probe-chain");
        Value a = b.input("a", DType.F32, Shape.of(1, 64));
        Value x = a;
        for (int i = 0; i < length; i++) {
            Value next = b.value("x" + i, DType.F32, Shape.of(1, 64));
            b.add(new Op.Add(x, a, next));
            x = next;
        }
        b.output(x);
        Map<Value, Tensor> bindings = new HashMap<>();
        bindings.put(a, filled(Tensor.allocate(arena, "a", DType.F32, a.shape())));
        bindings.put(x, Tensor.allocate(arena, "out", DType.F32, x.shape()));
        try (CompiledGraph g = device.compile(b.build())) {
            return best(g, bindings);
        }
    }

    private static double best(CompiledGraph g, Map<Value, Tensor> bindings) {
        g.execute(bindings);
        long end = System.nanoTime() + BUDGET_NANOS;
        long best = Long.MAX_VALUE;
        for (int i = 0; i < MAX_RUNS && (i < MIN_RUNS || System.nanoTime() < end); i++) {
            long start = System.nanoTime();
            g.execute(bindings);
            best = Math.min(best, System.nanoTime() - start);
        }
        return Math.max(best, 1) / 1e9;
    }

    /** Small non-zero values, so no special-case (zero or denormal) arithmetic is timed. */
    private static Tensor filled(Tensor t) {
        long n = t.shape().elements();
        for (long i = 0; i < n; i++) {
            t.setFloat(i, 0.25f + (i % 7) * 0.125f);
        }
        return t;
    }
}
