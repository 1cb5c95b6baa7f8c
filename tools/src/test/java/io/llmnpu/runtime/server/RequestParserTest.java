package io.llmnpu.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.chat.Message;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RequestParserTest {

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void chatWithEveryField() {
        CompletionRequest r = RequestParser.parseChat(b("""
                {"model": "m", "messages": [{"role": "developer", "content": "Be kind."},
                  {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]}],
                 "stream": true, "stream_options": {"include_usage": true}, "temperature": 0.5, "top_p": 0.9,
                 "max_completion_tokens": 12, "stop": ["\\n", "END"], "seed": 7, "presence_penalty": 0.5,
                 "frequency_penalty": -1, "user": "ignored", "n": 1}"""), 100);
        assertTrue(r.isChat());
        assertEquals(List.of(Message.system("Be kind."), Message.user("Hi there")), r.messages());
        assertTrue(r.stream());
        assertTrue(r.includeUsage());
        SamplingParams p = r.sampling();
        assertEquals(0.5f, p.temperature());
        assertEquals(0.9f, p.topP());
        assertEquals(12, p.maxTokens());
        assertEquals(List.of("\n", "END"), p.stop());
        assertEquals(7L, p.seed());
        assertEquals(0.5f, p.presencePenalty());
        assertEquals(-1f, p.frequencyPenalty());
    }

    @Test
    void completionWithDefaults() {
        CompletionRequest r = RequestParser.parseCompletion(b("{\"prompt\": [\"Once\"], \"stop\": \"x\"}"), 100);
        assertFalse(r.isChat());
        assertEquals("Once", r.prompt());
        assertNull(r.model());
        assertNull(r.sampling().temperature());
        assertNull(r.sampling().maxTokens());
        assertEquals(List.of("x"), r.sampling().stop());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "''|null",
        "{|null",
        "[1, 2]|null",
        "{\"prompt\": \"a\"} trailing|null",
        "{\"prompt\": 5}|prompt",
        "{\"prompt\": \"a\", \"temperature\": \"hot\"}|temperature",
        "{\"prompt\": \"a\", \"temperature\": 3}|temperature",
        "{\"prompt\": \"a\", \"top_p\": 0}|top_p",
        "{\"prompt\": \"a\", \"max_tokens\": 1.5}|max_tokens",
        "{\"prompt\": \"a\", \"max_tokens\": 0}|max_tokens",
        "{\"prompt\": \"a\", \"max_tokens\": 101}|max_tokens",
        "{\"prompt\": \"a\", \"max_tokens\": 99999999999999999999}|max_tokens",
        "{\"prompt\": \"a\", \"stream\": \"yes\"}|stream",
        "{\"prompt\": \"a\", \"stop\": [\"\"]}|stop",
        "{\"prompt\": \"a\", \"stop\": [1]}|stop",
        "{\"prompt\": \"a\", \"stop\": [\"a\",\"b\",\"c\",\"d\",\"e\"]}|stop",
        "{\"prompt\": \"a\", \"seed\": \"1\"}|seed",
        "{\"prompt\": \"a\", \"n\": 2}|n",
        "{\"prompt\": \"a\", \"model\": 3}|model",
        "{\"prompt\": \"a\", \"prompt\": \"b\"}|null",
        "{\"prompt\": \"a\", \"frequency_penalty\": 2.5}|frequency_penalty",
    })
    void badCompletionsNameTheField(String body, String param) {
        ApiException e = assertThrows(ApiException.class, () -> RequestParser.parseCompletion(b(body), 100));
        assertEquals(400, e.status());
        assertEquals("null".equals(param) ? null : param, e.param(), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{}|messages",
        "{\"messages\": []}|messages",
        "{\"messages\": \"hi\"}|messages",
        "{\"messages\": [5]}|messages[0]",
        "{\"messages\": [{\"content\": \"x\"}]}|messages[0].role",
        "{\"messages\": [{\"role\": \"wizard\", \"content\": \"x\"}]}|messages[0].role",
        "{\"messages\": [{\"role\": \"user\", \"content\": {\"a\": 1}}]}|messages[0].content",
        "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}|messages[0].content",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"tools\": [{}]}|tools",
    })
    void badChatsNameTheField(String body, String param) {
        ApiException e = assertThrows(ApiException.class, () -> RequestParser.parseChat(b(body), 100));
        assertEquals(400, e.status());
        assertEquals(param, e.param(), e.getMessage());
    }

    @Test
    void deepNestingIsRefusedQuickly() {
        String deep = "{\"prompt\": \"a\", \"x\": " + "[".repeat(100_000) + "]".repeat(100_000) + "}";
        ApiException e = assertThrows(ApiException.class, () -> RequestParser.parseCompletion(b(deep), 100));
        assertEquals(400, e.status());
    }

    /** Random mutations of a valid body either parse or fail with a 400: never another exception. */
    @RepeatedTest(300)
    void mutatedBodiesGiveA400OrARequest(RepetitionInfo info) {
        Random random = new Random(info.getCurrentRepetition());
        byte[] body = b("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true,"
                + "\"temperature\":0.7,\"max_tokens\":20,\"stop\":[\"x\"],\"seed\":3}");
        int edits = 1 + random.nextInt(6);
        for (int i = 0; i < edits; i++) {
            body[random.nextInt(body.length)] = (byte) (random.nextBoolean() ? random.nextInt(128) : "{}[]\":,0e-".charAt(random.nextInt(10)));
        }
        try {
            CompletionRequest r = RequestParser.parseChat(body, 100);
            assertFalse(r.messages().isEmpty());
        } catch (ApiException e) {
            assertEquals(400, e.status());
        }
    }
}
