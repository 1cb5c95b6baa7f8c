package io.llmnpu.runtime.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.llmnpu.runtime.chat.Message;
import io.llmnpu.runtime.server.ApiException;
import io.llmnpu.runtime.server.CompletionRequest;
import io.llmnpu.runtime.server.RequestParser;
import io.llmnpu.runtime.server.SamplingParams;
import java.util.Set;

/**
 * The server's request parsing on any body: a {@code /v1/completions} or {@code /v1/chat/completions}
 * body either becomes a request whose every field is within what the API allows, or is answered
 * with a 400 that says what is wrong; nothing else escapes (no Jackson exception, no
 * NumberFormatException, no stack overflow on deep nesting). Seeds: typical and edge-case bodies of
 * both endpoints (see {@code RequestParserFuzzTestInputs}).
 */
class RequestParserFuzzTest {
    private static final int CONTEXT = 512;
    private static final Set<String> ROLES = Set.of(Message.SYSTEM, Message.USER, Message.ASSISTANT);

    @FuzzTest(maxDuration = "30m")
    void completionBodiesParseOrAreRefusedWith400(byte[] body) {
        CompletionRequest r;
        try {
            r = RequestParser.parseCompletion(body, CONTEXT);
        } catch (ApiException e) {
            assertIsBadRequest(e);
            return;
        }
        assertFalse(r.isChat());
        assertNotNull(r.prompt());
        assertNull(r.messages());
        assertWithinTheApi(r.sampling());
    }

    @FuzzTest(maxDuration = "30m")
    void chatBodiesParseOrAreRefusedWith400(byte[] body) {
        CompletionRequest r;
        try {
            r = RequestParser.parseChat(body, CONTEXT);
        } catch (ApiException e) {
            assertIsBadRequest(e);
            return;
        }
        assertTrue(r.isChat());
        assertNull(r.prompt());
        assertFalse(r.messages().isEmpty());
        for (Message m : r.messages()) {
            assertTrue(ROLES.contains(m.role()), m::toString);
            assertNotNull(m.content(), m::toString);
        }
        assertWithinTheApi(r.sampling());
    }

    private static void assertIsBadRequest(ApiException e) {
        assertEquals(400, e.status(), e::toString);
        assertEquals("invalid_request_error", e.type(), e::toString);
        assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), "a 400 says what is wrong");
    }

    private static void assertWithinTheApi(SamplingParams s) {
        assertNotNull(s);
        assertTrue(s.temperature() == null || (s.temperature() >= 0 && s.temperature() <= 2), s::toString);
        assertTrue(s.topP() == null || (s.topP() > 0 && s.topP() <= 1), s::toString);
        assertTrue(s.maxTokens() == null || (s.maxTokens() >= 1 && s.maxTokens() <= CONTEXT), s::toString);
        assertTrue(s.stop().size() <= 4 && s.stop().stream().noneMatch(String::isEmpty), s::toString);
        assertTrue(s.presencePenalty() >= -2 && s.presencePenalty() <= 2, s::toString);
        assertTrue(s.frequencyPenalty() >= -2 && s.frequencyPenalty() <= 2, s::toString);
    }
}
