package io.llmnpu.runtime.model.load;

import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.LayerWeights;
import io.llmnpu.runtime.model.ModelFormat;
import io.llmnpu.runtime.model.ModelFormatException;
import io.llmnpu.runtime.model.ModelWeights;
import io.llmnpu.runtime.model.ParsedModel;
import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.model.gguf.GgufFile;
import io.llmnpu.runtime.model.gguf.GgufModelReader;
import io.llmnpu.runtime.model.gguf.GgufTensorInfo;
import io.llmnpu.runtime.model.llama2c.Llama2cCheckpoint;
import io.llmnpu.runtime.tokenizer.Llama2cTokenizerReader;
import io.llmnpu.runtime.tokenizer.Tokenizer;
import io.llmnpu.runtime.tokenizer.Tokenizers;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Collections;

/**
 * Opens a model file of any supported format together with its tokenizer. {@link #warmPageCache} then reads
 * the weights with progress, so that the first prompt does not stall on the disk.
 */
public final class ModelLoader {
    private ModelLoader() {
    }

    /**
     * @param file          GGUF file or llama2.c checkpoint
     * @param tokenizerFile tokenizer for a llama2.c checkpoint; null to look next to it
     *                      ({@code tok<vocab>.bin}, then {@code tokenizer.bin})
     * @throws ModelFormatException if a file is missing, damaged or unsupported
     */
    public static LoadedModel load(Path file, Path tokenizerFile) {
        Arena arena = Arena.ofShared();
        try {
            LoadedModel model = switch (ModelFormat.detect(file)) {
                case GGUF -> loadGguf(file, tokenizerFile, arena);
                case LLAMA2C_V1, LLAMA2C_LEGACY -> loadLlama2c(file, tokenizerFile, arena);
            };
            if (model.tokenizer().vocabSize() != model.config().vocabSize()) {
                throw new ModelFormatException(file, -1, "the tokenizer has " + model.tokenizer().vocabSize()
                        + " tokens but the model's vocabulary has " + model.config().vocabSize());
            }
            return model;
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * As {@link #load(Path, Path)}, then reads the weights into the page cache with progress: for callers
     * about to run the model.
     */
    public static LoadedModel load(Path file, Path tokenizerFile, ProgressListener progress) {
        LoadedModel model = load(file, tokenizerFile);
        try {
            warmPageCache(model, progress);
            return model;
        } catch (RuntimeException | Error e) {
            model.close();
            throw e;
        }
    }

    private static LoadedModel loadGguf(Path file, Path tokenizerFile, Arena arena) {
        if (tokenizerFile != null) {
            throw new ModelFormatException(file, -1, "a GGUF model carries its own tokenizer; drop the tokenizer option");
        }
        GgufFile gguf = GgufFile.open(file, arena);
        ParsedModel parsed = GgufModelReader.read(gguf);
        Tokenizer tokenizer = Tokenizers.fromGguf(gguf.metadata(), file);
        List<Tensor> tensors = new ArrayList<>();
        for (GgufTensorInfo info : gguf.tensorInfos()) {
            tensors.add(gguf.tensor(info.name()));
        }
        return new LoadedModel(file, "GGUF v" + gguf.version(), parsed.config(), parsed.weights(), tensors,
                gguf.metadata(), tokenizer, arena);
    }

    private static LoadedModel loadLlama2c(Path file, Path tokenizerFile, Arena arena) {
        Llama2cCheckpoint checkpoint = Llama2cCheckpoint.read(file, arena);
        int vocab = checkpoint.config().vocabSize();
        Path tokPath = tokenizerFile != null ? tokenizerFile : findTokenizer(file, vocab);
        Tokenizer tokenizer;
        try {
            tokenizer = Llama2cTokenizerReader.read(tokPath, vocab);
        } catch (IOException e) {
            throw new ModelFormatException(tokPath, -1, "cannot read the tokenizer: " + e.getMessage(), e);
        }
        return new LoadedModel(file, checkpoint.version() == 0 ? "llama2.c legacy" : "llama2.c v" + checkpoint.version(),
                checkpoint.config(), checkpoint.weights(), distinctTensors(checkpoint.weights()), Map.of(), tokenizer, arena);
    }

    /**
     * Only the tokenizer of a model file: for a GGUF file from its metadata alone (so vocabulary-only
     * files, and models whose tensors this build cannot run, work too); for a llama2.c checkpoint from
     * its tokenizer file.
     *
     * @throws ModelFormatException if a file is missing, damaged or unsupported
     */
    public static Tokenizer loadTokenizer(Path file, Path tokenizerFile) {
        if (ModelFormat.detect(file) != ModelFormat.GGUF) {
            try (LoadedModel model = load(file, tokenizerFile)) {
                return model.tokenizer();
            }
        }
        if (tokenizerFile != null) {
            throw new ModelFormatException(file, -1, "a GGUF model carries its own tokenizer; drop the tokenizer option");
        }
        try (Arena arena = Arena.ofConfined()) {
            return Tokenizers.fromGguf(GgufFile.open(file, arena).metadata(), file);
        }
    }

    /** llama2.c keeps tokenizers beside checkpoints: {@code tok512.bin} for a 512-token vocabulary, else {@code tokenizer.bin}. */
    private static Path findTokenizer(Path model, int vocabSize) {
        Path dir = model.toAbsolutePath().getParent();
        for (String name : List.of("tok" + vocabSize + ".bin", "tokenizer.bin")) {
            Path candidate = dir.resolve(name);
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new ModelFormatException(model, -1, "a llama2.c checkpoint needs its tokenizer: found neither tok"
                + vocabSize + ".bin nor tokenizer.bin next to it; pass one with --tokenizer");
    }

    private static List<Tensor> distinctTensors(ModelWeights w) {
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Tensor> all = new ArrayList<>();
        List<Tensor> ordered = new ArrayList<>();
        ordered.add(w.tokenEmbedding());
        for (LayerWeights l : w.layers()) {
            ordered.addAll(l.tensors().values());
        }
        ordered.add(w.finalNorm());
        ordered.add(w.output());
        for (Tensor t : ordered) {
            if (seen.add(t)) {
                all.add(t);
            }
        }
        return all;
    }

    /**
     * Reads every weight once, reporting bytes done, so the time the disk takes shows as load progress,
     * and leaves the bytes in the page cache, not in this process: each tensor's pages are mapped in and
     * given back at once. Backends that copy weights into their own layouts (the CPU backends) then map
     * each tensor only while they copy it; mapping the whole file first had put it beside the copies at
     * the peak (a 395 MB Qwen2-0.5B file: 401 MiB of file pages on top of the copies made so far).
     * Backends that read weights in place map them again on first use, from the cache. The token
     * embedding table is left out unless it is also the LM head: it is read a row per token, so only
     * the rows prompts use need to be read at all.
     */
    public static void warmPageCache(LoadedModel model, ProgressListener progress) {
        ModelWeights w = model.weights();
        MemorySegment lookupOnly = sameMemory(w.output(), w.tokenEmbedding()) ? null : w.tokenEmbedding().data();
        long total = model.weightBytes();
        long done = 0;
        String stage = "loading " + model.source().getFileName();
        progress.progress(stage, 0, total);
        for (Tensor t : model.tensors()) {
            if (lookupOnly == null || !sameMemory(t.data(), lookupOnly)) {
                t.data().load();
                t.data().unload();
            }
            done += t.byteSize();
            progress.progress(stage, done, total);
        }
    }

    private static boolean sameMemory(Tensor a, Tensor b) {
        return sameMemory(a.data(), b.data());
    }

    /** Two views of the same bytes (a file's tensor list and the model's weights are separate objects). */
    private static boolean sameMemory(MemorySegment a, MemorySegment b) {
        return a.address() == b.address() && a.byteSize() == b.byteSize();
    }
}
