package io.llmnpu.runtime.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.chat.Message;
import io.llmnpu.runtime.chat.PlainChatFormat;
import io.llmnpu.runtime.model.SharedModels;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Chat through the API on stories260K: KV kept between turns, and concurrent generations kept apart. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConversationTest {
    private LlmRuntime llm;

    @BeforeAll
    void open() {
        llm = LlmRuntime.open(RuntimeOptions.of(SharedModels.file("stories260K.gguf")).withThreads(2).withContextLength(512));
    }

    @AfterAll
    void close() {
        if (llm != null) {
            llm.close();
        }
    }

    @Test
    void secondTurnPrefillsOnlyItsNewTokens() {
        assertTrue(llm.chatTemplate() instanceof PlainChatFormat, "stories260K has no template: the plain format");
        List<Message> messages = new ArrayList<>(List.of(Message.system("Tell a story."),
                Message.user("Once upon a time there was a cat.")));
        try (Conversation chat = llm.openConversation()) {
            GenerationResult first = chat.chat(messages, GenerationOptions.greedy(24), null, null);
            assertEquals(first.promptTokens(), first.prefilledTokens(), "nothing is cached before the first turn");
            assertFalse(first.text().isBlank());

            messages.add(Message.assistant(first.text()));
            messages.add(Message.user("What did the cat do next?"));
            int[] prompt2 = llm.chatPrompt(messages);
            int shared = chat.sharedPrefix(prompt2);
            GenerationResult second = chat.chat(messages, GenerationOptions.greedy(24), null, null);

            assertEquals(prompt2.length, second.promptTokens());
            assertEquals(prompt2.length - shared, second.prefilledTokens(), "only the tokens after the cached prefix run");
            assertTrue(shared >= first.promptTokens(), "the first turn's prompt stays cached (shared " + shared + ")");
            int newTurn = prompt2.length - first.promptTokens() - first.tokens().length;
            assertTrue(second.prefilledTokens() <= newTurn + 2,
                    "prefill " + second.prefilledTokens() + " covers about the new turn (" + newTurn + " tokens)");

            // Reusing the cache changes nothing: a fresh slot gives the same greedy answer.
            GenerationResult fresh = llm.chat(messages, GenerationOptions.greedy(24), null, null);
            assertEquals(prompt2.length, fresh.prefilledTokens());
            assertArrayEquals(fresh.tokens(), second.tokens());
            assertEquals(fresh.text(), second.text());
        }
    }

    @Test
    void repeatingAPromptRunsOnlyItsLastToken() {
        try (Conversation c = llm.openConversation()) {
            GenerationResult a = c.complete("Once upon a time", GenerationOptions.greedy(8), null, null);
            GenerationResult b = c.complete("Once upon a time", GenerationOptions.greedy(8), null, null);
            assertEquals(1, b.prefilledTokens());
            assertArrayEquals(a.tokens(), b.tokens());
        }
    }

    @Test
    void stopSequencesEndTheTextBeforeThem() {
        List<String> streamed = new ArrayList<>();
        GenerationOptions options = new GenerationOptions(64, io.llmnpu.runtime.sampling.SamplerConfig.greedy(), true,
                List.of("Lily"), 0, 0);
        try (Conversation c = llm.openConversation()) {
            GenerationResult r = c.complete("Once upon a time", options, (id, text) -> streamed.add(text), null);
            assertEquals(GenerationResult.StopReason.STOP_SEQUENCE, r.stopReason());
            assertEquals(", there was a little girl named ", r.text());
            assertEquals(r.text(), String.join("", streamed));
        }
    }

    @Test
    void concurrentGenerationsInterleaveWithoutSeeingEachOther() throws Exception {
        String[] prompts = {"Once upon a time", "The dog", "Lily and Tom went", "A big red ball"};
        String[] alone = new String[prompts.length];
        for (int i = 0; i < prompts.length; i++) {
            alone[i] = llm.generate(GenerationRequest.greedy(prompts[i], 40), null, null).text();
        }
        ExecutorService pool = Executors.newFixedThreadPool(prompts.length);
        try {
            List<Future<String>> together = new ArrayList<>();
            for (String p : prompts) {
                together.add(pool.submit(() -> llm.generate(GenerationRequest.greedy(p, 40), null, null).text()));
            }
            for (int i = 0; i < prompts.length; i++) {
                assertEquals(alone[i], together.get(i).get(), "prompt " + i);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void cancellingStopsAtOnce() {
        CancellationToken cancel = new CancellationToken();
        GenerationResult r = llm.generate(GenerationRequest.greedy("Once upon a time", 200), (id, text) -> cancel.cancel(),
                cancel);
        assertEquals(GenerationResult.StopReason.CANCELLED, r.stopReason());
        assertEquals(1, r.tokens().length);
    }

    @Test
    void tooLongPromptIsAClearError() {
        String longPrompt = "word ".repeat(600);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> llm.chat(List.of(Message.user(longPrompt)), GenerationOptions.greedy(4), null, null));
        assertTrue(e.getMessage().contains("context holds 512"), e.getMessage());
    }
}
