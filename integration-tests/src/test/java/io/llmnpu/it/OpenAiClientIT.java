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
 * The official {@code openai} npm package drives the server: models, completion, chat, streaming, a
 * cancelled stream, typed errors, with and without an API key (src/test/node/openai-client.test.mjs).
 */
class OpenAiClientIT {
    static final Path MODEL = Path.of(System.getProperty("llmnpu.repo.dir", "..")).toAbsolutePath().normalize()
            .resolve("../shared/models/stories260K.gguf").normalize();

    @Test
    void officialClientAgainstTheServer() throws Exception {
        NodeClients.assumeNode();
        assumeTrue(Files.isRegularFile(MODEL), "the model " + MODEL + " is not present");
        try (LlmRuntime llm = LlmRuntime.open(RuntimeOptions.of(MODEL).withThreads(2))) {
            for (String key : new String[] {null, "test-key"}) {
                try (LlmServer server = LlmServer.start(llm,
                        ServerConfig.defaults().withPort(0).withParallel(2).withApiKey(key), "stories260K")) {
                    Map<String, String> env = new java.util.HashMap<>(Map.of("LLMNPU_URL", server.url(),
                            "LLMNPU_MODEL", "stories260K"));
                    if (key != null) {
                        env.put("LLMNPU_API_KEY", key);
                    }
                    NodeClients.Result r = NodeClients.run(List.of("node", "--test", "--test-reporter=spec",
                            "openai-client.test.mjs"), env, 180);
                    System.out.println(r.output());
                    assertEquals(0, r.exitCode(), r.output());
                    assertTrue(r.output().contains("pass 6"), r.output());
                }
            }
        }
    }
}
