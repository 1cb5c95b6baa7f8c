package io.llmnpu.backend.cpu.onednn;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.backend.cpu.MatrixProduct;
import io.llmnpu.backend.cpu.ParallelLoop;
import io.llmnpu.backend.cpu.WeightElements;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A {@link Op.Linear} over block-quantized weights (Q8_0, Q4_0) for many token rows, on the CPU's int8
 * dot-product units: activations become int8 codes with a scale per token row ({@link TokenQuantizer}),
 * weights int8 codes with a scale per output row ({@link RowRequantizer}, packed once), oneDNN sums
 * code products exactly in INT32 (sources shifted by 128, see {@link OneDnnContext#int8Matmul}), and
 * each sum is scaled back: {@code out[t][r] = acc[t][r] * rowScale[r] * tokenScale[t]}, plus the
 * outlier channels' exact float contribution {@code x[t][c] * w[r][c]}.
 */
final class BlockLinearProduct implements MatrixProduct {

    /** Weight columns of outlier channels kept decoded between executions (hot channels recur). */
    private static final int MAX_CACHED_COLUMNS = 256;

    private static final VectorSpecies<Float> FLOATS = Int8Codes.FLOATS;
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final int LANES = Int8Codes.LANES;
    private static final boolean VECTORS = INTS.length() == LANES;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);

    private final OneDnnContext context;
    private final Tensor weight;
    private final int tokens;
    private final int k;
    private final int n;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment codes;
    private final MemorySegment sums;
    private final OneDnnMatmul matmul;
    private final PackedWeights packed;
    private final float[] rowScales;
    /** 128 times each weight row's sum of codes: what the shifted sources add to its sums. */
    private final int[] shiftSums;
    private final TokenQuantizer quantizer;
    private final Map<Integer, float[]> columns = new HashMap<>();
    private boolean closed;

    BlockLinearProduct(OneDnnContext context, Op.Linear op, int maxOutliers, ParallelLoop loop) {
        this.context = context;
        this.weight = op.weight();
        this.tokens = op.in().shape().dim(0);
        this.k = weight.shape().dim(1);
        this.n = weight.shape().dim(0);
        OneDnnMatmul made = null;
        PackedWeights acquired = null;
        try {
            codes = arena.allocate((long) tokens * k, 64);
            sums = arena.allocate((long) tokens * n * Integer.BYTES, 64);
            made = context.int8Matmul(tokens, k, n);
            OneDnnMatmul m = made;
            WeightStore.Key key = new WeightStore.Key(weight.data(), weight.data().byteSize(),
                    weight.dtype() + " per-row int8", n, k);
            acquired = context.weights().acquire(key, m.weightsMd(), () -> pack(m.weightsMd(), loop));
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
        this.rowScales = acquired.rowScales();
        this.shiftSums = shifted(acquired.codeSums());
        this.quantizer = new TokenQuantizer(tokens, k, maxOutliers);
    }

    private PackedWeights pack(MemorySegment md, ParallelLoop loop) {
        try (Arena staging = Arena.ofShared()) {
            MemorySegment rowMajor = staging.allocate((long) n * k, 64);
            RowRequantizer.Rows rows = RowRequantizer.requantize(weight, rowMajor, loop);
            return PackedWeights.pack(context.dnn(), context.engine(), context.threads(), rowMajor, n, k, md,
                    rows.scales(), rows.codeSums());
        }
    }

    /** 128 times each row's sum of codes: what sources shifted by 128 add to the row's sums. */
    static int[] shifted(int[] codeSums) {
        int[] shift = new int[codeSums.length];
        for (int r = 0; r < shift.length; r++) {
            shift[r] = 128 * codeSums[r];
        }
        return shift;
    }

    @Override
    public void multiply(MemorySegment in, MemorySegment out, ParallelLoop loop) {
        quantizer.quantize(in, codes, loop);
        matmul.run();
        float[][] outlierColumns = outlierColumns();
        loop.forRange(tokens, Math.max(1, (1 << 14) / n), (from, to) -> {
            for (int t = from; t < to; t++) {
                writeRow(t, out, outlierColumns);
            }
        });
    }

    /** The weight column of every outlier channel of this execution, decoded to F32. */
    private float[][] outlierColumns() {
        int[] channels = quantizer.outliers();
        float[][] result = new float[channels.length][];
        for (int o = 0; o < channels.length; o++) {
            int c = channels[o];
            float[] column = columns.get(c);
            if (column == null) {
                column = new float[n];
                for (int r = 0; r < n; r++) {
                    column[r] = WeightElements.get(weight.dtype(), weight.data(), r, c, k);
                }
                if (columns.size() < MAX_CACHED_COLUMNS) {
                    columns.put(c, column);
                }
            }
            result[o] = column;
        }
        return result;
    }

    private void writeRow(int t, MemorySegment out, float[][] outlierColumns) {
        float tokenScale = quantizer.scale(t);
        long sumRow = (long) t * n * Integer.BYTES;
        long outRow = (long) t * n * Float.BYTES;
        int r = 0;
        if (VECTORS) {
            for (; r + LANES <= n; r += LANES) {
                FloatVector v = ((FloatVector) IntVector.fromMemorySegment(INTS, sums, sumRow + (long) r * Integer.BYTES, LE)
                        .sub(IntVector.fromArray(INTS, shiftSums, r))
                        .convert(VectorOperators.I2F, 0))
                        .mul(FloatVector.fromArray(FLOATS, rowScales, r)).mul(tokenScale);
                for (int o = 0; o < outlierColumns.length; o++) {
                    v = FloatVector.fromArray(FLOATS, outlierColumns[o], r)
                            .fma(FloatVector.broadcast(FLOATS, quantizer.outlierValue(t, o)), v);
                }
                v.intoMemorySegment(out, outRow + (long) r * Float.BYTES, LE);
            }
        }
        for (; r < n; r++) {
            float v = (sums.get(I32, sumRow + (long) r * Integer.BYTES) - shiftSums[r]) * rowScales[r] * tokenScale;
            for (int o = 0; o < outlierColumns.length; o++) {
                v = Math.fma(outlierColumns[o][r], quantizer.outlierValue(t, o), v);
            }
            out.set(F32, outRow + (long) r * Float.BYTES, v);
        }
    }

    /** Bytes this product holds besides the shared packed weights. */
    long scratchBytes() {
        return codes.byteSize() + sums.byteSize();
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
