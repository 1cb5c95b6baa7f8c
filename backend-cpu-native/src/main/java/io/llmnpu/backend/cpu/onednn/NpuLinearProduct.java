package io.llmnpu.backend.cpu.onednn;

import io.llmnpu.api.graph.FixedPointMultiplier;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.backend.cpu.MatrixProduct;
import io.llmnpu.backend.cpu.ParallelLoop;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A {@link Op.QuantizedLinear}, the INT8 linear layer of the NPU path, on the CPU's int8 dot-product
 * units with the reference NPU's arithmetic bit for bit: per-tensor activation codes
 * {@code clamp(rint(x / inputScale), -127, 127)} ({@link Int8Codes}), exact INT32 sums (oneDNN, with
 * sources shifted by 128 and the shift taken out again, see {@link OneDnnContext#int8Matmul}), then
 * the same output stage as npu-ref: {@code acc * (inputScale * weightScale)} in F32, or with an output
 * scale the fixed-point requantization to INT16 with saturation ({@link FixedPointMultiplier}) and
 * {@code q16 * outputScale}.
 */
final class NpuLinearProduct implements MatrixProduct {

    /**
     * Input features whose INT32 sums cannot overflow: sources shifted to 1..255 times weights within
     * -128..127, so |acc| <= 255 * 128 * cols.
     */
    static final int MAX_COLS = Integer.MAX_VALUE / (255 * 128);

    private static final VectorSpecies<Float> FLOATS = Int8Codes.FLOATS;
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final int LANES = Int8Codes.LANES;
    private static final boolean VECTORS = INTS.length() == LANES;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);

    private final OneDnnContext context;
    private final int tokens;
    private final int k;
    private final int n;
    private final float inputScale;
    private final float outputScale;
    private final float[] dequant;
    private final int[] mantissa;
    private final int[] exponent;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment codes;
    private final MemorySegment sums;
    private final OneDnnMatmul matmul;
    private final PackedWeights packed;
    /** 128 times each weight row's sum of codes: what the shifted sources add to its sums. */
    private final int[] shiftSums;
    private boolean closed;

    NpuLinearProduct(OneDnnContext context, Op.QuantizedLinear op) {
        this.context = context;
        Int8Weights w = op.weights();
        this.tokens = op.in().shape().dim(0);
        this.k = w.cols();
        this.n = w.rows();
        this.inputScale = op.inputScale();
        this.outputScale = op.outputScale();
        // The output stage of npu-ref's weight packer, value for value.
        this.dequant = new float[n];
        this.mantissa = new int[n];
        this.exponent = new int[n];
        for (int r = 0; r < n; r++) {
            dequant[r] = op.inputScale() * w.scale(r);
            if (op.outputScale() > 0) {
                FixedPointMultiplier m = FixedPointMultiplier.of((double) op.inputScale() * w.scale(r) / op.outputScale());
                mantissa[r] = m.mantissa();
                exponent[r] = m.exponent();
            }
        }
        OneDnnMatmul made = null;
        PackedWeights acquired = null;
        try {
            codes = arena.allocate((long) tokens * k, 64);
            sums = arena.allocate((long) tokens * n * Integer.BYTES, 64);
            made = context.int8Matmul(tokens, k, n);
            OneDnnMatmul m = made;
            WeightStore.Key key = new WeightStore.Key(w.data(), w.data().byteSize(), "I8 codes", n, k);
            acquired = context.weights().acquire(key, m.weightsMd(), () -> pack(w, m.weightsMd()));
            made.bind(codes, acquired.data(), sums);
        } catch (RuntimeException | Error e) {
            if (acquired != null) {
                context.weights().release(acquired);
            }
            if (made != null) {
                made.close();
            }
            arena.close();
            throw e;
        }
        this.matmul = made;
        this.packed = acquired;
        this.shiftSums = BlockLinearProduct.shifted(acquired.codeSums());
    }

    /** The codes go to oneDNN as they are; heap or unaligned data is first copied to native memory. */
    private PackedWeights pack(Int8Weights w, MemorySegment md) {
        float[] rowScales = new float[n];
        for (int r = 0; r < n; r++) {
            rowScales[r] = w.scale(r);
        }
        try (Arena staging = Arena.ofConfined()) {
            MemorySegment rowMajor = w.data().asSlice(0, (long) n * k);
            if (!rowMajor.isNative()) {
                MemorySegment copy = staging.allocate((long) n * k, 64);
                copy.copyFrom(rowMajor);
                rowMajor = copy;
            }
            return PackedWeights.pack(context.dnn(), context.engine(), context.threads(), rowMajor, n, k, md, rowScales,
                    RowRequantizer.codeSums(rowMajor, n, k));
        }
    }

    @Override
    public void multiply(MemorySegment in, MemorySegment out, ParallelLoop loop) {
        int grain = Math.max(1, (1 << 15) / Math.max(k, n));
        loop.forRange(tokens, grain, (from, to) -> {
            float[] row = new float[k];
            for (int t = from; t < to; t++) {
                MemorySegment.copy(in, F32, (long) t * k * Float.BYTES, row, 0, k);
                Int8Codes.encodeShifted(row, 0, k, inputScale, codes, (long) t * k);
            }
        });
        matmul.run();
        loop.forRange(tokens, grain, (from, to) -> {
            for (int t = from; t < to; t++) {
                if (outputScale > 0) {
                    requantizeRow(t, out);
                } else {
                    dequantizeRow(t, out);
                }
            }
        });
    }

    /** {@code out = acc * dequant[r]}: an int converted to float times a float, as npu-ref computes it. */
    private void dequantizeRow(int t, MemorySegment out) {
        long sumRow = (long) t * n * Integer.BYTES;
        long outRow = (long) t * n * Float.BYTES;
        int r = 0;
        if (VECTORS) {
            for (; r + LANES <= n; r += LANES) {
                ((FloatVector) IntVector.fromMemorySegment(INTS, sums, sumRow + (long) r * Integer.BYTES, LE)
                        .sub(IntVector.fromArray(INTS, shiftSums, r))
                        .convert(VectorOperators.I2F, 0))
                        .mul(FloatVector.fromArray(FLOATS, dequant, r))
                        .intoMemorySegment(out, outRow + (long) r * Float.BYTES, LE);
            }
        }
        for (; r < n; r++) {
            out.set(F32, outRow + (long) r * Float.BYTES, acc(sumRow, r) * dequant[r]);
        }
    }

    private void requantizeRow(int t, MemorySegment out) {
        long sumRow = (long) t * n * Integer.BYTES;
        long outRow = (long) t * n * Float.BYTES;
        for (int r = 0; r < n; r++) {
            int q16 = FixedPointMultiplier.apply(acc(sumRow, r), mantissa[r], exponent[r],
                    Op.QuantizedLinear.OUTPUT_LIMIT);
            out.set(F32, outRow + (long) r * Float.BYTES, q16 * outputScale);
        }
    }

    /** The exact INT32 sum of signed codes of output {@code r} in the row of sums at {@code sumRow}. */
    private int acc(long sumRow, int r) {
        return sums.get(I32, sumRow + (long) r * Integer.BYTES) - shiftSums[r];
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            matmul.close();
        } finally {
            context.weights().release(packed);
            arena.close();
        }
    }
}
