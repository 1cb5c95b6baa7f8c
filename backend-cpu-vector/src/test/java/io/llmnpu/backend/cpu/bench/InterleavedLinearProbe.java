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
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Linear products of several weight types measured round-robin in one JVM, timed by the CPU time of
 * the calling thread (a one-thread backend runs its loops on the caller) as well as by the wall clock.
 * On a machine shared with other work the wall-clock rate of back-to-back JMH runs moves by 2x between
 * types; interleaved rounds and thread CPU time give ratios between types that hold.
 *
 * <pre>java ... InterleavedLinearProbe T K N ROUNDS TYPE...</pre>
 * e.g. {@code 256 2048 2048 7 Q8_0 Q4_K Q5_K Q6_K} (prefill) or {@code 1 2048 2048 7 ...} (decode).
 */
public final class InterleavedLinearProbe {

    private InterleavedLinearProbe() {
    }

    public static void main(String[] args) {
        int t = Integer.parseInt(args[0]);
        int k = Integer.parseInt(args[1]);
        int n = Integer.parseInt(args[2]);
        int rounds = Integer.parseInt(args[3]);
        List<DType> types = Arrays.stream(args, 4, args.length).map(DType::valueOf).toList();
        double gflop = 2.0 * t * k * n / 1e9;
        var threadTimes = ManagementFactory.getThreadMXBean();
        try (Arena arena = Arena.ofShared(); CpuBackend backend = new CpuBackend(new BackendOptions(1))) {
            List<CompiledGraph> graphs = new ArrayList<>();
            List<Map<Value, Tensor>> bindings = new ArrayList<>();
            for (DType type : types) {
                Tensor weight = RandomWeights.matrix(arena, type, n, k, 1);
                SubgraphBuilder b = new SubgraphBuilder("probe-" + type);
                Value in = b.input("x", DType.F32, Shape.of(t, k));
                Value out = b.add(new Op.Linear(in, weight, b.value("y", DType.F32, Shape.of(t, n)))).out();
                b.output(out);
                graphs.add(backend.devices().getFirst().compile(b.build()));
                bindings.add(Map.of(in, RandomWeights.activations(arena, t, k, 2),
                        out, Tensor.allocate(arena, "y", DType.F32, out.shape())));
            }
            // each round runs every type for about the same work: 2 GFLOP (decode: 0.4 GFLOP, over 20 MB of weights)
            int reps = (int) Math.max(1, Math.ceil((t == 1 ? 0.4 : 2.0) / gflop));
            double[][] cpu = new double[types.size()][rounds];
            double[][] wall = new double[types.size()][rounds];
            for (int round = -2; round < rounds; round++) { // two warm-up rounds
                for (int i = 0; i < types.size(); i++) {
                    long c0 = threadTimes.getCurrentThreadCpuTime();
                    long w0 = System.nanoTime();
                    for (int r = 0; r < reps; r++) {
                        graphs.get(i).execute(bindings.get(i));
                    }
                    if (round >= 0) {
                        cpu[i][round] = reps * gflop / ((threadTimes.getCurrentThreadCpuTime() - c0) / 1e9);
                        wall[i][round] = reps * gflop / ((System.nanoTime() - w0) / 1e9);
                    }
                }
            }
            System.out.printf(Locale.ROOT, "T x K x N = %d x %d x %d, 1 thread, %d rounds: GFLOP/s per CPU-second "
                    + "(median, best) and per wall-second (median)%n", t, k, n, rounds);
            double base = median(cpu[0]);
            for (int i = 0; i < types.size(); i++) {
                System.out.printf(Locale.ROOT, "%-6s cpu %7.2f (best %7.2f)  wall %7.2f  vs %s %.2f%n", types.get(i),
                        median(cpu[i]), Arrays.stream(cpu[i]).max().orElse(0), median(wall[i]), types.getFirst(),
                        median(cpu[i]) / base);
            }
            graphs.forEach(CompiledGraph::close);
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
