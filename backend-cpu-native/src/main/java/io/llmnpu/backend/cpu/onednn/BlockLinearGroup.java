package io.llmnpu.backend.cpu.onednn;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.backend.cpu.MappedPages;
import io.llmnpu.backend.cpu.MatrixProduct;
import io.llmnpu.backend.cpu.ParallelLoop;
import io.llmnpu.backend.cpu.WeightElements;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The {@link Op.Linear}s of a graph that read the same activations (a layer's q, k and v; its gate and
 * up), over block-quantized weights (Q8_0, Q4_0, the K-quants, ...), as one int8 product on the CPU's dot-product units:
 * the activations become int8 codes with a scale per token row once ({@link TokenQuantizer}), the
 * weights of all the ops are stacked into one matrix of int8 codes with a scale per output row
 * ({@link RowRequantizer}, packed once), and one oneDNN matmul sums the code products exactly in INT32
 * (sources shifted by 128, see {@link OneDnnContext#int8Matmul}). Each op's product then scales its own
 * columns back: {@code out[t][r] = acc[t][r] * rowScale[r] * tokenScale[t]}, plus the outlier
 * channels' exact float contribution {@code x[t][c] * w[r][c]}. One matmul over the stacked weights
 * also keeps oneDNN efficient where an op alone is narrow (k and v have 256 outputs in TinyLlama).
 */
final class BlockLinearGroup {

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
    private final List<Tensor> weights;
    private final int[] offsets;
    private final int tokens;
    private final int k;
    private final int n;
    private final StackedMatmul stacked;
    private final MemorySegment sums;
    private final float[] rowScales;
    /** 128 times each weight row's sum of codes: what the shifted sources add to its sums. */
    private final int[] shiftSums;
    private final TokenQuantizer quantizer;
    private final Map<Integer, float[]> columns = new HashMap<>();
    private float[][] outlierColumns = new float[0][];

    /** @param ops Linears over block-quantized weights with the same input value, in graph order */
    private BlockLinearGroup(OneDnnContext context, List<Op.Linear> ops, int maxOutliers, ParallelLoop loop,
                             ProductScratch scratch, int group) {
        this.context = context;
        this.weights = ops.stream().map(Op.Linear::weight).toList();
        this.tokens = ops.getFirst().in().shape().dim(0);
        this.k = ops.getFirst().in().shape().dim(1);
        this.offsets = StackedMatmul.offsets(weights.stream().mapToInt(w -> w.shape().dim(0)).toArray());
        this.n = offsets[ops.size()];
        List<WeightStore.Part> parts = weights.stream()
                .map(w -> new WeightStore.Part(w.data(), w.data().byteSize())).toList();
        this.stacked = new StackedMatmul(context, tokens, k, offsets, new WeightStore.Key(parts, "per-row int8", n, k),
                md -> pack(md, loop), scratch, group);
        this.sums = stacked.sums();
        this.rowScales = stacked.rowScales();
        this.shiftSums = stacked.shiftSums();
        this.quantizer = new TokenQuantizer(tokens, k, maxOutliers);
    }

    /**
     * The products of {@code ops}, which read the same input value, in their (graph) order: the first
     * computes the shared matmul on each execution, each writes its own columns.
     */
    static List<MatrixProduct> products(OneDnnContext context, List<Op.Linear> ops, int maxOutliers, ParallelLoop loop,
                                        ProductScratch scratch, int index) {
        BlockLinearGroup group = new BlockLinearGroup(context, ops, maxOutliers, loop, scratch, index);
        return group.stacked.products(new StackedMatmul.Stages() {
            @Override
            public void compute(MemorySegment in, ParallelLoop l) {
                group.compute(in, l);
            }

            @Override
            public void write(int index, int from, int to, MemorySegment out, ParallelLoop l) {
                group.write(from, to, out, l);
            }
        });
    }

    private PackedWeights pack(MemorySegment md, ParallelLoop loop) {
        try (Arena staging = Arena.ofShared()) {
            MemorySegment rowMajor = staging.allocate((long) n * k, 64);
            float[] scales = new float[n];
            int[] codeSums = new int[n];
            for (int i = 0; i < weights.size(); i++) {
                RowRequantizer.Rows rows = RowRequantizer.requantize(weights.get(i),
                        rowMajor.asSlice((long) offsets[i] * k), loop);
                System.arraycopy(rows.scales(), 0, scales, offsets[i], rows.scales().length);
                System.arraycopy(rows.codeSums(), 0, codeSums, offsets[i], rows.codeSums().length);
                // The packed codes serve every prompt from now on (decode has its own rearranged copy).
                MappedPages.release(weights.get(i).data());
            }
            return PackedWeights.pack(context.dnn(), context.engine(), context.threads(), rowMajor, n, k, md,
                    scales, codeSums);
        }
    }

    /** Quantizes the activations and runs the matmul: the shared part of an execution. */
    private void compute(MemorySegment in, ParallelLoop loop) {
        quantizer.quantize(in, stacked.codes(), loop);
        stacked.run();
        outlierColumns = outlierColumns();
    }

    /** Output columns [from, to) of the stacked weights, scaled back, as [T, to - from] into {@code out}. */
    private void write(int from, int to, MemorySegment out, ParallelLoop loop) {
        float[][] outliers = outlierColumns;
        loop.forRange(tokens, Math.max(1, (1 << 14) / (to - from)), (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                writeRow(t, from, to, out, outliers);
            }
        });
    }

    /**
     * The weight column of every outlier channel of this execution, decoded to F32 over the stacked rows.
     * A column not cached yet is read from the original weights, which touches every page of them: those
     * pages are released again afterwards, so that a new outlier channel costs page faults, not residency.
     */
    private float[][] outlierColumns() {
        int[] channels = quantizer.outliers();
        float[][] result = new float[channels.length][];
        boolean read = false;
        for (int o = 0; o < channels.length; o++) {
            int c = channels[o];
            float[] column = columns.get(c);
            if (column == null) {
                column = new float[n];
                read = true;
                for (int i = 0; i < weights.size(); i++) {
                    Tensor w = weights.get(i);
                    WeightElements.column(w.dtype(), w.data(), c, k, offsets[i + 1] - offsets[i], column, offsets[i]);
                }
                if (columns.size() < MAX_CACHED_COLUMNS) {
                    columns.put(c, column);
                }
            }
            result[o] = column;
        }
        if (read) {
            weights.forEach(w -> MappedPages.release(w.data()));
        }
        return result;
    }

    private void writeRow(int t, int from, int to, MemorySegment out, float[][] outliers) {
        float tokenScale = quantizer.scale(t);
        long sumRow = (long) t * n * Integer.BYTES;
        long outRow = (long) t * (to - from) * Float.BYTES - (long) from * Float.BYTES;
        int r = from;
        if (VECTORS) {
            for (; r + LANES <= to; r += LANES) {
                FloatVector v = ((FloatVector) IntVector.fromMemorySegment(INTS, sums, sumRow + (long) r * Integer.BYTES, LE)
                        .sub(IntVector.fromArray(INTS, shiftSums, r))
                        .convert(VectorOperators.I2F, 0))
                        .mul(FloatVector.fromArray(FLOATS, rowScales, r)).mul(tokenScale);
                for (int o = 0; o < outliers.length; o++) {
                    v = FloatVector.fromArray(FLOATS, outliers[o], r)
                            .fma(FloatVector.broadcast(FLOATS, quantizer.outlierValue(t, o)), v);
                }
                v.intoMemorySegment(out, outRow + (long) r * Float.BYTES, LE);
            }
        }
        for (; r < to; r++) {
            float v = (sums.get(I32, sumRow + (long) r * Integer.BYTES) - shiftSums[r]) * rowScales[r] * tokenScale;
            for (int o = 0; o < outliers.length; o++) {
                v = Math.fma(outliers[o][r], quantizer.outlierValue(t, o), v);
            }
            out.set(F32, outRow + (long) r * Float.BYTES, v);
        }
    }
}
