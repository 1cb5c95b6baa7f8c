package io.llmnpu.runtime.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.engine.InferenceSession;
import io.llmnpu.runtime.model.SharedModels;
import io.llmnpu.runtime.sampling.SamplerConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The thread-safety rule of {@link LlmRuntime}: generations, sessions and conversations on several
 * threads at once give exactly the tokens each gives alone, and {@code close()} from another thread
 * cancels what runs.
 *
 * <p>Chunks of 4 tokens make every prompt several prefill steps, so concurrent prompts interleave
 * chunk by chunk as well as token by token.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConcurrentUseTest {
    private static final List<GenerationRequest> GENERATIONS = List.of(
            new GenerationRequest("Once upon a time", 40, SamplerConfig.greedy(), false),
            new GenerationRequest("The little dog ran to the park and", 40, SamplerConfig.standard(0.9f, 40, 0.95f, 0.0f, 7), false),
            new GenerationRequest("", 40, SamplerConfig.llama2c(1.0f, 0.9f, 133742), false),
            new GenerationRequest("Tom and Sue were friends. One day", 40, SamplerConfig.standard(1.0f, 0, 1.0f, 0.05f, 99), false));
    private static final List<String> SESSION_PROMPTS = List.of(
            "Lily saw a big red ball", "A cat sat on a mat. It was", "Once upon a time there was a boy");
    private static final int SESSION_TOKENS = 30;
    /** Two turns each: the second continues the first's text, so it reuses the conversation's KV slot. */
    private static final List<String> CONVERSATION_PROMPTS = List.of("Max had a red kite", "The sun was hot and");

    private RuntimeOptions options;
    private final List<int[]> generated = new ArrayList<>();
    private final List<int[]> sessionGreedy = new ArrayList<>();
    private final List<int[]> conversationTurns = new ArrayList<>();

    @BeforeAll
    void runEachAlone() {
        options = RuntimeOptions.of(SharedModels.file("stories260K.gguf")).withThreads(2).withChunkSize(4)
                .withContextLength(128);
        try (LlmRuntime llm = LlmRuntime.open(options)) {
            for (GenerationRequest r : GENERATIONS) {
                generated.add(llm.generate(r, null, new CancellationToken()).tokens());
            }
            for (String p : SESSION_PROMPTS) {
                sessionGreedy.add(greedyBySession(llm, p));
            }
            for (String p : CONVERSATION_PROMPTS) {
                conversationTurns.add(twoTurns(llm, p));
            }
        }
        generated.forEach(t -> assertEquals(40, t.length));
    }

    /** Greedy decoding driven through a session, the way a caller scoring or steering tokens does it. */
    private static int[] greedyBySession(LlmRuntime llm, String prompt) {
        int[] out = new int[SESSION_TOKENS];
        try (InferenceSession session = llm.openSession()) {
            float[] logits = session.feed(llm.tokenizer().encode(prompt, true));
            for (int i = 0; i < out.length; i++) {
                out[i] = argmax(logits);
                logits = session.feed(out[i]);
            }
        }
        return out;
    }

    /** Two greedy turns in one conversation, the second after the first's prompt and answer; both turns' tokens. */
    private static int[] twoTurns(LlmRuntime llm, String prompt) {
        try (Conversation c = llm.openConversation()) {
            GenerationResult first = c.complete(prompt, GenerationOptions.greedy(20), null, new CancellationToken());
            GenerationResult second = c.complete(prompt + first.text() + " Then", GenerationOptions.greedy(20), null,
                    new CancellationToken());
            assertTrue(second.cachedTokens() > 0, "the second turn reuses the conversation's cache");
            int[] both = Arrays.copyOf(first.tokens(), first.tokens().length + second.tokens().length);
            System.arraycopy(second.tokens(), 0, both, first.tokens().length, second.tokens().length);
            return both;
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    @RepeatedTest(3)
    void generationsSessionsAndConversationsOnManyThreadsGiveTheTokensOfSingleThreadedRuns() throws Exception {
        int threads = GENERATIONS.size() + SESSION_PROMPTS.size() + CONVERSATION_PROMPTS.size();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        try (LlmRuntime llm = LlmRuntime.open(options)) {
            List<Future<int[]>> gens = new ArrayList<>();
            for (GenerationRequest r : GENERATIONS) {
                gens.add(pool.submit(startingTogether(start, () -> llm.generate(r, null, new CancellationToken()).tokens())));
            }
            List<Future<int[]>> sessions = new ArrayList<>();
            for (String p : SESSION_PROMPTS) {
                sessions.add(pool.submit(startingTogether(start, () -> greedyBySession(llm, p))));
            }
            List<Future<int[]>> conversations = new ArrayList<>();
            for (String p : CONVERSATION_PROMPTS) {
                conversations.add(pool.submit(startingTogether(start, () -> twoTurns(llm, p))));
            }
            start.countDown();
            for (int i = 0; i < gens.size(); i++) {
                assertArrayEquals(generated.get(i), gens.get(i).get(60, TimeUnit.SECONDS), "generation " + i);
            }
            for (int i = 0; i < sessions.size(); i++) {
                assertArrayEquals(sessionGreedy.get(i), sessions.get(i).get(60, TimeUnit.SECONDS), "session " + i);
            }
            for (int i = 0; i < conversations.size(); i++) {
                assertArrayEquals(conversationTurns.get(i), conversations.get(i).get(60, TimeUnit.SECONDS),
                        "conversation " + i);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void closeFromAnotherThreadCancelsRunningGenerationsAndEndsOpenSessions() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(GENERATIONS.size() + 1);
        CountDownLatch everyoneStarted = new CountDownLatch(GENERATIONS.size() + 1);
        CountDownLatch sessionMayGoOn = new CountDownLatch(1);
        try {
            LlmRuntime llm = LlmRuntime.open(options);
            List<Future<GenerationResult>> gens = new ArrayList<>();
            for (GenerationRequest r : GENERATIONS) {
                // Up to the whole context, slowed by the listener: without cancellation these run for seconds.
                GenerationRequest longer = new GenerationRequest(r.prompt(), 10_000, r.sampler(), false);
                gens.add(pool.submit(() -> llm.generate(longer, (id, text) -> {
                    if (everyoneStarted.getCount() > 0) {
                        everyoneStarted.countDown();
                    }
                    sleep(20);
                }, new CancellationToken())));
            }
            Future<Throwable> session = pool.submit(() -> {
                try (InferenceSession s = llm.openSession()) {
                    s.feed(llm.tokenizer().encode("Lily saw", true));
                    everyoneStarted.countDown();
                    sessionMayGoOn.await();
                    return assertThrows(IllegalStateException.class, () -> s.feed(1));
                }
            });
            assertTrue(everyoneStarted.await(60, TimeUnit.SECONDS), "the generations did not start");
            long t0 = System.nanoTime();
            llm.close();
            long closeMillis = (System.nanoTime() - t0) / 1_000_000;
            sessionMayGoOn.countDown();
            for (int i = 0; i < gens.size(); i++) {
                GenerationResult r = gens.get(i).get(30, TimeUnit.SECONDS);
                assertEquals(GenerationResult.StopReason.CANCELLED, r.stopReason(), "generation " + i);
                int[] expected = generated.get(i);
                int n = Math.min(r.tokens().length, expected.length);
                assertArrayEquals(Arrays.copyOf(expected, n), Arrays.copyOf(r.tokens(), n),
                        "generation " + i + " before the close");
                assertTrue(r.tokens().length < 100, "generation " + i + " went on for " + r.tokens().length + " tokens");
            }
            assertTrue(session.get(30, TimeUnit.SECONDS).getMessage().contains("closed"),
                    "a session used after close says why");
            assertTrue(closeMillis < 5_000, "close() took " + closeMillis + " ms: it should not wait for generations to end");
            assertThrows(IllegalStateException.class, () -> llm.generate(GENERATIONS.getFirst(), null, new CancellationToken()));
            assertThrows(IllegalStateException.class, llm::openSession);
            llm.close(); // a second close is harmless
        } finally {
            pool.shutdownNow();
        }
    }

    private static <T> Callable<T> startingTogether(CountDownLatch start, Callable<T> work) {
        return () -> {
            start.await();
            return work.call();
        };
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
