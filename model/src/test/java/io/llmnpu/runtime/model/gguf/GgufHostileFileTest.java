package io.llmnpu.runtime.model.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.model.ModelFormatException;
import io.llmnpu.runtime.model.SharedModels;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hand-crafted damaged and hostile GGUF files; each must fail with a message naming file, offset and problem. */
class GgufHostileFileTest {
    private static final int UINT32 = 4;
    private static final int FLOAT32 = 6;
    private static final int STRING = 8;
    private static final int ARRAY = 9;
    private static final int F32 = 0;

    @TempDir
    Path dir;

    private int fileNumber;

    private ModelFormatException rejected(RawGguf raw) throws IOException {
        return rejected(raw.write(dir.resolve("hostile" + (fileNumber++) + ".gguf")));
    }

    private static ModelFormatException rejected(Path file) {
        try (Arena arena = Arena.ofConfined()) {
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> GgufFile.open(file, arena));
            assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
            assertEquals(file, e.file());
            return e;
        }
    }

    private static void assertProblem(ModelFormatException e, long offset, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "message lacks \"" + part + "\": " + e.getMessage());
        }
        assertEquals(offset, e.offset(), e.getMessage());
    }

    @Test
    void badMagic() throws IOException {
        assertProblem(rejected(new RawGguf().bytes('G', 'G', 'M', 'L').u32(3).u64(0).u64(0)), 0,
                "not a GGUF file", "47 47 4d 4c");
        assertProblem(rejected(new RawGguf().bytes('G', 'G')), 0, "too short");
    }

    @Test
    void unsupportedVersions() throws IOException {
        assertProblem(rejected(new RawGguf().bytes('G', 'G', 'U', 'F').u32(1).u32(0).u32(0)), 4, "version 1 is not supported");
        assertProblem(rejected(new RawGguf().bytes('G', 'G', 'U', 'F').u32(7).u64(0).u64(0)), 4, "unknown GGUF version 7");
        assertProblem(rejected(new RawGguf().bytes('G', 'G', 'U', 'F').u32(3L << 24).u64(0).u64(0)), 4, "big-endian");
    }

    @Test
    void truncatedRealFile() throws IOException {
        byte[] full = Files.readAllBytes(SharedModels.file("stories260K.gguf"));
        Path cut = Files.write(dir.resolve("cut.gguf"), Arrays.copyOf(full, 5000));
        ModelFormatException e = rejected(cut);
        assertTrue(e.getMessage().contains("truncated") || e.getMessage().contains("past the end"), e.getMessage());
        assertTrue(e.offset() > 0 && e.offset() <= 5000, e.getMessage());

        Path header = Files.write(dir.resolve("header.gguf"), Arrays.copyOf(full, 10));
        assertProblem(rejected(header), 8, "truncated", "tensor count");
    }

    @Test
    void truncatedTensorData() throws IOException {
        byte[] full = Files.readAllBytes(SharedModels.file("stories260K.gguf"));
        Path cut = Files.write(dir.resolve("data.gguf"), Arrays.copyOf(full, full.length - 1));
        GgufTensorInfo last = lastTensor(full);
        assertProblem(rejected(cut), last.infoOffset(), "data of tensor " + last.name() + " ",
                "extends past the end of the file (1185375 bytes)");
    }

    /** The tensor whose data ends the file, read from the intact file. */
    private GgufTensorInfo lastTensor(byte[] full) throws IOException {
        Path intact = Files.write(dir.resolve("intact.gguf"), full);
        try (Arena arena = Arena.ofConfined()) {
            return GgufFile.open(intact, arena).tensorInfos().stream().filter(t -> t.end() == full.length).findFirst().orElseThrow();
        }
    }

    @Test
    void tensorPastEndOfFile() throws IOException {
        RawGguf raw = RawGguf.header(1, 0).tensor("w", F32, 64, 8, 2).padTo(32).zeros(64); // 64 bytes of data at 64..128
        assertProblem(rejected(raw), 24, "data of tensor w", "extends past the end of the file");
    }

    @Test
    void absurdCounts() throws IOException {
        assertProblem(rejected(RawGguf.header(1L << 62, 0)), 8, "tensor count 4611686018427387904 cannot fit");
        assertProblem(rejected(RawGguf.header(0, -1L)), 16, "metadata entry count 18446744073709551615 cannot fit");
        long arrayAt = 24 + 8 + 1 + 4 + 4;
        assertProblem(rejected(RawGguf.header(0, 1).key("a", ARRAY).u32(UINT32).u64(1L << 40)), arrayAt,
                "array length 1099511627776 of key \"a\" exceeds the limit");
        assertProblem(rejected(RawGguf.header(0, 1).key("a", ARRAY).u32(UINT32).u64(1000).zeros(100)), arrayAt,
                "element count 1000 cannot fit in the 100 bytes left");
        assertProblem(rejected(RawGguf.header(0, 1).key("a", ARRAY).u32(STRING).u64(20).zeros(100)), arrayAt,
                "element count 20 cannot fit");
    }

    @Test
    void absurdStringLengths() throws IOException {
        assertProblem(rejected(RawGguf.header(0, 1).u64(1L << 50).zeros(16)), 24, "metadata key length 1125899906842624 exceeds the limit");
        assertProblem(rejected(RawGguf.header(0, 1).u64(100).bytes('a', 'b').zeros(10)), 24, "metadata key length 100 runs past the end");
        assertProblem(rejected(RawGguf.header(0, 1).key("s", STRING).u64(-5L).zeros(8)), 37, "length 18446744073709551611 exceeds the limit");
    }

    @Test
    void misalignedTensorOffset() throws IOException {
        RawGguf raw = RawGguf.header(1, 0).tensor("w", F32, 16, 8).padTo(32).zeros(64);
        assertProblem(rejected(raw), 24 + 8 + 1 + 4 + 8 + 4, "data offset 16 of tensor w is not a multiple of the alignment 32");
    }

    @Test
    void overflowingAndOversizedDimensions() throws IOException {
        long big = Integer.MAX_VALUE;
        assertProblem(rejected(RawGguf.header(1, 0).tensor("w", F32, 0, big, big, big, big).zeros(64)), 24,
                "dimensions [2147483647, 2147483647, 2147483647, 2147483647] of tensor w overflow");
        assertProblem(rejected(RawGguf.header(1, 0).tensor("w", F32, 0, 1L << 40).zeros(64)), 24 + 8 + 1 + 4,
                "dimension 0 of tensor w is 1099511627776, more than the supported");
        assertProblem(rejected(RawGguf.header(1, 0).tensor("w", F32, 0, 1, 1, 1, 1, 1).zeros(64)), 24 + 8 + 1,
                "tensor w has 5 dimensions; at most 4");
        assertProblem(rejected(RawGguf.header(1, 0).tensor("w", 8, 0, 33).zeros(64)), 24,
                "rows of 33 values, not a multiple of the Q8_0 block size 32");
    }

    /** K-quant tensors are super-blocks of 256 values: a row must hold whole ones, and the data must be there. */
    @Test
    void kQuantRowsAndDataAreChecked() throws IOException {
        int q4K = 12;
        int q6K = 14;
        assertProblem(rejected(RawGguf.header(1, 0).tensor("w", q4K, 0, 128, 2).zeros(512)), 24,
                "rows of 128 values, not a multiple of the Q4_K block size 256");
        assertProblem(rejected(RawGguf.header(1, 0).tensor("w", q6K, 0, 256, 2).padTo(32).zeros(419)), 24,
                "data of tensor w", "extends past the end of the file");
        Path file = RawGguf.header(1, 0).tensor("w", q6K, 0, 256, 2).padTo(32).zeros(420).write(dir.resolve("q6k.gguf"));
        try (Arena arena = Arena.ofConfined()) {
            GgufFile gguf = GgufFile.open(file, arena);
            assertEquals(io.llmnpu.api.tensor.DType.Q6_K, gguf.tensor("w").dtype());
            assertEquals(420, gguf.tensor("w").byteSize(), "2 rows of one 210-byte super-block");
        }
    }

    @Test
    void unknownTypes() throws IOException {
        assertProblem(rejected(RawGguf.header(0, 1).key("k", 13).u32(0)), 24 + 8 + 1, "unknown value type of key \"k\": 13");
        assertProblem(rejected(RawGguf.header(0, 1).key("k", ARRAY).u32(99).u64(0)), 24 + 8 + 1 + 4,
                "unknown array element type of key \"k\": 99");
        assertProblem(rejected(RawGguf.header(1, 0).tensor("w", 4, 0, 32).zeros(64)), 24 + 8 + 1 + 4 + 8,
                "unknown ggml type id 4 in tensor w");
    }

    @Test
    void duplicates() throws IOException {
        assertProblem(rejected(RawGguf.header(0, 2).key("k", UINT32).u32(1).key("k", UINT32).u32(2)), 24 + 8 + 1 + 4 + 4,
                "duplicate metadata key \"k\"");
        RawGguf raw = RawGguf.header(2, 0).tensor("w", F32, 0, 8).tensor("w", F32, 32, 8).padTo(32).zeros(64);
        assertProblem(rejected(raw), 24 + 33, "duplicate tensor name \"w\"");
    }

    @Test
    void overlappingTensors() throws IOException {
        RawGguf raw = RawGguf.header(2, 0).tensor("a", F32, 0, 16).tensor("b", F32, 32, 16).padTo(32).zeros(128);
        assertProblem(rejected(raw), 24 + 33, "data of tensor b (bytes", "overlaps tensor a");
    }

    @Test
    void badAlignment() throws IOException {
        assertProblem(rejected(RawGguf.header(0, 1).key("general.alignment", UINT32).u32(48)), 24,
                "general.alignment = 48 is not a power of two");
        assertProblem(rejected(RawGguf.header(0, 1).key("general.alignment", UINT32).u32(0)), 24, "is not a power of two");
        assertProblem(rejected(RawGguf.header(0, 1).key("general.alignment", FLOAT32).f32(32f)), 24,
                "general.alignment must be an integer, found a float32");
    }

    @Test
    void deeplyNestedArrays() throws IOException {
        RawGguf raw = RawGguf.header(0, 1).key("n", ARRAY);
        for (int i = 0; i < 50; i++) {
            raw.u32(ARRAY).u64(1);
        }
        raw.u32(UINT32).u64(0);
        ModelFormatException e = rejected(raw);
        assertTrue(e.getMessage().contains("nested deeper than 8 levels"), e.getMessage());
    }

    @Test
    void customAlignmentIsHonoured() throws IOException {
        RawGguf raw = RawGguf.header(1, 1).key("general.alignment", UINT32).u32(64).tensor("w", F32, 0, 4).padTo(64).zeros(16);
        Path file = raw.write(dir.resolve("aligned.gguf"));
        try (Arena arena = Arena.ofConfined()) {
            GgufFile gguf = GgufFile.open(file, arena);
            assertEquals(64, gguf.alignment());
            assertEquals(0, gguf.dataOffset() % 64);
            assertEquals(gguf.dataOffset(), gguf.tensorInfos().getFirst().offset());
        }
    }
}
