package io.llmnpu.runtime.model.load;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.tensor.ResidentMemory;
import io.llmnpu.runtime.model.ModelWeights;
import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.quant.QuantRecipe;
import io.llmnpu.runtime.synth.ModelShape;
import io.llmnpu.runtime.synth.SyntheticModels;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading pages a model's weights in, except a token embedding table that is not also the LM head: it
 * is read a row per token, so its untouched rows must stay out of the resident set.
 */
class PageInResidencyTest {

    /** 8192 tokens of 128 F32 values: a 4 MiB table, far more than the pages a neighbour's fault brings along. */
    private static final int VOCAB = 8192;
    /** What the kernel may map around a fault in a neighbouring tensor (fault-around), both sides. */
    private static final long SLACK = 256 << 10;

    @TempDir
    Path dir;

    @Test
    void aLookupOnlyEmbeddingStaysOutWhileEveryOtherWeightIsPagedIn() {
        try (LoadedModel model = load(false)) {
            ModelWeights w = model.weights();
            long embedding = resident(w.tokenEmbedding().data());
            assertTrue(embedding <= SLACK, embedding + " bytes of the " + w.tokenEmbedding().byteSize()
                    + "-byte embedding table were paged in");
            long output = resident(w.output().data());
            assertTrue(output >= w.output().byteSize(), "only " + output + " bytes of the LM head were paged in");
            long wq = resident(w.layers().getFirst().wq().data());
            assertTrue(wq >= w.layers().getFirst().wq().byteSize(), "only " + wq + " bytes of a layer weight were paged in");
        }
    }

    @Test
    void aTiedEmbeddingIsTheLmHeadAndIsPagedIn() {
        try (LoadedModel model = load(true)) {
            ModelWeights w = model.weights();
            long embedding = resident(w.tokenEmbedding().data());
            assertTrue(embedding >= w.tokenEmbedding().byteSize(), "only " + embedding + " bytes of the tied table were paged in");
        }
    }

    private LoadedModel load(boolean tied) {
        ModelShape shape = new ModelShape("wide-vocab", "llama", 128, 256, 2, 8, 2, VOCAB, 256, 10000f, 1e-5f, tied);
        Path file = SyntheticModels.write(dir, "m.gguf", shape, QuantRecipe.parse("f32"), 5);
        LoadedModel model = ModelLoader.load(file, null);
        ModelLoader.pageIn(model, ProgressListener.none());
        return model;
    }

    private static long resident(java.lang.foreign.MemorySegment segment) {
        OptionalLong bytes = ResidentMemory.bytes(segment);
        Assumptions.assumeTrue(bytes.isPresent(), "this platform does not report resident pages");
        return bytes.getAsLong();
    }
}
