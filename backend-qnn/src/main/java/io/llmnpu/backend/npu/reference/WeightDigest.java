package io.llmnpu.backend.npu.reference;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A fast 64-bit fingerprint of weight bytes for the compile cache: eight independent multiply-xorshift
 * lanes over 8-byte words (so it runs at memory speed), folded together with the length at the end.
 * Not cryptographic; it tells a changed weight file from the one a cached blob was packed from.
 */
final class WeightDigest {

    private static final VectorSpecies<Long> LONGS = LongVector.SPECIES_512;
    private static final long MULTIPLIER = 0x9E3779B97F4A7C15L;
    private static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private WeightDigest() {
    }

    static long of(MemorySegment data, long bytes) {
        int lanes = LONGS.length();
        long step = (long) lanes * Long.BYTES;
        LongVector h = LongVector.broadcast(LONGS, 0x243F6A8885A308D3L).add(LongVector.zero(LONGS).addIndex(1));
        long at = 0;
        for (; at + step <= bytes; at += step) {
            LongVector w = LongVector.fromMemorySegment(LONGS, data, at, ByteOrder.LITTLE_ENDIAN);
            h = h.lanewise(VectorOperators.XOR, w).mul(MULTIPLIER);
            h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 29));
        }
        long result = bytes;
        for (int i = 0; i < lanes; i++) {
            result = mix(result ^ h.lane(i));
        }
        for (; at + Long.BYTES <= bytes; at += Long.BYTES) {
            result = mix(result ^ data.get(LONG_LE, at));
        }
        for (; at < bytes; at++) {
            result = mix(result ^ (data.get(ValueLayout.JAVA_BYTE, at) & 0xFF));
        }
        return result;
    }

    private static long mix(long x) {
        x *= MULTIPLIER;
        return x ^ (x >>> 31);
    }
}
