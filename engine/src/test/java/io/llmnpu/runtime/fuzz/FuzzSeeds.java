package io.llmnpu.runtime.fuzz;

import io.llmnpu.runtime.model.gguf.TinyLlamaGguf;
import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.CalibrationFile;
import io.llmnpu.runtime.quant.LinearLayer;
import io.llmnpu.runtime.quant.LinearSite;
import io.llmnpu.runtime.quant.SiteCalibration;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Writes the seed inputs of the fuzz targets: small valid files of each format, from which the
 * fuzzer mutates its way into the parsers (a valid file reaches code that random bytes never do).
 * The binary seeds (a tiny GGUF model, llama2.c checkpoints and a tokenizer) are not kept in the
 * repository: each target writes them before it runs, with {@link #inputs}, into its inputs folder on
 * the test class path, where Jazzer reads them beside the findings kept in
 * {@code src/test/resources/io/llmnpu/runtime/fuzz/*Inputs/}. The text seeds are kept there; run
 * {@link #main} once from the module folder with the test class path to write them again.
 */
public final class FuzzSeeds {
    private static final Path INPUTS = Path.of("src/test/resources/io/llmnpu/runtime/fuzz");

    private FuzzSeeds() {
    }

    public static void main(String[] args) throws IOException {
        Path texts = dir("TokenizerFuzzTest", "decodingTheEncodingGivesTheTextBack");
        String[] samples = {"Once upon a time, there was a little girl named Lily.", "naïve Größe 日本語 😀 👨‍👩‍👧",
            "  two  spaces\tand\ttabs\n\nnew lines\r\n", "I'm sure we've seen <s> and </s> and <|endoftext|>", "123 3.14 $%^&*"};
        for (int i = 0; i < samples.length; i++) {
            Files.writeString(texts.resolve("text-" + i), samples[i] + (char) ('0' + i % 4), StandardCharsets.UTF_8);
        }

        Path calibrations = dir("CalibrationFileFuzzTest", "anyBytesReadOrAreRefusedWithAnIoError");
        CalibrationFile.write(calibration(), calibrations.resolve("tiny.calib.json"));
    }

    /**
     * The folder Jazzer reads {@code target}'s inputs for {@code method} from: beside the compiled test
     * class, {@code <Class>Inputs/<method>}, made if missing. A seed written here before the target runs
     * is replayed by plain test runs and seeds the fuzzer's corpus.
     */
    static Path inputs(Class<?> target, String method) throws IOException {
        URL classFile = target.getResource(target.getSimpleName() + ".class");
        if (classFile == null || !"file".equals(classFile.getProtocol())) {
            throw new IOException("the fuzz target " + target.getName() + " is not in a class folder: " + classFile);
        }
        try {
            return Files.createDirectories(Path.of(classFile.toURI()).resolveSibling(target.getSimpleName() + "Inputs")
                    .resolve(method));
        } catch (URISyntaxException e) {
            throw new IOException(e);
        }
    }

    /** A tiny complete llama model with mixed tensor types (see {@link TinyLlamaGguf}). */
    static void writeGgufSeeds(Path folder) throws IOException {
        TinyLlamaGguf.write(folder.resolve("tiny-llama.gguf"), "llama");
    }

    /** Tiny llama2.c checkpoints: legacy with a shared and an own classifier, and version 1. */
    static void writeCheckpointSeeds(Path folder) throws IOException {
        Files.write(folder.resolve("tiny-legacy.bin"), llama2cCheckpoint(false, true));
        Files.write(folder.resolve("tiny-legacy-unshared.bin"), llama2cCheckpoint(false, false));
        Files.write(folder.resolve("tiny-v1.bin"), llama2cCheckpoint(true, true));
    }

    /** A small llama2.c tokenizer file, prefixed by its vocabulary size (see the target). */
    static void writeTokenizerSeeds(Path folder) throws IOException {
        Files.write(folder.resolve("tiny-tokenizer"), llama2cTokenizer());
    }

    private static Path dir(String testClass, String method) throws IOException {
        return Files.createDirectories(INPUTS.resolve(testClass + "Inputs").resolve(method));
    }

    /** dim 4, hidden 4, 1 layer, 2 heads, 2 KV heads, vocab 3, seq_len 2: a few hundred bytes. */
    private static byte[] llama2cCheckpoint(boolean v1, boolean sharedClassifier) {
        int dim = 4;
        int hidden = 4;
        int layers = 1;
        int heads = 2;
        int kvHeads = 2;
        int vocab = 3;
        int seqLen = 2;
        int headSize = dim / heads;
        int kvDim = kvHeads * headSize;
        long floats = layers * (2L * dim + 2L * dim * dim + 2L * kvDim * dim + 3L * hidden * dim) + dim
                + (long) vocab * dim * (sharedClassifier ? 1 : 2) + (v1 ? 0 : (long) seqLen * headSize);
        int header = v1 ? 256 : 28;
        ByteBuffer b = ByteBuffer.allocate(header + (int) floats * 4).order(ByteOrder.LITTLE_ENDIAN);
        if (v1) {
            b.putInt(0x616b3432).putInt(1);
        }
        b.putInt(dim).putInt(hidden).putInt(layers).putInt(heads).putInt(kvHeads)
                .putInt(v1 || sharedClassifier ? vocab : -vocab).putInt(seqLen);
        if (v1) {
            b.put((byte) (sharedClassifier ? 1 : 0));
        }
        b.position(header);
        for (int i = 0; i < floats; i++) {
            b.putFloat((i % 7) * 0.125f - 0.25f);
        }
        return b.array();
    }

    /** Vocabulary-size prefix (3 + 5 = 8 tokens, little-endian), then the file: max length and pieces. */
    private static byte[] llama2cTokenizer() {
        String[] pieces = {"<unk>", "\n<s>\n", "\n</s>\n", "<0x41>", " ", "a", " a", "é"};
        ByteBuffer b = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) (pieces.length - 3)).put((byte) 0);
        b.putInt(8);
        for (int i = 0; i < pieces.length; i++) {
            byte[] utf8 = pieces[i].getBytes(StandardCharsets.UTF_8);
            b.putFloat(-i).putInt(utf8.length).put(utf8);
        }
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }

    private static CalibrationData calibration() {
        List<CalibrationData.Layer> layers = new ArrayList<>();
        for (int l = 0; l < 2; l++) {
            Map<LinearSite, SiteCalibration> sites = new EnumMap<>(LinearSite.class);
            for (LinearSite s : LinearSite.values()) {
                sites.put(s, new SiteCalibration(4096, 6.5f + l, 2.25f, 5, new int[] {3},
                        List.of(new SiteCalibration.ChannelOutliers(3, 4, 6.5f), new SiteCalibration.ChannelOutliers(1, 1, 2.5f))));
            }
            Map<LinearLayer, Float> outputs = new EnumMap<>(LinearLayer.class);
            for (LinearLayer ll : LinearLayer.values()) {
                outputs.put(ll, 3.0f + ll.ordinal());
            }
            layers.add(new CalibrationData.Layer(sites, outputs));
        }
        return new CalibrationData("tiny.gguf", 12345, 32, "tiny.txt", 2, 256, 99.9, layers);
    }
}
