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
        for (int g = groupFrom; g < groupTo; g++) {
            int wBase = g * groupBytes;
            int row = g * TILE_ROWS;
            int t = 0;
            for (; t + 4 <= tokens; t += 4) {
                block4x4(w, wBase, slices, x, t * xStride, xStride, acc, t * accStride + row, accStride);
            }
            for (; t < tokens; t++) {
                block1x4(w, wBase, slices, x, t * xStride, acc, t * accStride + row);
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
        store(acc, out, a00, a01, a02, a03);
        store(acc, out + accStride, a10, a11, a12, a13);
        store(acc, out + 2 * accStride, a20, a21, a22, a23);
        store(acc, out + 3 * accStride, a30, a31, a32, a33);
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
        store(acc, out, a0, a1, a2, a3);
    }

    private static IntVector widen(byte[] w, int offset) {
        return (IntVector) ByteVector.fromArray(BYTES, w, offset).convertShape(VectorOperators.B2I, INTS, 0);
    }

    private static void store(int[] acc, int at, IntVector r0, IntVector r1, IntVector r2, IntVector r3) {
        acc[at] = r0.reduceLanes(VectorOperators.ADD);
        acc[at + 1] = r1.reduceLanes(VectorOperators.ADD);
        acc[at + 2] = r2.reduceLanes(VectorOperators.ADD);
        acc[at + 3] = r3.reduceLanes(VectorOperators.ADD);
    }
}
