package io.llmnpu.runtime.quant;

import io.llmnpu.api.tensor.Dequantizer;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

class BlockQuantizerTest {

    @Test
    void q8_0BlockWorkedByHand() {
        // absmax 127 -> d = 1, so q = roundf(x); halves go away from zero like C's roundf.
        float[] x = new float[32];
        x[0] = 127f;
        x[1] = 2.5f;
        x[2] = -2.5f;
        x[3] = 0.49999997f;
        x[4] = -126.6f;
        x[5] = 0.5f;
        byte[] q = BlockQuantizer.quantizeQ8_0(x);
        assertEquals(34, q.length);
        assertEquals(0x00, q[0] & 0xFF); // F16 1.0 = 0x3C00, little-endian
        assertEquals(0x3C, q[1] & 0xFF);
        assertEquals(127, q[2]);
        assertEquals(3, q[3]);
        assertEquals(-3, q[4]);
        assertEquals(0, q[5]);
        assertEquals(-127, q[6]);
        assertEquals(1, q[7]);
        for (int j = 6; j < 32; j++) {
            assertEquals(0, q[2 + j]);
        }
    }

    @Test
    void q4_0BlockWorkedByHand() {
        // The largest magnitude is -8 (sign kept), so d = -8 / -8 = 1 and q = min(15, (int) (x + 8.5)).
        float[] x = new float[32];
        x[0] = -8f;     // 0.5 -> 0
        x[1] = 7.6f;    // 16.1 -> 16 -> clamped to 15
        x[2] = 3.4f;    // 11.9 -> 11
        x[16] = -0.6f;  // 7.9 -> 7   (high nibble of byte 0)
        x[17] = 2f;     // 10.5 -> 10 (high nibble of byte 1)
        byte[] q = BlockQuantizer.quantizeQ4_0(x);
        assertEquals(18, q.length);
        assertEquals(0x3C00, (q[0] & 0xFF) | (q[1] & 0xFF) << 8);
        assertEquals(0 | 7 << 4, q[2] & 0xFF);
        assertEquals(15 | 10 << 4, q[3] & 0xFF);
        assertEquals(11 | 8 << 4, q[4] & 0xFF); // x[18] = 0 -> 8
        for (int j = 3; j < 16; j++) {
            assertEquals(8 | 8 << 4, q[2 + j] & 0xFF, "byte " + j);
        }
    }

    @Test
    void q4_0ScaleFollowsTheSignOfTheLargestValue() {
        float[] x = new float[32];
        x[5] = 4f; // max = +4 -> d = -0.5, so +4 maps to quant 0 and dequantizes to (0 - 8) * -0.5 = 4
        byte[] q = BlockQuantizer.quantizeQ4_0(x);
        assertEquals(Float.floatToFloat16(-0.5f), (short) ((q[0] & 0xFF) | (q[1] & 0xFF) << 8));
        float[] back = Dequantizer.dequantize(DType.Q4_0, MemorySegment.ofArray(q), 32);
        assertEquals(4f, back[5]);
        assertEquals(0f, back[0], 0f); // -0.0 like ggml: (8 - 8) * -0.5
    }

    @Test
    void zeroBlocksStayZero() {
        float[] zeros = new float[64];
        // Q4_0 of an all-zero block has d = 0 / -8 = -0.0 (as in ggml), so values come back as -0.0.
        assertArrayEquals(zeros, Dequantizer.dequantize(DType.Q8_0, MemorySegment.ofArray(BlockQuantizer.quantizeQ8_0(zeros)), 64), 0f);
        assertArrayEquals(zeros, Dequantizer.dequantize(DType.Q4_0, MemorySegment.ofArray(BlockQuantizer.quantizeQ4_0(zeros)), 64), 0f);
    }

    @RepeatedTest(20)
    void roundTripErrorIsWithinHalfAStep(RepetitionInfo info) {
        Random random = new Random(1234L + info.getCurrentRepetition());
        float[] x = new float[32 * 8];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(5) - 2));
        }
        float[] q8 = Dequantizer.dequantize(DType.Q8_0, MemorySegment.ofArray(BlockQuantizer.quantizeQ8_0(x)), x.length);
        float[] q4 = Dequantizer.dequantize(DType.Q4_0, MemorySegment.ofArray(BlockQuantizer.quantizeQ4_0(x)), x.length);
        float[] f16 = Dequantizer.dequantize(DType.F16, MemorySegment.ofArray(BlockQuantizer.toF16(x)), x.length);
        for (int b = 0; b < x.length / 32; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(x[b * 32 + j]));
            }
            for (int j = 0; j < 32; j++) {
                int i = b * 32 + j;
                // step = amax/127 (Q8_0) and amax/8 (Q4_0); half a step plus the F16 rounding of the scale
                assertTrue(Math.abs(q8[i] - x[i]) <= amax / 127 * 0.5 + amax * 1e-3, "q8 " + i);
                // Q4_0 keeps 8 steps below zero but only 7 above, so values near +amax with the opposite
                // sign to max clamp at quant 15: error up to one step.
                assertTrue(Math.abs(q4[i] - x[i]) <= amax / 8 + amax * 1e-3, "q4 " + i);
                assertEquals(x[i], f16[i], Math.abs(x[i]) / 1024 + 6e-8, "f16 " + i);
            }
        }
    }
}
