package io.llmnpu.backend.npu.reference;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector species of the INT8 kernels, as static final constants so that C2 compiles Vector API calls
 * into SIMD instructions. Bytes are widened to ints lane for lane ({@code B2I}), so the byte species
 * has as many lanes as the int species: 16 with AVX-512, 8 with AVX2 or NEON.
 */
final class NpuVectors {

    static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;

    /** Values per slice of a packed tile row: one int vector. */
    static final int SLICE = INTS.length();

    static final VectorSpecies<Byte> BYTES = SLICE >= 8
            ? VectorSpecies.of(byte.class, VectorShape.forBitSize(SLICE * Byte.SIZE))
            : ByteVector.SPECIES_64;

    /** Rows of weights that share one packed tile (and one register block of the GEMM). */
    static final int TILE_ROWS = 4;

    private NpuVectors() {
    }
}
