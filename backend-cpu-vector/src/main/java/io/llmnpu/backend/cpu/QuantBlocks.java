package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.I16;

import java.lang.foreign.MemorySegment;

/** GGUF block layouts of Q8_0 and Q4_0: 32 values per block behind an F16 scale. */
final class QuantBlocks {

    static final int BLOCK = 32;
    static final int Q8_BYTES = 34;
    static final int Q4_BYTES = 18;
    /** The quants start after the 2-byte F16 scale. */
    static final int QUANTS = 2;

    private QuantBlocks() {
    }

    static float scale(MemorySegment w, long blockOff) {
        return Float.float16ToFloat(w.get(I16, blockOff));
    }

    /** Value j of a Q8_0 block: a signed byte times the scale. */
    static float q8(MemorySegment w, long blockOff, int j) {
        return w.get(java.lang.foreign.ValueLayout.JAVA_BYTE, blockOff + QUANTS + j) * scale(w, blockOff);
    }

    /** Value j of a Q4_0 block: byte j % 16 holds value j in its low nibble and value j + 16 in its high one. */
    static float q4(MemorySegment w, long blockOff, int j) {
        int b = w.get(java.lang.foreign.ValueLayout.JAVA_BYTE, blockOff + QUANTS + (j & 15)) & 0xFF;
        int q = j < 16 ? b & 0x0F : b >>> 4;
        return (q - 8) * scale(w, blockOff);
    }
}
