package io.llmnpu.backend.npu.reference;

import static io.llmnpu.backend.npu.reference.NpuVectors.BYTES;
import static io.llmnpu.backend.npu.reference.NpuVectors.INTS;
import static io.llmnpu.backend.npu.reference.NpuVectors.SLICE;
import static io.llmnpu.backend.npu.reference.NpuVectors.TILE_ROWS;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * INT8 x INT8 -> INT32 matrix multiply over packed tiles, integer arithmetic only. Activation codes come
 * widened to ints (the ingress quantizer writes them so); weight bytes are widened lane for lane with
 * {@code B2I} as they stream in. Register blocks of 4 tokens x 4 weight rows load 8 vectors per 16
 * multiply-adds. The loops are kept plain so that C2 intrinsifies them: no species or shapes that are
 * not constants, no widening through shorts (which stops C2 from vectorising).
 */
final class Int8Gemm {

    /** Bytes of widened activation codes one token block may take (half a typical L2). */
    static final int TOKEN_BLOCK_BYTES = 256 * 1024;

    private Int8Gemm() {
    }

    /**
     * {@code acc[t * accStride + r] = sum_c x[t * xStride + c] * w[r][c]} for the rows of groups
     * {@code [groupFrom, groupTo)} and all tokens.
     *
     * @param x   activation codes, {@code tokens} rows of {@code p.paddedCols()} ints (padding zero)
     * @param acc accumulators, {@code tokens} rows of {@code accStride} ints
     */
    static void multiply(PackedLinear p, int[] x, int tokens, int[] acc, int accStride, int groupFrom, int groupTo) {
        if (p.slice() != SLICE) {
            throw new IllegalStateException("weights " + p.name() + " were packed for " + p.slice()
                    + "-value slices but this CPU's vectors hold " + SLICE);
        }
        byte[] w = p.tiles();
        int slices = p.slices();
        int xStride = p.paddedCols();
        int groupBytes = slices * TILE_ROWS * SLICE;
        // Token blocks whose widened codes fit in L2: each row group's tiles (a few KB, in L1) then meet
        // every token of the block before the next group streams in.
        int blockTokens = Math.max(4, (TOKEN_BLOCK_BYTES / (xStride * Integer.BYTES)) & ~3);
        for (int t0 = 0; t0 < tokens; t0 += blockTokens) {
            int t1 = Math.min(tokens, t0 + blockTokens);
            for (int g = groupFrom; g < groupTo; g++) {
                int wBase = g * groupBytes;
                int row = g * TILE_ROWS;
                int t = t0;
                for (; t + 4 <= t1; t += 4) {
                    block4x4(w, wBase, slices, x, t * xStride, xStride, acc, t * accStride + row, accStride);
                }
                for (; t < t1; t++) {
                    block1x4(w, wBase, slices, x, t * xStride, acc, t * accStride + row);
                }
            }
        }
    }

    private static void block4x4(byte[] w, int wBase, int slices, int[] x, int x0, int xStride, int[] acc, int out,
                                 int accStride) {
        IntVector a00 = IntVector.zero(INTS), a01 = a00, a02 = a00, a03 = a00;
        IntVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        IntVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        IntVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int x1 = x0 + xStride;
        int x2 = x1 + xStride;
        int x3 = x2 + xStride;
        for (int s = 0; s < slices; s++) {
            int wo = wBase + s * TILE_ROWS * SLICE;
            IntVector w0 = widen(w, wo);
            IntVector w1 = widen(w, wo + SLICE);
            IntVector w2 = widen(w, wo + 2 * SLICE);
            IntVector w3 = widen(w, wo + 3 * SLICE);
            int c = s * SLICE;
            IntVector u = IntVector.fromArray(INTS, x, x0 + c);
            a00 = a00.add(u.mul(w0));
            a01 = a01.add(u.mul(w1));
            a02 = a02.add(u.mul(w2));
            a03 = a03.add(u.mul(w3));
            u = IntVector.fromArray(INTS, x, x1 + c);
            a10 = a10.add(u.mul(w0));
            a11 = a11.add(u.mul(w1));
            a12 = a12.add(u.mul(w2));
            a13 = a13.add(u.mul(w3));
            u = IntVector.fromArray(INTS, x, x2 + c);
            a20 = a20.add(u.mul(w0));
            a21 = a21.add(u.mul(w1));
            a22 = a22.add(u.mul(w2));
            a23 = a23.add(u.mul(w3));
            u = IntVector.fromArray(INTS, x, x3 + c);
            a30 = a30.add(u.mul(w0));
            a31 = a31.add(u.mul(w1));
            a32 = a32.add(u.mul(w2));
            a33 = a33.add(u.mul(w3));
        }
        // Reductions written out in place: a helper taking vectors would not be inlined (too large a
        // caller), and vectors passed to a call are boxed.
        acc[out] = a00.reduceLanes(VectorOperators.ADD);
        acc[out + 1] = a01.reduceLanes(VectorOperators.ADD);
        acc[out + 2] = a02.reduceLanes(VectorOperators.ADD);
        acc[out + 3] = a03.reduceLanes(VectorOperators.ADD);
        int o1 = out + accStride;
        acc[o1] = a10.reduceLanes(VectorOperators.ADD);
        acc[o1 + 1] = a11.reduceLanes(VectorOperators.ADD);
        acc[o1 + 2] = a12.reduceLanes(VectorOperators.ADD);
        acc[o1 + 3] = a13.reduceLanes(VectorOperators.ADD);
        int o2 = o1 + accStride;
        acc[o2] = a20.reduceLanes(VectorOperators.ADD);
        acc[o2 + 1] = a21.reduceLanes(VectorOperators.ADD);
        acc[o2 + 2] = a22.reduceLanes(VectorOperators.ADD);
        acc[o2 + 3] = a23.reduceLanes(VectorOperators.ADD);
        int o3 = o2 + accStride;
        acc[o3] = a30.reduceLanes(VectorOperators.ADD);
        acc[o3 + 1] = a31.reduceLanes(VectorOperators.ADD);
        acc[o3 + 2] = a32.reduceLanes(VectorOperators.ADD);
        acc[o3 + 3] = a33.reduceLanes(VectorOperators.ADD);
    }

    private static void block1x4(byte[] w, int wBase, int slices, int[] x, int x0, int[] acc, int out) {
        IntVector a0 = IntVector.zero(INTS), a1 = a0, a2 = a0, a3 = a0;
        for (int s = 0; s < slices; s++) {
            int wo = wBase + s * TILE_ROWS * SLICE;
            IntVector u = IntVector.fromArray(INTS, x, x0 + s * SLICE);
            a0 = a0.add(u.mul(widen(w, wo)));
            a1 = a1.add(u.mul(widen(w, wo + SLICE)));
            a2 = a2.add(u.mul(widen(w, wo + 2 * SLICE)));
            a3 = a3.add(u.mul(widen(w, wo + 3 * SLICE)));
        }
        acc[out] = a0.reduceLanes(VectorOperators.ADD);
        acc[out + 1] = a1.reduceLanes(VectorOperators.ADD);
        acc[out + 2] = a2.reduceLanes(VectorOperators.ADD);
        acc[out + 3] = a3.reduceLanes(VectorOperators.ADD);
    }

    private static IntVector widen(byte[] w, int offset) {
        return (IntVector) ByteVector.fromArray(BYTES, w, offset).convertShape(VectorOperators.B2I, INTS, 0);
    }
}
