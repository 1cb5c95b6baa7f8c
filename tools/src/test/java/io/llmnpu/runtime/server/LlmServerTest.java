package io.llmnpu.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.llmnpu.runtime.api.GenerationRequest;
import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.model.SharedModels;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The server over HTTP on loopback with stories260K: the API, bad input and abuse, slots and disconnects. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LlmServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private LlmRuntime llm;
    private LlmServer server;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    void start() {
        llm = LlmRuntime.open(RuntimeOptions.of(SharedModels.file("stories260K.gguf")).withThreads(2));
        server = LlmServer.start(llm, ServerConfig.defaults().withPort(0).withParallel(2), "stories260K");
    }

    @AfterAll
    void stop() {
        if (server != null) {
            server.close();
        }
        if (llm != null) {
            llm.close();
        }
    }

    private HttpResponse<String> post(LlmServer s, String path, String body, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(s.url() + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return post(server, path, body, null);
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(server.url() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The data payloads of a server-sent-event body. */
    private static List<String> events(String body) {
        List<String> out = new ArrayList<>();
        for (String event : body.split("\n\n")) {
            if (event.startsWith("data: ")) {
                out.add(event.substring(6));
            }
        }
        return out;
    }

    private static void assertError(HttpResponse<String> r, int status, String param) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertNotNull(error, r.body());
        assertFalse(error.get("message").asText().isBlank());
        assertFalse(error.get("type").asText().isBlank());
        if (param != null) {
            assertEquals(param, error.get("param").asText(), r.body());
        }
    }

    private static void waitFor(BooleanSupplier condition, long millis, String what) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > end) {
                throw new AssertionError("not within " + millis + " ms: " + what);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void modelsHealthMetricsAndThePage() throws Exception {
        JsonNode models = JSON.readTree(get("/v1/models").body());
        assertEquals("stories260K", models.get("data").get(0).get("id").asText());
        assertEquals(200, get("/health").statusCode());
        post("/v1/completions", "{\"prompt\": \"Hi\", \"max_tokens\": 2}");
        String metrics = get("/metrics").body();
        for (String name : List.of("llmnpu_requests_total", "llmnpu_time_to_first_token_seconds_bucket",
                "llmnpu_queue_depth", "llmnpu_slots_busy", "llmnpu_completion_tokens_total",
                "llmnpu_decode_speed_tokens_per_second_bucket", "llmnpu_device_busy_seconds_total{device=",
                "llmnpu_device_busy_share{device=", "llmnpu_prefill_speed_tokens_per_second_count{path=\"float\"}",
                "llmnpu_prefill_ttft_seconds_count{path=\"float\"}")) {
            assertTrue(metrics.contains(name), name + " in\n" + metrics);
        }
        HttpResponse<String> page = get("/");
        assertTrue(page.body().contains("<title>llmnpu chat</title>"));
        assertError(get("/v1/nothing"), 404, null);
    }

    @Test
    void greedyCompletionIsTheApisText() throws Exception {
        String expected = llm.generate(GenerationRequest.greedy("Once upon a time", 30), null, null).text();
        HttpResponse<String> r = post("/v1/completions",
                "{\"model\": \"stories260K\", \"prompt\": \"Once upon a time\", \"max_tokens\": 30, \"temperature\": 0}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = JSON.readTree(r.body());
        assertEquals("text_completion", body.get("object").asText());
        assertEquals(expected, body.get("choices").get(0).get("text").asText());
        assertEquals("length", body.get("choices").get(0).get("finish_reason").asText());
        assertEquals(5, body.get("usage").get("prompt_tokens").asInt());
        assertEquals(30, body.get("usage").get("completion_tokens").asInt());
    }

    @Test
    void chatStreamsAsTheOpenAiApiDoes() throws Exception {
        String request = "{\"model\": \"stories260K\", \"messages\": [{\"role\": \"user\", \"content\": \"Tell me about a dog\"}],"
                + " \"max_tokens\": 40, \"temperature\": 0, %s}";
        JsonNode whole = JSON.readTree(post("/v1/chat/completions", request.formatted("\"stream\": false")).body());
        HttpResponse<String> r = post("/v1/chat/completions",
                request.formatted("\"stream\": true, \"stream_options\": {\"include_usage\": true}"));
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        List<String> events = events(r.body());
        assertEquals("[DONE]", events.getLast());
        JsonNode first = JSON.readTree(events.getFirst());
        assertEquals("chat.completion.chunk", first.get("object").asText());
        assertEquals("assistant", first.get("choices").get(0).get("delta").get("role").asText());
        StringBuilder text = new StringBuilder();
        String finish = null;
        JsonNode usage = null;
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode chunk = JSON.readTree(e);
            assertEquals(first.get("id").asText(), chunk.get("id").asText());
            if (chunk.has("usage")) {
                usage = chunk.get("usage");
                assertTrue(chunk.get("choices").isEmpty());
                continue;
            }
            JsonNode choice = chunk.get("choices").get(0);
            if (choice.get("delta").has("content")) {
                text.append(choice.get("delta").get("content").asText());
            }
            if (!choice.get("finish_reason").isNull()) {
                finish = choice.get("finish_reason").asText();
            }
        }
        JsonNode message = whole.get("choices").get(0).get("message");
        assertEquals(message.get("content").asText(), text.toString());
        assertEquals(whole.get("choices").get(0).get("finish_reason").asText(), finish);
        assertNotNull(usage);
        assertEquals(whole.get("usage").get("completion_tokens").asInt(), usage.get("completion_tokens").asInt());
    }

    @Test
    void followUpTurnTakesItsPrefixFromTheSlot() throws Exception {
        String turn1 = "[{\"role\": \"system\", \"content\": \"Stories about a frog.\"}, {\"role\": \"user\", \"content\": \"Start\"}]";
        JsonNode first = JSON.readTree(post("/v1/chat/completions",
                "{\"messages\": " + turn1 + ", \"max_tokens\": 20, \"temperature\": 0}").body());
        String answer = first.get("choices").get(0).get("message").get("content").asText();
        String turn2 = turn1.substring(0, turn1.length() - 1) + ", {\"role\": \"assistant\", \"content\": "
                + JSON.writeValueAsString(answer) + "}, {\"role\": \"user\", \"content\": \"Go on\"}]";
        JsonNode second = JSON.readTree(post("/v1/chat/completions",
                "{\"messages\": " + turn2 + ", \"max_tokens\": 20, \"temperature\": 0}").body());
        int cached = second.get("usage").get("prompt_tokens_details").get("cached_tokens").asInt();
        int firstPrompt = first.get("usage").get("prompt_tokens").asInt();
        assertTrue(cached >= firstPrompt, "cached " + cached + " of the first turn's " + firstPrompt + " prompt tokens");
    }

    @Test
    void parallelRequestsGetTheTextsTheyGetAlone() throws Exception {
        String[] prompts = {"The cat", "Once upon a time", "Tom had a ball", "The sun", "Lily went", "A bird"};
        String[] alone = new String[prompts.length];
        for (int i = 0; i < prompts.length; i++) {
            alone[i] = llm.generate(GenerationRequest.greedy(prompts[i], 25), null, null).text();
        }
        ExecutorService pool = Executors.newFixedThreadPool(prompts.length);
        try {
            List<Future<HttpResponse<String>>> answers = new ArrayList<>();
            for (String p : prompts) {
                answers.add(pool.submit(() -> post("/v1/completions",
                        "{\"prompt\": " + JSON.writeValueAsString(p) + ", \"max_tokens\": 25, \"temperature\": 0}")));
            }
            for (int i = 0; i < prompts.length; i++) {
                JsonNode body = JSON.readTree(answers.get(i).get().body());
                assertEquals(alone[i], body.get("choices").get(0).get("text").asText(), prompts[i]);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void badInputGetsItsStatusWhileAnotherRequestStreamsUndisturbed() throws Exception {
        CompletableFuture<HttpResponse<String>> stream = CompletableFuture.supplyAsync(() -> {
            try {
                return post("/v1/completions", "{\"prompt\": \"Once\", \"max_tokens\": 600, \"stream\": true,"
                        + " \"stream_options\": {\"include_usage\": true}, \"ignore_eos\": true, \"temperature\": 0.8, \"seed\": 1}");
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        waitFor(() -> server.busySlots() > 0, 5000, "the stream starts");
        assertError(post("/v1/completions", "{\"prompt\": \"a\""), 400, null);
        assertError(post("/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": \"ten\"}"), 400, "max_tokens");
        assertError(post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": 1}]}"), 400,
                "messages[0].content");
        assertError(post("/v1/completions", "{\"model\": \"gpt-4\", \"prompt\": \"a\"}"), 404, "model");
        assertError(post("/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 5000}"), 400, "max_tokens");
        assertError(post("/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 2047}"), 400, "max_tokens");
        HttpResponse<String> tooLong = post("/v1/completions", "{\"prompt\": \"" + "one two ".repeat(1200) + "\"}");
        assertError(tooLong, 400, "prompt");
        assertEquals("context_length_exceeded", JSON.readTree(tooLong.body()).get("error").get("code").asText());
        assertError(post("/v1/completions", "{\"prompt\": \"" + "x".repeat(2 << 20) + "\"}"), 413, null);
        HttpResponse<String> streamed = stream.get();
        assertEquals(200, streamed.statusCode());
        List<String> events = events(streamed.body());
        assertEquals("[DONE]", events.getLast());
        JsonNode usage = JSON.readTree(events.get(events.size() - 2)).get("usage");
        assertEquals(600, usage.get("completion_tokens").asInt(), "the stream ran to its end");
        assertEquals("length", JSON.readTree(events.get(events.size() - 3)).get("choices").get(0).get("finish_reason").asText());
    }

    @Test
    void apiKeyIsRequiredWhenSet() throws Exception {
        try (LlmServer keyed = LlmServer.start(llm, ServerConfig.defaults().withPort(0).withApiKey("s3cret"), "stories260K")) {
            String body = "{\"prompt\": \"a\", \"max_tokens\": 2}";
            assertError(post(keyed, "/v1/completions", body, null), 401, null);
            assertError(post(keyed, "/v1/completions", body, "wrong"), 401, null);
            assertEquals(200, post(keyed, "/v1/completions", body, "s3cret").statusCode());
            HttpResponse<String> models = http.send(HttpRequest.newBuilder(URI.create(keyed.url() + "/v1/models")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertError(models, 401, null);
        }
    }

    @Test
    void fullQueueGets429AndAWaitPastTheTimeoutGets503() throws Exception {
        ServerConfig config = ServerConfig.defaults().withPort(0).withParallel(1).withQueue(1, Duration.ofMillis(1500));
        try (LlmServer small = LlmServer.start(llm, config, "stories260K");
             Socket busy = openStream(small, "{\"prompt\": \"Once\", \"max_tokens\": 1900, \"stream\": true, \"ignore_eos\": true}")) {
            waitFor(() -> small.busySlots() == 1, 5000, "the slot is taken");
            CompletableFuture<HttpResponse<String>> queued = CompletableFuture.supplyAsync(() -> {
                try {
                    return post(small, "/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 2}", null);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            waitFor(() -> small.queuedRequests() == 1, 5000, "the second request waits");
            assertError(post(small, "/v1/completions", "{\"prompt\": \"b\", \"max_tokens\": 2}", null), 429, null);
            assertError(queued.get(), 503, null);
            busy.close();
            waitFor(() -> small.busySlots() == 0, 2000, "closing the stream frees the slot");
            assertEquals(200, post(small, "/v1/completions", "{\"prompt\": \"c\", \"max_tokens\": 2}", null).statusCode());
        }
    }

    @Test
    void aClientThatDisconnectsCancelsItsGenerationAtOnce() throws Exception {
        ServerConfig config = ServerConfig.defaults().withPort(0).withParallel(1);
        try (LlmServer s = LlmServer.start(llm, config, "stories260K")) {
            for (boolean stream : new boolean[] {true, false}) {
                long t0 = System.nanoTime();
                Socket socket = openStream(s, "{\"prompt\": \"Once\", \"max_tokens\": 2000, \"ignore_eos\": true,"
                        + " \"stream\": " + stream + "}");
                waitFor(() -> s.busySlots() == 1, 5000, "generation starts");
                Thread.sleep(100);
                socket.close();
                waitFor(() -> s.busySlots() == 0, 1000, "the slot is freed soon after the client left (stream " + stream + ")");
                double seconds = (System.nanoTime() - t0) / 1e9;
                // The whole generation would have taken far longer: prove it by running it.
                long full = System.nanoTime();
                post(s, "/v1/completions", "{\"prompt\": \"Once\", \"max_tokens\": 2000, \"ignore_eos\": true}", null);
                double fullSeconds = (System.nanoTime() - full) / 1e9;
                assertTrue(seconds < fullSeconds * 0.8, "cancelled after " + seconds + " s; a full run takes " + fullSeconds + " s");
            }
        }
    }

    /** Sends a request on a raw socket (which the test can close at will) and reads the response head. */
    private static Socket openStream(LlmServer s, String body) throws Exception {
        Socket socket = new Socket("127.0.0.1", s.port());
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.flush();
        if (body.contains("\"stream\": true")) {
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null && !line.startsWith("data: ")) {
                // skip the response head until the first event
            }
        }
        return socket;
    }
}
