package io.llmnpu.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@code ./llmnpu serve} as a user starts it: it prints its address, answers, and stops on SIGTERM. */
class ServeLauncherIT {
    private static final Path REPO = Path.of(System.getProperty("llmnpu.repo.dir", "..")).toAbsolutePath().normalize();

    @Test
    void serveAnswersAndStopsOnSigterm() throws Exception {
        assumeTrue(Files.isRegularFile(OpenAiClientIT.MODEL), "the model " + OpenAiClientIT.MODEL + " is not present");
        ProcessBuilder pb = new ProcessBuilder(REPO.resolve("llmnpu").toString(), "serve", "--port", "0",
                "--api-key", "k").directory(REPO.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("LLMNPU_NO_BUILD", "1");
        pb.environment().remove("LLMNPU_MODEL");
        Process p = pb.start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line = out.readLine();
            assertNotNull(line, "the server printed its address");
            assertTrue(line.startsWith("listening on http://127.0.0.1:"), line);
            String url = line.substring("listening on ".length());
            HttpClient http = HttpClient.newHttpClient();
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url + "/v1/completions"))
                        .header("Authorization", "Bearer k")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"Once upon a time\", \"max_tokens\": 12, \"temperature\": 0}"))
                        .build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), r.body());
                assertTrue(r.body().contains(", there was a little girl"), r.body());
            } finally {
                http.shutdownNow();
            }
            p.destroy();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the server stops on SIGTERM");
        } finally {
            p.destroyForcibly();
        }
    }
}
