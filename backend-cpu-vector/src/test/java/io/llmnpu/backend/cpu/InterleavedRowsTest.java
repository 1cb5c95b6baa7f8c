package io.llmnpu.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import jdk.incubator.vector.IntVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** The interleaved layouts: exact rearrangement, products against the reference, shared copies. */
class InterleavedRowsTest {

    private static final int G = InterleavedRows.ROWS;

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0", "F16", "BF16", "F32", "Q4_K", "Q5_K", "Q6_K", "Q4_1", "Q5_0", "Q5_1"})
    void interleavingKeepsEveryValue(DType dtype) {
        assumeTrue(VectorSpecs.QUANTIZED_VECTORS, "no 8- or 16-lane vectors on this CPU");
        Random rnd = new Random(11 + dtype.ordinal());
        int n = 3 * G;
        int k = dtype.blockSize() == 256 ? 512 : 160;
        try (Arena arena = Arena.ofConfined()) {
            EncodedMatrix w = EncodedMatrix.random(arena, dtype, n, k, rnd);
            MemorySegment packed = arena.allocate(w.tensor().byteSize());
            InterleavedRows.interleave(dtype, w.tensor().data(), packed, k, 0, n / G);
            for (int r = 0; r < n; r++) {
                for (int c = 0; c < k; c++) {
                    assertEquals((float) w.values()[r * k + c], InterleavedRows.value(dtype, packed, k, r, c),
                            "row " + r + " column " + c);
                }
            }
            // The GEMM's column-major panel holds the same values.
            float[] panel = new float[k * n];
            for (int g = 0; g < n / G; g++) {
                InterleavedRows.widenGroup(dtype, packed, g, k, 0, k, panel, g * G, n);
            }
            for (int r = 0; r < n; r++) {
                for (int c = 0; c < k; c++) {
                    assertEquals((float) w.values()[r * k + c], panel[c * n + r], "panel row " + r + " column " + c);
                }
            }
        }
    }

    /** Every F16 bit pattern, subnormals, infinities and NaNs included, converts as Float.float16ToFloat does. */
    @Test
    void scaleConversionMatchesFloat16ToFloat() {
        assumeTrue(VectorSpecs.QUANTIZED_VECTORS, "no 8- or 16-lane vectors on this CPU");
        int[] bits = new int[G];
        for (int start = 0; start < 1 << 16; start += G) {
            for (int i = 0; i < G; i++) {
                bits[i] = (short) (start + i); // sign-extended, as the kernels load them
            }
            float[] got = InterleavedRows.f16ToFloats(IntVector.fromArray(VectorSpecs.INTS, bits, 0)).toArray();
            for (int i = 0; i < G; i++) {
                float want = Float.float16ToFloat((short) (start + i));
                assertTrue(Float.isNaN(want) ? Float.isNaN(got[i]) : Float.floatToRawIntBits(want) == Float.floatToRawIntBits(got[i]),
                        "F16 bits " + Integer.toHexString(start + i) + ": " + got[i] + " instead of " + want);
            }
        }
    }

    static Stream<Arguments> products() {
        List<Arguments> cases = new ArrayList<>();
        Random rnd = new Random(4242);
        int[][] shapes = {{G, 32}, {3 * G, 96}, {5 * G, 2048 + 64}, {2 * G, 5632}};
        int[][] superBlockShapes = {{G, 256}, {3 * G, 768}, {2 * G, 5632}};
        int[] tokenCounts = {1, 2, 5, 12, 70};
        for (DType dtype : new DType[] {DType.Q8_0, DType.Q4_0, DType.F16, DType.BF16, DType.F32, DType.Q4_K,
                DType.Q5_K, DType.Q6_K, DType.Q4_1, DType.Q5_0, DType.Q5_1}) {
            for (int[] shape : dtype.blockSize() == 256 ? superBlockShapes : shapes) {
                for (int tokens : tokenCounts) {
                    cases.add(Arguments.of(dtype, tokens, shape[1], shape[0], rnd.nextLong()));
                }
            }
        }
        return cases.stream();
    }

    /** Decode (few rows) and GEMM (many rows) over interleaved weights against the double-precision reference. */
    @ParameterizedTest(name = "{0} T={1} k={2} n={3}")
    @MethodSource("products")
    void linearOverInterleavedWeightsMatchesReference(DType dtype, int tokens, int k, int n, long seed) {
        Random rnd = new Random(seed);
        try (Arena arena = Arena.ofShared(); CpuBackend backend = new CpuBackend(new BackendOptions(2))) {
            EncodedMatrix w = EncodedMatrix.random(arena, dtype, n, k, rnd);
            float[] x = TestData.floats(rnd, tokens * k, 2f);
            try (CompiledGraph g = compile(backend, w.tensor(), tokens, k, n)) {
                if (VectorSpecs.QUANTIZED_VECTORS) {
                    assertEquals(1, backend.weights().size(), "the weight is interleaved");
                }
                float[] out = execute(g, arena, x, tokens, k, n);
                double[] expected = tokens < LinearKernel.GEMM_MIN_ROWS
                        ? decodeReference(dtype, w.tensor().data(), w.values(), n, k, x, tokens)
                        : Reference.linear(w.values(), n, k, x, tokens);
                TestData.assertClose(expected, out, 1e-4, dtype + " interleaved T=" + tokens + " k=" + k + " n=" + n);
            }
        }
    }

    /** Types whose decode kernels take the token row rounded to int8 (in part, for the 32-value blocks). */
    private static final java.util.Set<DType> ROUNDED = java.util.EnumSet.of(DType.Q4_K, DType.Q6_K, DType.Q4_0,
            DType.Q4_1, DType.Q5_0, DType.Q5_1);

    /**
     * What the decode kernels compute, in double precision: Q4_K and Q6_K take the whole value against the
     * rounded row ({@link #decodeInput}); Q4_0, Q4_1, Q5_0 and Q5_1 take d times the 4-bit nibble (read
     * unsigned from the file's block) against the rounded row and the rest of the value (fifth bit,
     * offset, min) against the float row; the other types take the float row.
     */
    private static double[] decodeReference(DType dtype, MemorySegment file, double[] values, int n, int k, float[] x,
                                            int tokens) {
        if (!VectorSpecs.QUANTIZED_VECTORS || !ROUNDED.contains(dtype)) {
            return Reference.linear(values, n, k, x, tokens);
        }
        float[] rounded = decodeInput(dtype, x, k);
        if (dtype == DType.Q4_K || dtype == DType.Q6_K) {
            return Reference.linear(values, n, k, rounded, tokens);
        }
        int quantsAt = switch (dtype) {
            case Q4_0 -> 2;
            case Q4_1 -> 4;
            case Q5_0 -> 6;
            default -> 8;
        };
        double[] nibble = new double[n * k];
        double[] rest = new double[n * k];
        for (int i = 0; i < n * k; i++) {
            long block = (long) (i / 32) * dtype.blockBytes();
            int j = i % 32;
            double d = Float.float16ToFloat(file.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, block));
            int qs = file.get(java.lang.foreign.ValueLayout.JAVA_BYTE, block + quantsAt + j % 16) & 0xFF;
            nibble[i] = d * (j < 16 ? qs & 0xF : qs >> 4);
            rest[i] = values[i] - nibble[i];
        }
        double[] a = Reference.linear(nibble, n, k, rounded, tokens);
        double[] b = Reference.linear(rest, n, k, x, tokens);
        for (int i = 0; i < a.length; i++) {
            a[i] += b[i];
        }
        return a;
    }

    /**
     * The token rows as the integer decode kernels see them: each 32-value block as int8 levels of its
     * largest magnitude over 127 (rounded to nearest, ties to even).
     */
    private static float[] decodeInput(DType dtype, float[] x, int k) {
        float[] seen = new float[x.length];
        for (int b = 0; b < x.length / 32; b++) {
            float max = 0;
            for (int c = 32 * b; c < 32 * b + 32; c++) {
                max = Math.max(max, Math.abs(x[c]));
            }
            float d = max / 127;
            float inverse = d == 0 ? 0 : 1 / d;
            for (int c = 32 * b; c < 32 * b + 32; c++) {
                // Scaled by the inverse and rounded half to even, as the kernels do.
                seen[c] = (float) Math.clamp(Math.rint(x[c] * inverse), -127, 127) * d;
            }
        }
        return seen;
    }

    /**
     * The integer kernels sum products in 16 bits: at the extremes (every Q4_K/Q4_0/Q5_0 nibble 15, every
     * Q6_K value -32 or 31, every activation at +-127 levels, largest scales) the sums are still exact.
     */
    @ParameterizedTest(name = "{0} byte {1} x {2}")
    @MethodSource("extremes")
    void integerDecodeSumsAreExactAtTheirExtremes(DType dtype, int fill, float activation) {
        assumeTrue(VectorSpecs.QUANTIZED_VECTORS, "no 8- or 16-lane vectors on this CPU");
        int n = G;
        int k = 512;
        try (Arena arena = Arena.ofShared(); CpuBackend backend = new CpuBackend(new BackendOptions(2))) {
            int blockBytes = dtype.blockBytes();
            MemorySegment data = arena.allocate((long) n * k / dtype.blockSize() * blockBytes);
            data.fill((byte) fill);
            double[] values = new double[n * k];
            float[] decoded = new float[256];
            for (int blk = 0; blk < n * k / 256; blk++) {
                // 256 values: one k-quant block, or eight 32-value blocks.
                MemorySegment block = data.asSlice((long) blk * 256 / dtype.blockSize() * blockBytes,
                        256 / dtype.blockSize() * blockBytes);
                if (dtype == DType.Q4_K) {
                    block.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 0, Float.floatToFloat16(0.5f));
                    block.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 2, Float.floatToFloat16(0.25f));
                    block.asSlice(4, 12).fill((byte) 0xFF);
                } else if (dtype != DType.Q6_K) {
                    for (int at = 0; at < 256 / 32 * dtype.blockBytes(); at += dtype.blockBytes()) {
                        block.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, at, Float.floatToFloat16(0.5f));
                    }
                } else {
                    block.asSlice(192, 16).fill((byte) 127);
                    block.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 208, Float.floatToFloat16(0.5f));
                }
                for (int sub = 0; sub < 256 / dtype.blockSize(); sub++) {
                    io.llmnpu.api.tensor.Dequantizer.decodeBlock(dtype, block, (long) sub * blockBytes, decoded,
                            sub * dtype.blockSize());
                }
                for (int i = 0; i < 256; i++) {
                    values[blk * 256 + i] = decoded[i];
                }
            }
            Tensor weight = new Tensor("w", dtype, Shape.of(n, k), data);
            float[] x = new float[k];
            java.util.Arrays.fill(x, activation);
            try (CompiledGraph g = compile(backend, weight, 1, k, n)) {
                float[] out = execute(g, arena, x, 1, k, n);
                TestData.assertClose(decodeReference(dtype, data, values, n, k, x, 1), out, 1e-5,
                        dtype + " filled with " + fill + ", x = " + activation);
            }
        }
    }

    static Stream<Arguments> extremes() {
        List<Arguments> cases = new ArrayList<>();
        for (DType dtype : new DType[] {DType.Q4_K, DType.Q6_K, DType.Q4_0, DType.Q5_0}) {
            for (int fill : new int[] {0x00, 0xFF}) {
                for (float activation : new float[] {1f, -1f}) {
                    cases.add(Arguments.of(dtype, fill, activation));
                }
            }
        }
        return cases.stream();
    }

    /** Each output is computed by one thread in a fixed order: the thread count changes no bit. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0", "F16", "BF16", "F32", "Q4_K", "Q5_K", "Q6_K", "Q4_1", "Q5_0", "Q5_1"})
    void resultsDoNotDependOnTheThreadCount(DType dtype) {
        Random rnd = new Random(99);
        int n = 7 * G;
        int k = 1024;
        try (Arena arena = Arena.ofShared()) {
            EncodedMatrix w = EncodedMatrix.random(arena, dtype, n, k, rnd);
            for (int tokens : new int[] {1, 3, 40}) {
                float[] x = TestData.floats(rnd, tokens * k, 1f);
                float[] one;
                float[] three;
                try (CpuBackend b1 = new CpuBackend(new BackendOptions(1))) {
                    one = run(b1, arena, w.tensor(), x, tokens, k, n);
                }
                try (CpuBackend b3 = new CpuBackend(new BackendOptions(3))) {
                    three = run(b3, arena, w.tensor(), x, tokens, k, n);
                }
                assertArrayEquals(one, three, dtype + " T=" + tokens);
            }
        }
    }

    /**
     * The F16 fast conversion has no infinities or NaNs: a tensor holding one keeps its file layout and
     * its exact kernels, and the row with the infinity comes out infinite as in the reference.
     */
    @Test
    void f16InfinityKeepsTheFileLayout() {
        Random rnd = new Random(8);
        int n = 2 * G;
        int k = 64;
        try (Arena arena = Arena.ofShared(); CpuBackend backend = new CpuBackend(new BackendOptions(2))) {
            EncodedMatrix w = EncodedMatrix.random(arena, DType.F16, n, k, rnd);
            w.tensor().data().set(VectorSpecs.I16, (3L * k + 5) * Short.BYTES, (short) 0x7C00);
            w.values()[3 * k + 5] = Double.POSITIVE_INFINITY;
            float[] x = TestData.floats(rnd, k, 1f);
            x[5] = 0.5f;
            try (CompiledGraph g = compile(backend, w.tensor(), 1, k, n)) {
                assertEquals(0, backend.weights().size(), "not interleaved");
                float[] out = execute(g, arena, x, 1, k, n);
                double[] expected = Reference.linear(w.values(), n, k, x, 1);
                for (int r = 0; r < n; r++) {
                    if (r == 3) {
                        assertEquals(Float.POSITIVE_INFINITY, out[r]);
                    } else {
                        assertEquals(expected[r], out[r], 1e-4 * Math.max(1, Math.abs(expected[r])), "row " + r);
                    }
                }
            }
        }
    }

    /** A block scale (d) that is infinite keeps the tensor in the file layout too (its row is infinite). */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K", "Q4_1", "Q5_0", "Q5_1"})
    void infiniteBlockScaleKeepsTheFileLayout(DType dtype) {
        Random rnd = new Random(9);
        int n = 2 * G;
        int k = dtype.blockSize() == 256 ? 512 : 64;
        try (Arena arena = Arena.ofShared(); CpuBackend backend = new CpuBackend(new BackendOptions(2))) {
            EncodedMatrix w = EncodedMatrix.random(arena, dtype, n, k, rnd);
            long block = (5L * k / dtype.blockSize() + 1) * dtype.blockBytes() // row 5, second block
                    + (dtype == DType.Q6_K ? 208 : 0);
            w.tensor().data().set(VectorSpecs.I16, block, (short) 0x7C00);
            float[] x = TestData.floats(rnd, k, 1f);
            try (CompiledGraph g = compile(backend, w.tensor(), 1, k, n)) {
                assertEquals(0, backend.weights().size(), "not interleaved");
                float[] out = execute(g, arena, x, 1, k, n);
                assertTrue(Float.isInfinite(out[5]) || Float.isNaN(out[5]), "row 5: " + out[5]);
                assertTrue(Float.isFinite(out[4]) && Float.isFinite(out[6]));
            }
        }
    }

    /** Graphs that use the same weight share one copy; it is freed when the last of them closes. */
    @Test
    void graphsShareOneCopyThatIsFreedWithTheLastGraph(@TempDir Path dir) throws IOException {
        assumeTrue(VectorSpecs.QUANTIZED_VECTORS, "no 8- or 16-lane vectors on this CPU");
        int n = 4 * G;
        int k = 256;
        Path file = dir.resolve("w.bin");
        try (Arena arena = Arena.ofShared(); CpuBackend backend = new CpuBackend(new BackendOptions(2))) {
            EncodedMatrix w = EncodedMatrix.random(arena, DType.Q8_0, n, k, new Random(5));
            Files.write(file, w.tensor().data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            MemorySegment mapped;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            }
            Tensor weight = new Tensor("w", DType.Q8_0, Shape.of(n, k), mapped);
            CompiledGraph decode = compile(backend, weight, 1, k, n);
            CompiledGraph prefill = compile(backend, weight, 32, k, n);
            assertEquals(1, backend.weights().size());
            assertEquals(weight.byteSize(), backend.weights().bytes());
            // The mapped original was released after copying, and still reads back (faulted in again).
            float[] x = TestData.floats(new Random(6), 32 * k, 1f);
            float[] viaDecode = execute(decode, arena, x, 1, k, n);
            float[] viaPrefill = execute(prefill, arena, x, 32, k, n);
            TestData.assertClose(Reference.linear(w.values(), n, k, x, 1), viaDecode, 1e-4, "decode");
            TestData.assertClose(Reference.linear(w.values(), n, k, x, 32), viaPrefill, 1e-4, "prefill");
            assertEquals(w.tensor().data().mismatch(mapped), -1L, "the original is unchanged");
            decode.close();
            assertEquals(1, backend.weights().size(), "still held by the prefill graph");
            prefill.close();
            assertEquals(0, backend.weights().size(), "freed with the last graph");
        }
    }

    private static CompiledGraph compile(CpuBackend backend, Tensor weight, int tokens, int k, int n) {
        SubgraphBuilder b = new SubgraphBuilder("linear");
        Value in = b.input("x", DType.F32, Shape.of(tokens, k));
        Value out = b.value("y", DType.F32, Shape.of(tokens, n));
        b.add(new Op.Linear(in, weight, out));
        b.output(out);
        return backend.devices().getFirst().compile(b.build());
    }

    private static float[] execute(CompiledGraph g, Arena arena, float[] x, int tokens, int k, int n) {
        Value in = g.graph().inputs().getFirst();
        Value out = g.graph().outputs().getFirst();
        Tensor xt = TestData.f32(arena, "x", in.shape(), java.util.Arrays.copyOf(x, tokens * k));
        Tensor yt = Tensor.allocate(arena, "y", DType.F32, out.shape());
        g.execute(Map.of(in, xt, out, yt));
        return TestData.read(yt);
    }

    private static float[] run(CpuBackend backend, Arena arena, Tensor weight, float[] x, int tokens, int k, int n) {
        try (CompiledGraph g = compile(backend, weight, tokens, k, n)) {
            return execute(g, arena, x, tokens, k, n);
        }
    }
}
