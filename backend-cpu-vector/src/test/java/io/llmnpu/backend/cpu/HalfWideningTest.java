package io.llmnpu.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** The vector F16 and BF16 widening agrees with the JDK's conversion on every one of the 65536 bit patterns. */
class HalfWideningTest {

    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int QUIET_NAN_BIT = 0x0040_0000;
    /** Odd, so that the scalar tail after the vector loop is exercised too. */
    private static final int COUNT = 65536 + 7;

    private static MemorySegment allPatterns(Arena arena) {
        MemorySegment m = arena.allocate(2L * COUNT);
        for (int i = 0; i < COUNT; i++) {
            m.setAtIndex(I16, i, (short) i);
        }
        return m;
    }

    @Test
    void f16MatchesFloat16ToFloat() {
        try (Arena arena = Arena.ofConfined()) {
            float[] out = new float[COUNT];
            HalfMatmul.widenF16(allPatterns(arena), 0, out, 0, COUNT);
            for (int i = 0; i < COUNT; i++) {
                int want = Float.floatToRawIntBits(Float.float16ToFloat((short) i));
                int got = Float.floatToRawIntBits(out[i]);
                if (Float.isNaN(Float.intBitsToFloat(want))) {
                    // Conversions may or may not set the quiet bit of a NaN; sign and payload must survive.
                    want &= ~QUIET_NAN_BIT;
                    got &= ~QUIET_NAN_BIT;
                    assertTrue(Float.isNaN(out[i]), "F16 bits " + i + " is a NaN");
                }
                assertEquals(want, got, "F16 bits " + i);
            }
        }
    }

    @Test
    void bf16IsTheUpperHalfOfAFloat() {
        try (Arena arena = Arena.ofConfined()) {
            float[] out = new float[COUNT];
            HalfMatmul.widenBf16(allPatterns(arena), 0, out, 0, COUNT);
            for (int i = 0; i < COUNT; i++) {
                int want = (i & 0xFFFF) << 16;
                assertEquals(want, Float.floatToRawIntBits(out[i]),
                        "BF16 bits " + i);
            }
        }
    }
}
