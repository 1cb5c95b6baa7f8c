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
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Op.QuantizedLinear}s, the INT8 layers of the NPU path, that read the same activations with the
 * same input scale, on the CPU's int8 dot-product units with the reference NPU's arithmetic bit for
 * bit: per-tensor activation codes {@code clamp(rint(x / inputScale), -127, 127)} ({@link Int8Codes}),
 * made once for all of them as npu-ref does; exact INT32 sums from one oneDNN matmul over their stacked
 * weights (sources shifted by 128 and the shift taken out again, see {@link OneDnnContext#int8Matmul});
 * then each op's output stage as npu-ref computes it: {@code acc * (inputScale * weightScale)} in F32,
 * or with an output scale the fixed-point requantization to INT16 with saturation
 * ({@link FixedPointMultiplier}) and {@code q16 * outputScale}.
 */
final class NpuLinearGroup {

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
    private final List<Op.QuantizedLinear> ops;
    private final int[] offsets;
    private final int tokens;
    private final int k;
    private final int n;
    private final float inputScale;
    private final float[] dequant;
    private final int[] mantissa;
    private final int[] exponent;
    private final StackedMatmul stacked;
    private final MemorySegment codes;
    private final MemorySegment sums;
    /** 128 times each weight row's sum of codes: what the shifted sources add to its sums. */
    private final int[] shiftSums;

    /** @param ops QuantizedLinears with the same input value and input scale, in graph order */
    private NpuLinearGroup(OneDnnContext context, List<Op.QuantizedLinear> ops, ProductScratch scratch, int group) {
        this.context = context;
        this.ops = List.copyOf(ops);
        this.tokens = ops.getFirst().in().shape().dim(0);
        this.k = ops.getFirst().weights().cols();
        this.inputScale = ops.getFirst().inputScale();
        this.offsets = StackedMatmul.offsets(ops.stream().mapToInt(op -> op.weights().rows()).toArray());
        this.n = offsets[ops.size()];
        // The output stage of npu-ref's weight packer, value for value.
        this.dequant = new float[n];
        this.mantissa = new int[n];
        this.exponent = new int[n];
        for (int i = 0; i < ops.size(); i++) {
            Op.QuantizedLinear op = ops.get(i);
            for (int r = 0; r < op.weights().rows(); r++) {
                int row = offsets[i] + r;
                dequant[row] = op.inputScale() * op.weights().scale(r);
                if (op.outputScale() > 0) {
                    FixedPointMultiplier m = FixedPointMultiplier.of(
                            (double) op.inputScale() * op.weights().scale(r) / op.outputScale());
                    mantissa[row] = m.mantissa();
                    exponent[row] = m.exponent();
                }
            }
        }
        List<WeightStore.Part> parts = ops.stream()
                .map(op -> new WeightStore.Part(op.weights().data(), op.weights().data().byteSize())).toList();
        this.stacked = new StackedMatmul(context, tokens, k, offsets, new WeightStore.Key(parts, "I8 codes", n, k),
                this::pack, scratch, group);
        this.codes = stacked.codes();
        this.sums = stacked.sums();
        this.shiftSums = stacked.shiftSums();
    }

    /**
     * The products of {@code ops}, which read the same input value with the same input scale, in their
     * (graph) order: the first quantizes and multiplies on each execution, each applies its output stage.
     */
    static List<MatrixProduct> products(OneDnnContext context, List<Op.QuantizedLinear> ops, ProductScratch scratch,
                                        int index) {
        NpuLinearGroup group = new NpuLinearGroup(context, ops, scratch, index);
        return group.stacked.products(new StackedMatmul.Stages() {
            @Override
            public void compute(MemorySegment in, ParallelLoop loop) {
                group.compute(in, loop);
            }

            @Override
            public void write(int index, int from, int to, MemorySegment out, ParallelLoop loop) {
                group.write(ops.get(index).outputScale(), from, to, out, loop);
            }
        });
    }

    /** The codes go to oneDNN as they are, stacked; the scales stay in the output stage. */
    private PackedWeights pack(MemorySegment md) {
        try (Arena staging = Arena.ofConfined()) {
            MemorySegment rowMajor = staging.allocate((long) n * k, 64);
            for (int i = 0; i < ops.size(); i++) {
                Int8Weights w = ops.get(i).weights();
                MemorySegment.copy(w.data(), 0, rowMajor, (long) offsets[i] * k, (long) w.rows() * k);
            }
            return PackedWeights.pack(context.dnn(), context.engine(), context.threads(), rowMajor, n, k, md,
                    new float[n], RowRequantizer.codeSums(rowMajor, n, k));
        }
    }

    /** Op output stage over stacked rows [from, to): dequantized, or requantized when it has an output scale. */
    private void write(float outputScale, int from, int to, MemorySegment out, ParallelLoop loop) {
        loop.forRange(tokens, Math.max(1, (1 << 14) / (to - from)), (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                if (outputScale > 0) {
                    requantizeRow(t, from, to, outputScale, out);
                } else {
                    dequantizeRow(t, from, to, out);
                }
            }
        });
    }

    /** The NPU's ingress (per-tensor codes) and the INT32 sums of every op of the group. */
    private void compute(MemorySegment in, ParallelLoop loop) {
        loop.forRange(tokens, Math.max(1, (1 << 15) / k), (from, to) -> {
            float[] row = new float[k];
            for (int t = from; t < to; t++) {
                MemorySegment.copy(in, F32, (long) t * k * Float.BYTES, row, 0, k);
                Int8Codes.encodeShifted(row, 0, k, inputScale, codes, (long) t * k);
            }
        });
        stacked.run();
    }

    /** {@code out = acc * dequant[r]}: an int converted to float times a float, as npu-ref computes it. */
    private void dequantizeRow(int t, int from, int to, MemorySegment out) {
        long sumRow = (long) t * n * Integer.BYTES;
        long outRow = ((long) t * (to - from) - from) * Float.BYTES;
        int r = from;
        if (VECTORS) {
            for (; r + LANES <= to; r += LANES) {
                ((FloatVector) IntVector.fromMemorySegment(INTS, sums, sumRow + (long) r * Integer.BYTES, LE)
                        .sub(IntVector.fromArray(INTS, shiftSums, r))
                        .convert(VectorOperators.I2F, 0))
                        .mul(FloatVector.fromArray(FLOATS, dequant, r))
                        .intoMemorySegment(out, outRow + (long) r * Float.BYTES, LE);
            }
        }
        for (; r < to; r++) {
            out.set(F32, outRow + (long) r * Float.BYTES, acc(sumRow, r) * dequant[r]);
        }
    }

    private void requantizeRow(int t, int from, int to, float outputScale, MemorySegment out) {
        long sumRow = (long) t * n * Integer.BYTES;
        long outRow = ((long) t * (to - from) - from) * Float.BYTES;
        for (int r = from; r < to; r++) {
            int q16 = FixedPointMultiplier.apply(acc(sumRow, r), mantissa[r], exponent[r],
                    Op.QuantizedLinear.OUTPUT_LIMIT);
            out.set(F32, outRow + (long) r * Float.BYTES, q16 * outputScale);
        }
    }

    /** The exact INT32 sum of signed codes of stacked row {@code r} in the row of sums at {@code sumRow}. */
    private int acc(long sumRow, int r) {
        return sums.get(I32, sumRow + (long) r * Integer.BYTES) - shiftSums[r];
    }
}
