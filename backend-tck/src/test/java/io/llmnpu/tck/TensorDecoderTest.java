package io.llmnpu.tck;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** The reference's own decoding, against the JDK's conversions and hand-built GGUF blocks. */
class TensorDecoderTest {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void halfFloatMatchesTheJdkForEveryBitPattern() {
        for (int bits = 0; bits < 1 << 16; bits++) {
            float jdk = Float.float16ToFloat((short) bits);
            double ours = TensorDecoder.halfToDouble(bits);
            if (Float.isNaN(jdk)) {
                assertTrue(Double.isNaN(ours), "0x" + Integer.toHexString(bits));
            } else {
                assertEquals(jdk, ours, 0.0, "0x" + Integer.toHexString(bits));
            }
        }
    }

    @Test
    void bfloat16IsTheUpperHalfOfAFloatForEveryBitPattern() {
        for (int bits = 0; bits < 1 << 16; bits++) {
            float expected = Float.intBitsToFloat(bits << 16);
            double ours = TensorDecoder.bfloat16ToDouble(bits);
            if (Float.isNaN(expected)) {
                assertTrue(Double.isNaN(ours), "0x" + Integer.toHexString(bits));
            } else {
                assertEquals(expected, ours, 0.0, "0x" + Integer.toHexString(bits));
            }
        }
    }

    @Test
    void q8_0BlocksAreScaleThenSignedBytes() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.allocate(arena, "q8", DType.Q8_0, Shape.of(2, 32));
            MemorySegment m = t.data();
            m.set(U16, 0, (short) 0x3800);  // +0.5
            m.set(U16, 34, (short) 0xC000); // -2.0
            for (int j = 0; j < 32; j++) {
                m.set(ValueLayout.JAVA_BYTE, 2 + j, (byte) (j * 8 - 128));
                m.set(ValueLayout.JAVA_BYTE, 36 + j, (byte) (j - 16));
            }
            double[] values = TensorDecoder.toDoubles(t);
            for (int j = 0; j < 32; j++) {
                assertEquals((j * 8 - 128) * 0.5, values[j], 0.0, "block 0 element " + j);
                assertEquals((j - 16) * -2.0, values[32 + j], 0.0, "block 1 element " + j);
            }
        }
    }

    @Test
    void q4_0LowNibbleIsElementJAndHighNibbleElementJPlus16() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.allocate(arena, "q4", DType.Q4_0, Shape.of(32));
            MemorySegment m = t.data();
            m.set(U16, 0, (short) 0x3400); // 0.25
            for (int j = 0; j < 16; j++) {
                int low = j;
                int high = 15 - j;
                m.set(ValueLayout.JAVA_BYTE, 2 + j, (byte) (high << 4 | low));
            }
            double[] values = TensorDecoder.toDoubles(t);
            for (int j = 0; j < 16; j++) {
                assertEquals((j - 8) * 0.25, values[j], 0.0, "element " + j);
                assertEquals((15 - j - 8) * 0.25, values[j + 16], 0.0, "element " + (j + 16));
            }
        }
    }

    @Test
    void plainTypesReadLittleEndian() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor f = Tensor.allocate(arena, "f", DType.F32, Shape.of(3));
            f.setFloat(0, 1.5f);
            f.setFloat(1, -2.25f);
            f.setFloat(2, 3e-8f);
            assertArrayEquals(new double[] {1.5, -2.25, 3e-8f}, TensorDecoder.toDoubles(f), 0.0);
            Tensor i = Tensor.allocate(arena, "i", DType.I32, Shape.of(2));
            i.setInt(0, -7);
            i.setInt(1, 1 << 20);
            assertArrayEquals(new int[] {-7, 1 << 20}, TensorDecoder.toInts(i));
            assertThrows(IllegalArgumentException.class,
                    () -> TensorDecoder.toDoubles(Tensor.allocate(arena, "b", DType.I8, Shape.of(4))));
        }
    }
}
