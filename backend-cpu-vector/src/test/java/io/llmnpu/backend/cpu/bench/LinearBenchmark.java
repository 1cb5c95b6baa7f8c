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
 * Prefill GEMM through the public backend API: one compiled Linear graph, out [T, N] = x [T, K] times
 * weight [N, K] transposed, on the backend's worker pool. Besides the time per product it reports
 * {@code gflop} (2*T*K*N per product) as a rate: the figure to compare with the FMA peak.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class LinearBenchmark {

    /** T x K x N: prompt rows, input features, output features. */
    @Param({"256x2048x2048", "256x2048x5632"})
    public String shape;

    @Param({"F32", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    public DType dtype;

    @Param({"1", "2"})
    public int threads;


    private Arena arena;
    private CpuBackend backend;
    private CompiledGraph graph;
    private Map<Value, Tensor> bindings;
    private double gflopPerProduct;

    @Setup(Level.Trial)
    public void setUp() {
        String[] dims = shape.split("x");
        int t = Integer.parseInt(dims[0]);
        int k = Integer.parseInt(dims[1]);
        int n = Integer.parseInt(dims[2]);
        gflopPerProduct = 2.0 * t * k * n / 1e9;
        arena = Arena.ofShared();
        backend = new CpuBackend(new BackendOptions(threads));
        Tensor weight = RandomWeights.matrix(arena, dtype, n, k, 1);
        SubgraphBuilder b = new SubgraphBuilder("linear-bench");
        Value in = b.input("x", DType.F32, Shape.of(t, k));
        Value out = b.add(new Op.Linear(in, weight, b.value("y", DType.F32, Shape.of(t, n)))).out();
        b.output(out);
        graph = backend.devices().getFirst().compile(b.build());
        bindings = Map.of(in, RandomWeights.activations(arena, t, k, 2),
                out, Tensor.allocate(arena, "y", DType.F32, out.shape()));
    }

    @Benchmark
    public void linear(FlopCounter counter) {
        graph.execute(bindings);
        counter.gflop += gflopPerProduct;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        graph.close();
        backend.close();
        arena.close();
    }
}
