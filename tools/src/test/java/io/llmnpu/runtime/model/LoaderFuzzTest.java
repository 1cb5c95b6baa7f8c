package io.llmnpu.runtime.model;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.ModelReader;
import io.llmnpu.runtime.model.gguf.GgufFile;
import io.llmnpu.runtime.model.gguf.GgufModelReader;
import io.llmnpu.runtime.model.gguf.GgufTensorInfo;
import io.llmnpu.runtime.model.gguf.TinyLlamaGguf;
import io.llmnpu.runtime.model.llama2c.Llama2cCheckpoint;
import io.llmnpu.runtime.quant.QuantRecipe;
import io.llmnpu.runtime.synth.SyntheticModels;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Feeds over 10,000 truncated and corrupted model files to the full loaders. Every file must either
 * load or fail with a {@link ModelFormatException} naming the file; any other throwable (index
 * errors, out-of-memory, negative array sizes, ...) fails the test with the seed and mutation.
 *
 * <p>Each seed file is copied once; each case changes a few bytes of that copy in place (or truncates
 * it), loads it through a fresh confined arena, and then restores the changed bytes.
 */
class LoaderFuzzTest {
    private static final long BASE_SEED = 20_240_611L;
    private static final int CASES_PER_SEED = 2_600;
    private static final int MAX_REPORTED = 20;

    @TempDir
    Path dir;

    /** A file to mutate: its bytes, the end of its header region, and the offsets of its header fields. */
    private record Seed(String name, byte[] bytes, long headerEnd, long[] fields, boolean gguf) {
    }

    private record Outcome(int loaded, int rejected) {
    }

    @Test
    void mutatedFilesLoadOrFailWithAFormatError() throws IOException {
        List<Seed> seeds = List.of(
                ggufSeed(SharedModels.file("stories260K.gguf")),
                ggufSeed(TinyLlamaGguf.write(dir.resolve("tiny-seed.gguf"), "llama")),
                ggufSeed(SyntheticModels.write(dir, "kquant-seed.gguf", SyntheticModels.wideGqa(), QuantRecipe.Q4_K_M, 7)),
                llama2cSeed(SharedModels.file("stories260K.bin"), 28, new long[] {0, 4, 8, 12, 16, 20, 24}),
                llama2cSeed(SharedModels.file("stories260K.v1.bin"), 256, new long[] {0, 4, 8, 12, 16, 20, 24, 28, 32, 36}));
        List<String> failures = new ArrayList<>();
        Throwable firstFailure = null;
        int loaded = 0;
        int rejected = 0;
        for (int s = 0; s < seeds.size(); s++) {
            Seed seed = seeds.get(s);
            Path work = Files.write(dir.resolve("mutant-" + seed.name()), seed.bytes());
            try (FileChannel channel = FileChannel.open(work, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                for (int i = 0; i < CASES_PER_SEED; i++) {
                    long caseSeed = BASE_SEED + 1_000_003L * s + i;
                    Random random = new Random(caseSeed);
                    StringBuilder mutation = new StringBuilder();
                    long dirtyFrom = mutate(channel, seed, random, mutation);
                    try {
                        if (load(work, seed.gguf())) {
                            loaded++;
                        } else {
                            rejected++;
                        }
                    } catch (Throwable t) {
                        if (firstFailure == null) {
                            firstFailure = t;
                        }
                        if (failures.size() < MAX_REPORTED) {
                            failures.add(seed.name() + " case seed " + caseSeed + " [" + mutation + "]: " + t);
                        }
                    }
                    restore(channel, seed, dirtyFrom);
                }
            }
        }
        if (!failures.isEmpty()) {
            AssertionError error = new AssertionError(failures.size() + " mutated files escaped ModelFormatException:\n"
                    + String.join("\n", failures));
            error.initCause(firstFailure);
            throw error;
        }
        int total = seeds.size() * CASES_PER_SEED;
        assertTrue(total >= 10_000);
        assertTrue(rejected > total / 4, "too few mutations were caught (" + rejected + " of " + total + "): the mutations are too weak");
        assertTrue(loaded > 0, "no mutated file loaded: the loaders may reject valid files");
    }

    /**
     * Loads {@code file} with every reader that applies. Returns whether it loaded; a
     * {@link ModelFormatException} naming the file counts as a clean rejection.
     */
    private static boolean load(Path file, boolean gguf) {
        try (Arena arena = Arena.ofConfined()) {
            if (gguf) {
                GgufFile g = GgufFile.open(file, arena);
                touchEverything(g);
                GgufModelReader.read(g);
            } else {
                Llama2cCheckpoint.read(file, arena);
            }
            ModelReader.read(file, arena); // format detection may pick another reader after a mutation
            return true;
        } catch (ModelFormatException e) {
            if (!e.getMessage().contains(file.toString()) || !file.equals(e.file())) {
                throw new AssertionError("message does not name the file: " + e.getMessage(), e);
            }
            return false;
        }
    }

    /** Reads every metadata value and the first and last byte of every tensor. */
    private static void touchEverything(GgufFile g) {
        for (Map.Entry<String, Object> e : g.metadata().entrySet()) {
            touch(e.getValue());
        }
        for (GgufTensorInfo info : g.tensorInfos()) {
            try {
                Tensor t = g.tensor(info.name());
                if (t.byteSize() > 0) {
                    t.data().get(ValueLayout.JAVA_BYTE, 0);
                    t.data().get(ValueLayout.JAVA_BYTE, t.byteSize() - 1);
                }
            } catch (ModelFormatException unsupportedType) {
                if (!unsupportedType.getMessage().contains("unsupported tensor type")) {
                    throw unsupportedType;
                }
            }
        }
        g.tensorTypeSummary();
    }

    private static void touch(Object value) {
        if (value instanceof List<?> list) {
            for (Object element : list) {
                touch(element);
            }
        } else if (!(value instanceof Long || value instanceof Float || value instanceof Double
                || value instanceof Boolean || value instanceof String)) {
            throw new AssertionError("metadata value of unexpected Java type " + value.getClass());
        }
    }

    // ---- mutations ----------------------------------------------------------------------------------

    private static final long[] INTERESTING = {
            0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 31, 32, 33, 63, 64, 255, 256, 0x7fff, 0xffff, 65536,
            -1, -2, Integer.MAX_VALUE, Integer.MIN_VALUE, 0xffff_ffffL, 1L << 32, 1L << 31, 1L << 40, 1L << 62,
            Long.MAX_VALUE, Long.MIN_VALUE, Long.MAX_VALUE / 24, 1 << 24, (1 << 24) + 1};

    /** Applies 1 to 3 mutations; returns the lowest offset changed (for {@link #restore}). */
    private static long mutate(FileChannel channel, Seed seed, Random random, StringBuilder what) throws IOException {
        long size = seed.bytes().length;
        long dirtyFrom = size;
        int count = 1 + random.nextInt(3);
        for (int m = 0; m < count; m++) {
            int kind = random.nextInt(10);
            if (kind < 3) { // overwrite a known header field with an extreme value
                long at = seed.fields()[random.nextInt(seed.fields().length)] + (random.nextInt(4) == 0 ? random.nextInt(8) : 0);
                dirtyFrom = Math.min(dirtyFrom, overwriteNumber(channel, seed, random, at, what));
            } else if (kind < 5) { // overwrite anywhere in the header region
                long at = (long) (random.nextDouble() * seed.headerEnd());
                dirtyFrom = Math.min(dirtyFrom, overwriteNumber(channel, seed, random, at, what));
            } else if (kind < 8) { // flip bytes, mostly in the header
                int flips = 1 + random.nextInt(8);
                for (int f = 0; f < flips; f++) {
                    long at = random.nextInt(10) < 9 ? (long) (random.nextDouble() * seed.headerEnd()) : (long) (random.nextDouble() * size);
                    byte value = random.nextBoolean() ? (byte) random.nextInt(256) : (byte) (seed.bytes()[(int) at] ^ (1 << random.nextInt(8)));
                    channel.write(ByteBuffer.wrap(new byte[] {value}), at);
                    what.append("byte ").append(at).append('=').append(value & 0xff).append("; ");
                    dirtyFrom = Math.min(dirtyFrom, at);
                }
            } else { // truncate, mostly inside the header
                long at = random.nextBoolean() ? (long) (random.nextDouble() * Math.min(size, seed.headerEnd() + 64))
                        : (long) (random.nextDouble() * size);
                channel.truncate(at);
                what.append("truncate ").append(at).append("; ");
                dirtyFrom = Math.min(dirtyFrom, at);
                break; // later writes would extend the file again
            }
        }
        return dirtyFrom;
    }

    private static long overwriteNumber(FileChannel channel, Seed seed, Random random, long at, StringBuilder what) throws IOException {
        int width = random.nextBoolean() ? 4 : 8;
        long size = seed.bytes().length;
        at = Math.max(0, Math.min(at, size - width));
        long value = random.nextInt(4) == 0 ? random.nextLong() : INTERESTING[random.nextInt(INTERESTING.length)];
        if (random.nextInt(8) == 0) {
            value = size + random.nextInt(64) - 32; // near the file size
        }
        ByteBuffer b = ByteBuffer.allocate(width).order(ByteOrder.LITTLE_ENDIAN);
        if (width == 4) {
            b.putInt((int) value);
        } else {
            b.putLong(value);
        }
        channel.write(b.flip(), at);
        what.append("int").append(width * 8).append(' ').append(at).append('=').append(value).append("; ");
        return at;
    }

    /** Writes the seed's bytes back from {@code from} and restores its length. */
    private static void restore(FileChannel channel, Seed seed, long from) throws IOException {
        byte[] bytes = seed.bytes();
        if (from < bytes.length) {
            ByteBuffer tail = ByteBuffer.wrap(bytes, (int) from, bytes.length - (int) from);
            while (tail.hasRemaining()) {
                channel.write(tail, from + tail.position() - from);
            }
        }
        if (channel.size() != bytes.length) {
            channel.truncate(bytes.length);
        }
    }

    // ---- seeds --------------------------------------------------------------------------------------

    /** A GGUF seed whose field list covers the counts, every key's length, type and array header, and every tensor entry. */
    private static Seed ggufSeed(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        List<Long> fields = new ArrayList<>(List.of(4L, 8L, 16L));
        long headerEnd;
        try (Arena arena = Arena.ofConfined()) {
            GgufFile g = GgufFile.open(file, arena);
            headerEnd = g.dataOffset();
            for (String key : g.metadata().keySet()) {
                long at = g.keyOffset(key);
                long afterKey = at + 8 + key.getBytes(StandardCharsets.UTF_8).length;
                fields.addAll(List.of(at, afterKey, afterKey + 4, afterKey + 8));
            }
            for (GgufTensorInfo t : g.tensorInfos()) {
                long afterName = t.infoOffset() + 8 + t.name().getBytes(StandardCharsets.UTF_8).length;
                int rank = t.shape().rank();
                fields.addAll(List.of(t.infoOffset(), afterName, afterName + 4, afterName + 4 + 8L * rank,
                        afterName + 8 + 8L * rank));
            }
        }
        return new Seed(file.getFileName().toString(), bytes, headerEnd, fields.stream().mapToLong(Long::longValue).toArray(), true);
    }

    private static Seed llama2cSeed(Path file, int headerEnd, long[] fields) throws IOException {
        return new Seed(file.getFileName().toString(), Files.readAllBytes(file), headerEnd, fields, false);
    }
}
