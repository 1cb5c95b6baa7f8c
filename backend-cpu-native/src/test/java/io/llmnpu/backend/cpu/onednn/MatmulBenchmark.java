package io.llmnpu.backend.cpu.onednn;

import io.llmnpu.api.backend.Backend;
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
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Map;
import java.util.Random;
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
 * The prefill products of a TinyLlama-shape model, {@code out[256, N] = x[256, K] · w[N, K]^T}, through
 * each native library the machine offers and through llmnpu's own backends, to choose the native path
 * by measurement. {@code gops} is the rate (a multiply-add counts as two):
 * <ul>
 *   <li>{@code onednn-s8}: oneDNN matmul, int8 x int8 -> INT32 (VNNI), weights packed ahead;</li>
 *   <li>{@code onednn-bf16}: oneDNN matmul, BF16 x BF16 -> F32 (AVX512_BF16), weights packed ahead;</li>
 *   <li>{@code onednn-f32}: oneDNN matmul in F32;</li>
 *   <li>{@code openblas-sgemm}: OpenBLAS {@code cblas_sgemm} on row-major F32 (Debian's 0.3.21 exports no
 *       {@code cblas_sbgemm}, so it has no BF16 product to measure);</li>
 *   <li>{@code cpu-q8}: the Vector API backend's Linear over Q8_0 weights (tiled F32 GEMM);</li>
 *   <li>{@code cpu-native-q8}: the native backend's Linear over Q8_0 weights, all of it: the Java passes
 *       that quantize activations and scale the sums back, around the oneDNN int8 matmul.</li>
 * </ul>
 * The library rows time the product alone, with operands already in the library's types.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Xmx4g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class MatmulBenchmark {

    static final int TOKENS = 256;

    /** K x N of TinyLlama-1.1B's products: q/o, k/v, gate/up, down. */
    @Param({"2048x2048", "2048x256", "2048x5632", "5632x2048"})
    public String shape;

    @Param({"onednn-s8", "onednn-bf16", "onednn-f32", "openblas-sgemm", "cpu-q8", "cpu-native-q8"})
    public String engine;

    @Param({"2"})
    public int threads;

    private Arena arena;
    private Runnable product;
    private AutoCloseable resources;
    private double gopsPerProduct;

    @Setup(Level.Trial)
    public void setUp() throws Throwable {
        int k = Integer.parseInt(shape.split("x")[0]);
        int n = Integer.parseInt(shape.split("x")[1]);
        gopsPerProduct = 2.0 * TOKENS * k * n / 1e9;
        arena = Arena.ofShared();
        switch (engine) {
            case "onednn-s8" -> oneDnn(k, n, OneDnn.S8, OneDnn.S8, OneDnn.S32, 1);
            case "onednn-bf16" -> oneDnn(k, n, OneDnn.BF16, OneDnn.BF16, OneDnn.F32, 2);
            case "onednn-f32" -> oneDnn(k, n, OneDnn.F32, OneDnn.F32, OneDnn.F32, 4);
            case "openblas-sgemm" -> openBlas(k, n);
            case "cpu-q8" -> backendLinear(new CpuBackend(new BackendOptions(threads)), k, n);
            case "cpu-native-q8" -> backendLinear(new NativeCpuBackendProvider().create(new BackendOptions(threads)), k, n);
            default -> throw new IllegalArgumentException("unknown engine " + engine);
        }
    }

    private void oneDnn(int k, int n, int srcType, int weightsType, int dstType, int elementBytes) {
        OneDnn.Result opened = OneDnn.open(OneDnn.LIBRARY);
        OneDnn dnn = opened.library().orElseThrow(() -> new IllegalStateException(opened.problem()));
        MemorySegment engineHandle = dnn.createCpuEngine();
        OneDnnMatmul matmul = new OneDnnMatmul(dnn, engineHandle, threads, TOKENS, k, n, srcType, weightsType, dstType);
        // Small random bit patterns: valid values in every type (BF16/F32 bits with a bounded exponent).
        MemorySegment src = randomBits(arena, (long) TOKENS * k * elementBytes, elementBytes);
        MemorySegment plain = randomBits(arena, (long) n * k * elementBytes, elementBytes);
        PackedWeights packed = PackedWeights.pack(dnn, engineHandle, threads, plain, weightsType, n, k,
                matmul.weightsMd(), new float[n], new int[n]);
        MemorySegment dst = arena.allocate((long) TOKENS * n * 4, 64);
        matmul.bind(src, packed.data(), dst);
        product = matmul::run;
        resources = () -> {
            matmul.close();
            packed.free();
            dnn.destroyEngine(engineHandle);
        };
    }

    private void openBlas(int k, int n) throws Throwable {
        Linker linker = Linker.nativeLinker();
        SymbolLookup blas = SymbolLookup.libraryLookup("libopenblas.so.0", arena);
        MethodHandle setThreads = linker.downcallHandle(blas.find("openblas_set_num_threads").orElseThrow(),
                FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT));
        setThreads.invokeExact(threads);
        MethodHandle sgemm = linker.downcallHandle(blas.find("cblas_sgemm").orElseThrow(), FunctionDescriptor.ofVoid(
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS,
                ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_FLOAT,
                ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        MemorySegment a = randomBits(arena, (long) TOKENS * k * 4, 4);
        MemorySegment b = randomBits(arena, (long) n * k * 4, 4);
        MemorySegment c = arena.allocate((long) TOKENS * n * 4, 64);
        int rowMajor = 101;
        int noTrans = 111;
        int trans = 112;
        product = () -> {
            try {
                sgemm.invokeExact(rowMajor, noTrans, trans, TOKENS, n, k, 1f, a, k, b, k, 0f, c, n);
            } catch (Throwable e) {
                throw new IllegalStateException(e);
            }
        };
        resources = () -> { };
    }

    private void backendLinear(Backend backend, int k, int n) {
        Random random = new Random(1);
        float[] values = new float[n * k];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (random.nextGaussian() * 0.02);
        }
        Tensor weight = BlockWeights.encode(arena, DType.Q8_0, values, n, k);
        SubgraphBuilder b = new SubgraphBuilder("linear-bench");
        Value in = b.input("x", DType.F32, Shape.of(TOKENS, k));
        Value out = b.add(new Op.Linear(in, weight, b.value("y", DType.F32, Shape.of(TOKENS, n)))).out();
        b.output(out);
        CompiledGraph graph = backend.devices().getFirst().compile(b.build());
        Tensor x = Tensor.allocate(arena, "x", DType.F32, in.shape());
        for (long i = 0; i < in.shape().elements(); i++) {
            x.data().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) random.nextGaussian());
        }
        Map<Value, Tensor> bindings = Map.of(in, x, out, Tensor.allocate(arena, "y", DType.F32, out.shape()));
        product = () -> graph.execute(bindings);
        resources = () -> {
            graph.close();
            backend.close();
        };
    }

    /** Bytes whose elements of {@code elementBytes} are small finite numbers in every type used here. */
    private static MemorySegment randomBits(Arena arena, long bytes, int elementBytes) {
        MemorySegment s = arena.allocate(bytes, 64);
        Random random = new Random(bytes);
        for (long i = 0; i < bytes / elementBytes; i++) {
            switch (elementBytes) {
                case 1 -> s.set(ValueLayout.JAVA_BYTE, i, (byte) (random.nextInt(255) - 127));
                case 2 -> s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i,
                        (short) (Float.floatToRawIntBits((float) random.nextGaussian()) >>> 16));
                default -> s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) random.nextGaussian());
            }
        }
        return s;
    }

    @Benchmark
    public void product(GigaOps ops) {
        product.run();
        ops.gops += gopsPerProduct;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        resources.close();
        arena.close();
    }
}
