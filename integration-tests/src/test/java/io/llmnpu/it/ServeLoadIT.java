package io.llmnpu.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.server.LlmServer;
import io.llmnpu.runtime.server.ServerConfig;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A bounded load test on loopback: concurrent streaming chat clients for a fixed time against a
 * server with a few slots. It reports time to first token (p50/p99) and throughput, requires zero
 * errors, and checks that threads, heap and slots are back to their baseline afterwards.
 *
 * <p>CI runs a short version; the README's figures come from
 * {@code mvn -pl integration-tests -am verify -Dtest=ServeLoadIT -Dsurefire.failIfNoSpecifiedTests=false
 * -Dllmnpu.load.clients=16 -Dllmnpu.load.seconds=60}. Results go to {@code target/load-test.json}.
 */
class ServeLoadIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] PROMPTS = {"Tell me a story about a cat.", "What did the dog do?",
        "Once upon a time there was a frog.", "Lily found a ball.", "Tom and Sue went to the park.",
        "The sun was hot.", "A bird sang a song.", "Ben wanted a cake."};

    @Test
    void streamingClientsUnderLoad() throws Exception {
        assumeTrue(Files.isRegularFile(OpenAiClientIT.MODEL), "the model " + OpenAiClientIT.MODEL + " is not present");
        int clients = Integer.getInteger("llmnpu.load.clients", 8);
        int seconds = Integer.getInteger("llmnpu.load.seconds", 8);
        int parallel = Integer.getInteger("llmnpu.load.parallel", 4);
        int maxTokens = Integer.getInteger("llmnpu.load.maxTokens", 48);

        try (LlmRuntime llm = LlmRuntime.open(RuntimeOptions.of(OpenAiClientIT.MODEL).withThreads(2).withContextLength(512));
             LlmServer server = LlmServer.start(llm, ServerConfig.defaults().withPort(0).withParallel(parallel), "stories260K")) {
            warmUp(server);
            int threadsBefore = platformThreads();
            long heapBefore = heapAfterGc();

            List<Long> ttftNanos = Collections.synchronizedList(new ArrayList<>());
            AtomicLong tokens = new AtomicLong();
            AtomicInteger requests = new AtomicInteger();
            List<String> errors = Collections.synchronizedList(new ArrayList<>());
            long start = System.nanoTime();
            long deadline = start + TimeUnit.SECONDS.toNanos(seconds);
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            HttpClient http = HttpClient.newHttpClient();
            try {
                List<Future<?>> running = new ArrayList<>();
                for (int c = 0; c < clients; c++) {
                    int client = c;
                    running.add(pool.submit(() -> {
                        for (int i = 0; System.nanoTime() < deadline && i < 100_000; i++) {
                            try {
                                oneRequest(http, server, PROMPTS[(client + i) % PROMPTS.length], maxTokens, client * 1000L + i,
                                        ttftNanos, tokens);
                                requests.incrementAndGet();
                            } catch (Exception | AssertionError e) {
                                errors.add(e.toString());
                            }
                        }
                    }));
                }
                for (Future<?> f : running) {
                    f.get(seconds + 120L, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
                pool.awaitTermination(10, TimeUnit.SECONDS);
                http.shutdownNow();
                http.awaitTermination(Duration.ofSeconds(10));
            }
            double elapsed = (System.nanoTime() - start) / 1e9;

            List<Long> sorted = new ArrayList<>(ttftNanos);
            Collections.sort(sorted);
            double p50 = percentile(sorted, 0.50) / 1e6;
            double p99 = percentile(sorted, 0.99) / 1e6;
            double throughput = tokens.get() / elapsed;
            waitForIdle(server);
            int threadsAfter = platformThreads();
            long heapAfter = heapAfterGc();

            ObjectNode report = JSON.createObjectNode();
            report.put("clients", clients).put("seconds", seconds).put("parallel", parallel).put("max_tokens", maxTokens)
                    .put("requests", requests.get()).put("errors", errors.size()).put("tokens", tokens.get())
                    .put("throughput_tokens_per_s", round(throughput)).put("requests_per_s", round(requests.get() / elapsed))
                    .put("ttft_p50_ms", round(p50)).put("ttft_p99_ms", round(p99))
                    .put("threads_before", threadsBefore).put("threads_after", threadsAfter)
                    .put("heap_before_mib", round(heapBefore / 1048576.0)).put("heap_after_mib", round(heapAfter / 1048576.0))
                    .put("slots_busy_after", server.busySlots()).put("queued_after", server.queuedRequests());
            Path out = Path.of("target", "load-test.json");
            Files.createDirectories(out.getParent());
            Files.writeString(out, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(report));
            System.out.printf(Locale.ROOT, "load test: %d clients x %d s, %d slots: %d requests, %d errors, %.1f tokens/s,"
                            + " TTFT p50 %.1f ms p99 %.1f ms; threads %d -> %d, heap %.1f -> %.1f MiB%n",
                    clients, seconds, parallel, requests.get(), errors.size(), throughput, p50, p99, threadsBefore,
                    threadsAfter, heapBefore / 1048576.0, heapAfter / 1048576.0);

            assertEquals(List.of(), errors.subList(0, Math.min(5, errors.size())), "no request failed");
            assertTrue(requests.get() >= clients, "every client finished at least one request");
            assertEquals(0, server.busySlots(), "all slots free again");
            assertEquals(0, server.queuedRequests(), "queue empty again");
            assertTrue(threadsAfter <= threadsBefore + 2, "threads back to baseline: " + threadsBefore + " -> " + threadsAfter);
            assertTrue(heapAfter <= heapBefore + (64L << 20), "heap back to baseline: " + heapBefore + " -> " + heapAfter);
        }
    }

    private static void oneRequest(HttpClient http, LlmServer server, String prompt, int maxTokens, long seed,
                                   List<Long> ttftNanos, AtomicLong tokens) throws Exception {
        String body = "{\"model\": \"stories260K\", \"stream\": true, \"stream_options\": {\"include_usage\": true},"
                + " \"max_tokens\": " + maxTokens + ", \"temperature\": 0.8, \"seed\": " + seed + ", \"messages\": ["
                + "{\"role\": \"user\", \"content\": " + JSON.writeValueAsString(prompt) + "}]}";
        long sent = System.nanoTime();
        HttpResponse<Stream<String>> r = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/v1/chat/completions"))
                .timeout(Duration.ofSeconds(120)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofLines());
        if (r.statusCode() != 200) {
            throw new AssertionError("status " + r.statusCode() + ": " + r.body().reduce("", String::concat));
        }
        boolean[] done = {false};
        long[] first = {0};
        try (Stream<String> lines = r.body()) {
            lines.filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).forEach(data -> {
                if (data.equals("[DONE]")) {
                    done[0] = true;
                    return;
                }
                try {
                    JsonNode chunk = JSON.readTree(data);
                    if (chunk.has("usage") && !chunk.get("usage").isNull()) {
                        tokens.addAndGet(chunk.get("usage").get("completion_tokens").asLong());
                    }
                    JsonNode choices = chunk.get("choices");
                    if (first[0] == 0 && !choices.isEmpty() && choices.get(0).get("delta").has("content")
                            && !choices.get(0).get("delta").get("content").asText().isEmpty()) {
                        first[0] = System.nanoTime();
                    }
                } catch (Exception e) {
                    throw new IllegalStateException("bad event " + data, e);
                }
            });
        }
        if (!done[0]) {
            throw new AssertionError("stream ended without [DONE]");
        }
        if (first[0] != 0) {
            ttftNanos.add(first[0] - sent);
        }
    }

    private static void warmUp(LlmServer server) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        try {
            for (String p : PROMPTS) {
                oneRequest(http, server, p, 8, 1, new ArrayList<>(), new AtomicLong());
            }
        } finally {
            http.shutdownNow();
            http.awaitTermination(Duration.ofSeconds(10));
        }
    }

    private static void waitForIdle(LlmServer server) throws InterruptedException {
        long end = System.currentTimeMillis() + 5000;
        while ((server.busySlots() > 0 || server.queuedRequests() > 0) && System.currentTimeMillis() < end) {
            Thread.sleep(10);
        }
    }

    private static int platformThreads() throws InterruptedException {
        Thread.sleep(500); // let pools retire idle threads
        return ManagementFactory.getThreadMXBean().getThreadCount();
    }

    private static long heapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    private static double percentile(List<Long> sorted, double q) {
        if (sorted.isEmpty()) {
            return 0;
        }
        int i = (int) Math.ceil(q * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
    }

    private static double round(double d) {
        return Math.round(d * 10) / 10.0;
    }
}
