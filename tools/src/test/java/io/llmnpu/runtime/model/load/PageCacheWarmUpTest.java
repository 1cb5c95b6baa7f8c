package io.llmnpu.runtime.model.load;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.tensor.ResidentMemory;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.ModelWeights;
import io.llmnpu.runtime.quant.QuantRecipe;
import io.llmnpu.runtime.synth.ModelShape;
import io.llmnpu.runtime.synth.SyntheticModels;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading reads every weight with progress but leaves none of them mapped into the process: backends
 * that copy weights must not find the whole file resident beside their copies. A token embedding table
 * that is not also the LM head is not read at all (it is read a row per token). The weights read the same
 * afterwards.
 */
class PageCacheWarmUpTest {

    /** 8192 tokens of 128 F32 values: a 4 MiB table, far more than the pages a neighbour's fault brings along. */
    private static final int VOCAB = 8192;
    /** What the kernel may map around a fault in a neighbouring tensor (fault-around), both sides. */
    private static final long SLACK = 256 << 10;

    @TempDir
    Path dir;

    @Test
    void everyWeightIsReadWithProgressAndNoneStaysInTheProcess() {
        for (boolean tied : new boolean[] {false, true}) {
            Path file = SyntheticModels.write(dir, "m-" + tied + ".gguf",
                    new ModelShape("wide-vocab", "llama", 128, 256, 2, 8, 2, VOCAB, 256, 10000f, 1e-5f, tied),
                    QuantRecipe.parse("f32"), 5);
            long[] expected;
            try (LoadedModel model = ModelLoader.load(file, null)) {
                expected = checksums(model);
                model.tensors().forEach(t -> t.data().unload());
            }
            try (LoadedModel model = ModelLoader.load(file, null)) {
                AtomicLong lastDone = new AtomicLong(-1);
                ModelLoader.warmPageCache(model, (stage, done, total) -> lastDone.set(done));
                assertEquals(model.weightBytes(), lastDone.get(), "progress ends at every weight byte");
                ModelWeights w = model.weights();
                for (Tensor t : List.of(w.tokenEmbedding(), w.output(), w.layers().getFirst().wq())) {
                    long resident = resident(t.data());
                    assertTrue(resident <= SLACK, resident + " bytes of " + t.name() + " (" + t.byteSize()
                            + " bytes) stayed in the process, tied " + tied);
                }
                assertArrayEquals(expected, checksums(model), "the weights read differently after the warm-up");
            }
        }
    }

    private static long[] checksums(LoadedModel model) {
        return model.tensors().stream().mapToLong(t -> {
            long h = 0;
            for (long i = 0; i + 8 <= t.byteSize(); i += 8) {
                h = h * 31 + t.data().get(ValueLayout.JAVA_LONG_UNALIGNED, i);
            }
            return h;
        }).toArray();
    }

    private static long resident(java.lang.foreign.MemorySegment segment) {
        OptionalLong bytes = ResidentMemory.bytes(segment);
        Assumptions.assumeTrue(bytes.isPresent(), "this platform does not report resident pages");
        return bytes.getAsLong();
    }
}
