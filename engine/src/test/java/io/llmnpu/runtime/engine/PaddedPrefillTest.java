package io.llmnpu.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.model.SharedModels;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Padding rows of a chunk carry negative positions and must never reach the KV cache: after a padded
 * prefill, every cache row at or beyond the prompt length is still all zero bits (caches start
 * zeroed), while every filled row holds data. Covers a chunk size that does not divide the prompt,
 * a prompt shorter than one chunk (power-of-two bucket), and a second padded feed that continues
 * after the first.
 */
class PaddedPrefillTest {

    @ParameterizedTest(name = "chunk {0}: feeds {1}")
    @CsvSource({
        "32, 45",       // 32 + 13 real rows, 19 padding rows
        "64, 5",        // one 16-row bucket, 11 padding rows
        "48, 100",      // 48 + 48 + 4 real rows, 44 padding rows
        "32, 45;10",    // then 10 more from position 45 as a 16-row bucket
        "64, 70;3;33",  // continued feeds with different paddings
    })
    void paddingRowsLeaveTheCacheUntouched(int chunk, String feeds) {
        List<Integer> sizes = Arrays.stream(feeds.split(";")).map(String::trim).map(Integer::parseInt).toList();
        Random random = new Random(chunk * 1000L + sizes.hashCode());
        try (LlmRuntime llm = LlmRuntime.open(RuntimeOptions.of(SharedModels.file("stories260K.gguf")).withThreads(2)
                .withChunkSize(chunk).withContextLength(256));
             InferenceSession session = llm.openSession()) {
            int layers = llm.model().config().layers();
            assertRowsZeroFrom(session.cache(), layers, 0, "a fresh cache");
            int filled = 0;
            for (int size : sizes) {
                int[] tokens = new int[size];
                for (int i = 0; i < size; i++) {
                    tokens[i] = 3 + random.nextInt(500);
                }
                session.feed(tokens);
                filled += size;
                assertEquals(filled, session.position());
                assertRowsZeroFrom(session.cache(), layers, filled, "after feeding " + sizes.subList(0, sizes.indexOf(size) + 1));
                assertRowsFilledBelow(session.cache(), layers, filled);
            }
        }
    }

    private static void assertRowsZeroFrom(KvCache cache, int layers, int from, String when) {
        for (int l = 0; l < layers; l++) {
            for (Tensor t : List.of(cache.keys(l), cache.values(l))) {
                long rowBytes = (long) t.shape().dim(1) * Float.BYTES;
                for (int r = from; r < t.shape().dim(0); r++) {
                    for (long b = 0; b < rowBytes; b += Integer.BYTES) {
                        int bits = t.data().get(ValueLayout.JAVA_INT_UNALIGNED, r * rowBytes + b);
                        if (bits != 0) {
                            throw new AssertionError(when + ": " + t.name() + " row " + r + " (not a prompt position) holds "
                                    + Float.intBitsToFloat(bits) + " at byte " + b);
                        }
                    }
                }
            }
        }
    }

    private static void assertRowsFilledBelow(KvCache cache, int layers, int filled) {
        for (int l = 0; l < layers; l++) {
            for (Tensor t : List.of(cache.keys(l), cache.values(l))) {
                int width = t.shape().dim(1);
                for (int r = 0; r < filled; r++) {
                    boolean any = false;
                    for (int c = 0; c < width && !any; c++) {
                        any = t.getFloat((long) r * width + c) != 0f;
                    }
                    assertTrue(any, t.name() + " row " + r + " should hold the prompt's keys/values");
                }
            }
        }
    }
}
