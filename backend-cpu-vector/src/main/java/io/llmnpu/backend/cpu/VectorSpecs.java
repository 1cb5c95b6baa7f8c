package io.llmnpu.backend.cpu;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector species and memory layouts every kernel uses. They are static final constants on
 * purpose: C2 only turns Vector API calls into SIMD instructions when the species is a compile-time
 * constant, so kernels must never take a species as a parameter or instance field.
 */
final class VectorSpecs {

    /** The widest float vector the CPU runs natively (16 lanes with AVX-512, 8 with AVX2). */
    static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;

    static final int LANES = FLOATS.length();

    /**
     * Whether quantized blocks can be widened lane for lane: a Q8_0/Q4_0 block spans 32 values (16
     * nibble bytes), so the float lane count must divide 16 and a byte species of the same lane count
     * must exist (8 or 16 lanes). Other CPUs use the scalar block decoders.
     */
    static final boolean QUANTIZED_VECTORS = LANES == 8 || LANES == 16;

    /** Bytes with one lane per float lane, widened with {@code B2F}. */
    static final VectorSpecies<Byte> BYTES = QUANTIZED_VECTORS
            ? VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * Byte.SIZE))
            : ByteVector.SPECIES_64;

    /** Shorts with one lane per float lane, for widening BF16 rows (used when QUANTIZED_VECTORS). */
    static final VectorSpecies<Short> SHORTS = QUANTIZED_VECTORS
            ? VectorSpecies.of(short.class, VectorShape.forBitSize(LANES * Short.SIZE))
            : ShortVector.SPECIES_64;

    /** Ints of the same shape as {@link #FLOATS}, for bit-level BF16 widening. */
    static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;

    /**
     * Shorts of the same shape as {@link #INTS}: two per int lane, so an interleaved weight word (one int
     * lane per row) read as shorts holds two 16-bit halves of each row (see {@link Int8Activations}).
     */
    static final VectorSpecies<Short> SHORT_PAIRS = VectorSpecies.of(short.class, INTS.vectorShape());

    /** Every model format and every tensor in llmnpu is little-endian. */
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);

    /**
     * {@code value} in every lane of an {@link #INTS} vector, as an array for kernels to read their mask
     * constants with {@code IntVector.fromArray}. C2 rematerialises a broadcast constant (a load from its
     * constant table) before each use inside a loop; a load from an array is loop-invariant work it hoists
     * and keeps in a register.
     */
    static int[] lanesOf(int value) {
        int[] lanes = new int[INTS.length()];
        java.util.Arrays.fill(lanes, value);
        return lanes;
    }

    private VectorSpecs() {
    }
}
