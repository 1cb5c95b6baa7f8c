package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.InterleavedRows.LANE_BYTES;
import static io.llmnpu.backend.cpu.InterleavedRows.ROWS;
import static io.llmnpu.backend.cpu.InterleavedRows.SCALE_BYTES;
import static io.llmnpu.backend.cpu.InterleavedRows.bf16High;
import static io.llmnpu.backend.cpu.InterleavedRows.bf16Low;
import static io.llmnpu.backend.cpu.InterleavedRows.byteOf;
import static io.llmnpu.backend.cpu.InterleavedRows.f16High;
import static io.llmnpu.backend.cpu.InterleavedRows.f16Low;
import static io.llmnpu.backend.cpu.InterleavedRows.lanes;
import static io.llmnpu.backend.cpu.InterleavedRows.nibbleOf;
import static io.llmnpu.backend.cpu.QuantBlocks.BLOCK;
import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;

import io.llmnpu.api.tensor.DType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * Linear over Q8_0, Q4_0, F16 or BF16 weights in the {@link InterleavedRows} layout, for a few token
 * rows (decode). A group of {@link InterleavedRows#ROWS} weight rows is one vector of accumulators:
 * for every column, one extracted lane vector times the broadcast activation, columns taken in turn by
 * four FMA chains so that four are in flight. For Q8_0/Q4_0 the four partial sums of a block are added
 * and scaled by the group's scale vector. Each output depends only on its row's weights and the token
 * row, never on how rows are split between threads. {@code from} and {@code to} must be multiples of
 * ROWS.
 */
final class InterleavedMatmul implements MatmulRows {

    private final DType dtype;

    private InterleavedMatmul(DType dtype) {
        this.dtype = dtype;
    }

    static InterleavedMatmul of(DType dtype) {
        return switch (dtype) {
            case Q8_0, Q4_0, F16, BF16 -> new InterleavedMatmul(dtype);
            default -> throw new IllegalArgumentException("no interleaved layout for " + dtype);
        };
    }

    @Override
    public void compute(MemorySegment w, MemorySegment x, MemorySegment out, int tokens, int k, int n,
                        int from, int to) {
        int blocks = k / BLOCK;
        for (int t = 0; t < tokens; t++) {
            long x0 = (long) t * k * Float.BYTES;
            long out0 = (long) t * n * Float.BYTES;
            switch (dtype) {
                case Q8_0 -> q8Groups(w, blocks, x, x0, out, out0, from / ROWS, to / ROWS);
                case Q4_0 -> q4Groups(w, blocks, x, x0, out, out0, from / ROWS, to / ROWS);
                case F16 -> f16Groups(w, k, x, x0, out, out0, from / ROWS, to / ROWS);
                default -> bf16Groups(w, k, x, x0, out, out0, from / ROWS, to / ROWS);
            }
        }
    }

    /**
     * Groups [g0, g1) against the token row at {@code x0}, written to the output row at {@code out0}.
     * One method with every loop inside, so that C2 compiles it whole and keeps every vector in a
     * register (a vector passed to or returned from a call that is not inlined is boxed on the heap).
     */
    private static void q8Groups(MemorySegment w, int blocks, MemorySegment x, long x0, MemorySegment out, long out0,
                                 int g0, int g1) {
        long blockBytes = (long) ROWS * DType.Q8_0.blockBytes();
        for (int g = g0; g < g1; g++) {
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
                acc = s0.add(s1).add(s2.add(s3)).fma(InterleavedRows.scales(w, bo), acc);
            }
            acc.intoMemorySegment(out, out0 + (long) g * ROWS * Float.BYTES, LE);
        }
    }

    /** {@link #q8Groups} for Q4_0: eight columns per lane vector. */
    private static void q4Groups(MemorySegment w, int blocks, MemorySegment x, long x0, MemorySegment out, long out0,
                                 int g0, int g1) {
        long blockBytes = (long) ROWS * DType.Q4_0.blockBytes();
        for (int g = g0; g < g1; g++) {
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
                acc = s0.add(s1).add(s2.add(s3)).fma(InterleavedRows.scales(w, bo), acc);
            }
            acc.intoMemorySegment(out, out0 + (long) g * ROWS * Float.BYTES, LE);
        }
    }

    /** {@link #q8Groups} for F16: two columns per lane vector, four pairs per step. */
    private static void f16Groups(MemorySegment w, int k, MemorySegment x, long x0, MemorySegment out, long out0,
                                  int g0, int g1) {
        long groupBytes = (long) ROWS * k * Short.BYTES;
        int quadEnd = k / 8 * 8;
        for (int g = g0; g < g1; g++) {
            long base = g * groupBytes;
            FloatVector s0 = FloatVector.zero(FLOATS);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            int c = 0;
            for (; c < quadEnd; c += 8) {
                long wo = base + (long) (c / 2) * LANE_BYTES;
                long xo = x0 + (long) c * Float.BYTES;
                IntVector p0 = lanes(w, wo);
                IntVector p1 = lanes(w, wo + LANE_BYTES);
                IntVector p2 = lanes(w, wo + 2 * LANE_BYTES);
                IntVector p3 = lanes(w, wo + 3 * LANE_BYTES);
                s0 = f16Low(p0).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo)), s0);
                s1 = f16High(p0).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 4)), s1);
                s2 = f16Low(p1).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 8)), s2);
                s3 = f16High(p1).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 12)), s3);
                s0 = f16Low(p2).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 16)), s0);
                s1 = f16High(p2).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 20)), s1);
                s2 = f16Low(p3).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 24)), s2);
                s3 = f16High(p3).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 28)), s3);
            }
            for (; c < k; c += 2) {
                IntVector p = lanes(w, base + (long) (c / 2) * LANE_BYTES);
                long xo = x0 + (long) c * Float.BYTES;
                s0 = f16Low(p).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo)), s0);
                s1 = f16High(p).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 4)), s1);
            }
            s0.add(s1).add(s2.add(s3)).intoMemorySegment(out, out0 + (long) g * ROWS * Float.BYTES, LE);
        }
    }

    /** {@link #f16Groups} for BF16. */
    private static void bf16Groups(MemorySegment w, int k, MemorySegment x, long x0, MemorySegment out, long out0,
                                   int g0, int g1) {
        long groupBytes = (long) ROWS * k * Short.BYTES;
        int quadEnd = k / 8 * 8;
        for (int g = g0; g < g1; g++) {
            long base = g * groupBytes;
            FloatVector s0 = FloatVector.zero(FLOATS);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            int c = 0;
            for (; c < quadEnd; c += 8) {
                long wo = base + (long) (c / 2) * LANE_BYTES;
                long xo = x0 + (long) c * Float.BYTES;
                IntVector p0 = lanes(w, wo);
                IntVector p1 = lanes(w, wo + LANE_BYTES);
                IntVector p2 = lanes(w, wo + 2 * LANE_BYTES);
                IntVector p3 = lanes(w, wo + 3 * LANE_BYTES);
                s0 = bf16Low(p0).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo)), s0);
                s1 = bf16High(p0).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 4)), s1);
                s2 = bf16Low(p1).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 8)), s2);
                s3 = bf16High(p1).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 12)), s3);
                s0 = bf16Low(p2).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 16)), s0);
                s1 = bf16High(p2).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 20)), s1);
                s2 = bf16Low(p3).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 24)), s2);
                s3 = bf16High(p3).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 28)), s3);
            }
            for (; c < k; c += 2) {
                IntVector p = lanes(w, base + (long) (c / 2) * LANE_BYTES);
                long xo = x0 + (long) c * Float.BYTES;
                s0 = bf16Low(p).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo)), s0);
                s1 = bf16High(p).fma(FloatVector.broadcast(FLOATS, x.get(F32, xo + 4)), s1);
            }
            s0.add(s1).add(s2.add(s3)).intoMemorySegment(out, out0 + (long) g * ROWS * Float.BYTES, LE);
        }
    }
}
