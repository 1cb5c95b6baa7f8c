package io.llmnpu.backend.cpu.bench;

import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.backend.cpu.CpuBackend;
import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Causal attention of a prefill chunk (rows at positions {@code start .. start + rows - 1}) with the
 * TinyLlama head layout (32 query heads over 4 KV heads), or one decode row with {@code rows = 1}.
 * {@code gflop} counts 4 * headDim flops per (query head, attended position).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class AttentionBenchmark {

    private static final int HEADS = 32;
    private static final int KV_HEADS = 4;

    @Param({"256"})
    public int rows;

    @Param({"0"})
    public int start;

    @Param({"64"})
    public int headDim;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private CpuBackend backend;
    private CompiledGraph graph;
    private Map<Value, Tensor> bindings;
    private double gflopPerCall;

    @Setup(Level.Trial)
    public void setUp() {
        int context = start + rows;
        arena = Arena.ofShared();
        backend = new CpuBackend(new BackendOptions(threads));
        SubgraphBuilder b = new SubgraphBuilder("attention-bench");
        Value q = b.input("q", DType.F32, Shape.of(rows, HEADS * headDim));
        Value k = b.input("k", DType.F32, Shape.of(rows, KV_HEADS * headDim));
        Value v = b.input("v", DType.F32, Shape.of(rows, KV_HEADS * headDim));
        Value pos = b.input("pos", DType.I32, Shape.of(rows));
        Value kc = b.input("kCache", DType.F32, Shape.of(context, KV_HEADS * headDim));
        Value vc = b.input("vCache", DType.F32, Shape.of(context, KV_HEADS * headDim));
        Value out = b.value("out", DType.F32, q.shape());
        b.add(new Op.Attention(q, k, v, pos, kc, vc, HEADS, KV_HEADS, headDim, out));
        b.output(out);
        graph = backend.devices().getFirst().compile(b.build());
        Tensor positions = Tensor.allocate(arena, "pos", DType.I32, pos.shape());
        double attended = 0;
        for (int t = 0; t < rows; t++) {
            positions.setInt(t, start + t);
            attended += start + t + 1;
        }
        gflopPerCall = 4.0 * HEADS * headDim * attended / 1e9;
        bindings = new HashMap<>();
        bindings.put(q, RandomWeights.activations(arena, rows, HEADS * headDim, 1));
        bindings.put(k, RandomWeights.activations(arena, rows, KV_HEADS * headDim, 2));
        bindings.put(v, RandomWeights.activations(arena, rows, KV_HEADS * headDim, 3));
        bindings.put(pos, positions);
        bindings.put(kc, RandomWeights.activations(arena, context, KV_HEADS * headDim, 4));
        bindings.put(vc, RandomWeights.activations(arena, context, KV_HEADS * headDim, 5));
        bindings.put(out, Tensor.allocate(arena, "out", DType.F32, out.shape()));
    }

    @Benchmark
    public void attention(FlopCounter counter) {
        graph.execute(bindings);
        counter.gflop += gflopPerCall;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        graph.close();
        backend.close();
        arena.close();
    }
}
