package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.InterleavedQuants.LANE_BYTES;
import static io.llmnpu.backend.cpu.InterleavedQuants.ROWS;
import static io.llmnpu.backend.cpu.InterleavedQuants.SCALE_BYTES;
import static io.llmnpu.backend.cpu.InterleavedQuants.byteOf;
import static io.llmnpu.backend.cpu.InterleavedQuants.lanes;
import static io.llmnpu.backend.cpu.InterleavedQuants.nibbleOf;
import static io.llmnpu.backend.cpu.QuantBlocks.BLOCK;
import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;

import io.llmnpu.api.tensor.DType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * Linear over Q8_0 or Q4_0 weights in the {@link InterleavedQuants} layout, for a few token rows
 * (decode). A group of {@link InterleavedQuants#ROWS} weight rows is one vector of accumulators: for
 * every column, one extracted lane vector times the broadcast activation. Per block the four partial
 * sums (columns taken in turn, so four FMA chains are in flight) are added and scaled by the group's
 * scale vector. Each output depends only on its row's weights and the token row, never on how rows are
 * split between threads. {@code from} and {@code to} must be multiples of ROWS.
 */
final class InterleavedMatmul implements MatmulRows {

    private final boolean q4;

    private InterleavedMatmul(boolean q4) {
        this.q4 = q4;
    }

    static InterleavedMatmul of(DType dtype) {
        return switch (dtype) {
            case Q8_0 -> new InterleavedMatmul(false);
            case Q4_0 -> new InterleavedMatmul(true);
            default -> throw new IllegalArgumentException("no interleaved layout for " + dtype);
        };
    }

    @Override
    public void compute(MemorySegment w, MemorySegment x, MemorySegment out, int tokens, int k, int n,
                        int from, int to) {
        int blocks = k / BLOCK;
        long xStride = (long) k * Float.BYTES;
        for (int g = from / ROWS; g < to / ROWS; g++) {
            for (int t = 0; t < tokens; t++) {
                long outOff = ((long) t * n + (long) g * ROWS) * Float.BYTES;
                if (q4) {
                    q4Group(w, g, blocks, x, t * xStride).intoMemorySegment(out, outOff, LE);
                } else {
                    q8Group(w, g, blocks, x, t * xStride).intoMemorySegment(out, outOff, LE);
                }
            }
        }
    }

    /** The group's ROWS outputs for the token row at {@code x0}. */
    private static FloatVector q8Group(MemorySegment w, int g, int blocks, MemorySegment x, long x0) {
        long blockBytes = (long) ROWS * DType.Q8_0.blockBytes();
        long base = g * blocks * blockBytes;
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int b = 0; b < blocks; b++) {
            long bo = base + b * blockBytes;
            long xb = x0 + (long) b * BLOCK * Float.BYTES;
            FloatVector s0 = FloatVector.zero(FLOATS);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            for (int q = 0; q < BLOCK / 4; q++) {
                IntVector quad = lanes(w, bo + SCALE_BYTES + (long) q * LANE_BYTES);
                long xq = xb + 16L * q;
                s0 = byteOf(quad, 0).fma(FloatVector.broadcast(FLOATS, x.get(F32, xq)), s0);
                s1 = byteOf(quad, 1).fma(FloatVector.broadcast(FLOATS, x.get(F32, xq + 4)), s1);
                s2 = byteOf(quad, 2).fma(FloatVector.broadcast(FLOATS, x.get(F32, xq + 8)), s2);
                s3 = byteOf(quad, 3).fma(FloatVector.broadcast(FLOATS, x.get(F32, xq + 12)), s3);
            }
            acc = s0.add(s1).add(s2.add(s3)).fma(InterleavedQuants.scales(w, bo), acc);
        }
        return acc;
    }

    /** The group's ROWS outputs for the token row at {@code x0}. */
    private static FloatVector q4Group(MemorySegment w, int g, int blocks, MemorySegment x, long x0) {
        long blockBytes = (long) ROWS * DType.Q4_0.blockBytes();
        long base = g * blocks * blockBytes;
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int b = 0; b < blocks; b++) {
            long bo = base + b * blockBytes;
            long xb = x0 + (long) b * BLOCK * Float.BYTES;
            FloatVector s0 = FloatVector.zero(FLOATS);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            for (int o = 0; o < BLOCK / 8; o++) {
                IntVector octet = lanes(w, bo + SCALE_BYTES + (long) o * LANE_BYTES);
                long xo = xb + 32L * o;
                s0 = nibbleOf(octet, 0).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo)), s0);
                s1 = nibbleOf(octet, 1).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 4)), s1);
                s2 = nibbleOf(octet, 2).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 8)), s2);
                s3 = nibbleOf(octet, 3).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 12)), s3);
                s0 = nibbleOf(octet, 4).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 16)), s0);
                s1 = nibbleOf(octet, 5).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 20)), s1);
                s2 = nibbleOf(octet, 6).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 24)), s2);
                s3 = nibbleOf(octet, 7).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 28)), s3);
            }
            acc = s0.add(s1).add(s2.add(s3)).fma(InterleavedQuants.scales(w, bo), acc);
        }
        return acc;
    }
}
