package io.llmnpu.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.server.LlmServer;
import io.llmnpu.runtime.server.ServerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The chat page in headless Chromium: it loads, sends a message, streams the answer with its speed,
 * and a screenshot is saved as {@code target/chat-page.png} (the README shows one).
 */
class ChatPageIT {

    @Test
    void pageStreamsAnAnswerInChromium() throws Exception {
        NodeClients.assumeChromium();
        assumeTrue(Files.isRegularFile(OpenAiClientIT.MODEL), "the model " + OpenAiClientIT.MODEL + " is not present");
        Path png = Path.of("target", "chat-page.png").toAbsolutePath();
        Files.createDirectories(png.getParent());
        Files.deleteIfExists(png);
        Path profile = Files.createTempDirectory("llmnpu-chromium");
        try (LlmRuntime llm = LlmRuntime.open(RuntimeOptions.of(OpenAiClientIT.MODEL).withThreads(2));
             LlmServer server = LlmServer.start(llm, ServerConfig.defaults().withPort(0), "stories260K")) {
            NodeClients.Result r = NodeClients.run(List.of("node", "chat-page.screenshot.mjs", server.url() + "/",
                    png.toString(), NodeClients.CHROMIUM.toString()), Map.of("HOME", profile.toString()), 180);
            System.out.println(r.output());
            assertEquals(0, r.exitCode(), r.output());
            assertTrue(r.output().contains("tok/s"), r.output());
            assertTrue(Files.size(png) > 10_000, "screenshot written");
        }
    }
}
