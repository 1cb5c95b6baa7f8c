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
 * Decode: one token row against a weight matrix [N, K], for every weight dtype the decode kernels
 * read. With {@code footprintMiB} above the cache size, successive products cycle through enough copies
 * of the weights that every product streams its weights from DRAM, as decode over a whole model does;
 * {@code gbytes} then reports the weight bytes read per second, to compare with
 * {@link MemoryBandwidthBenchmark}. With a footprint of 0 the one matrix stays in cache and the figure
 * shows the kernel's compute ceiling instead. {@code interleave=false} keeps Q8_0/Q4_0 weights in the
 * file layout and its kernels (the backend's {@code llmnpu.cpu.interleave} switch), to compare the two.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class MatvecBenchmark {

    /** N x K: output features, input features. */
    @Param({"2048x2048", "5632x2048"})
    public String shape;

    @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"})
    public DType dtype;

    @Param({"1", "2"})
    public int threads;

    /** Total weight memory to cycle through; 0 keeps one matrix in cache. */
    @Param({"1024"})
    public int footprintMiB;

    /** Whether quantized weights are interleaved (the backend's default) or read in the file layout. */
    @Param({"true"})
    public boolean interleave;


    private Arena arena;
    private CpuBackend backend;
    private CompiledGraph[] graphs;
    private Map<Value, Tensor>[] bindings;
    private double gbytesPerProduct;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        String[] dims = shape.split("x");
        int n = Integer.parseInt(dims[0]);
        int k = Integer.parseInt(dims[1]);
        long matrixBytes = dtype.byteSize((long) n * k);
        int copies = (int) Math.max(1, ((long) footprintMiB << 20) / matrixBytes);
        gbytesPerProduct = matrixBytes / 1e9;
        arena = Arena.ofShared();
        System.setProperty("llmnpu.cpu.interleave", Boolean.toString(interleave));
        backend = new CpuBackend(new BackendOptions(threads));
        Tensor x = RandomWeights.activations(arena, 1, k, 2);
        Tensor y = Tensor.allocate(arena, "y", DType.F32, Shape.of(1, n));
        graphs = new CompiledGraph[copies];
        bindings = newBindingsArray(copies);
        Tensor first = RandomWeights.matrix(arena, dtype, n, k, 1);
        for (int c = 0; c < copies; c++) {
            Tensor weight = c == 0 ? first : copy(first);
            SubgraphBuilder b = new SubgraphBuilder("matvec-bench");
            Value xin = b.input("x", DType.F32, Shape.of(1, k));
            Value yout = b.add(new Op.Linear(xin, weight, b.value("y", DType.F32, Shape.of(1, n)))).out();
            b.output(yout);
            graphs[c] = backend.devices().getFirst().compile(b.build());
            bindings[c] = Map.of(xin, x, yout, y);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<Value, Tensor>[] newBindingsArray(int n) {
        return (Map<Value, Tensor>[]) new Map<?, ?>[n];
    }

    private Tensor copy(Tensor t) {
        Tensor c = Tensor.allocate(arena, t.name(), t.dtype(), t.shape());
        c.data().copyFrom(t.data());
        return c;
    }

    @Benchmark
    public void matvec(ByteCounter counter) {
        graphs[next].execute(bindings[next]);
        next = next + 1 == graphs.length ? 0 : next + 1;
        counter.gbytes += gbytesPerProduct;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (CompiledGraph g : graphs) {
            g.close();
        }
        backend.close();
        arena.close();
    }
}
