package io.llmnpu.runtime.cli;

import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.chat.ChatTemplates;
import io.llmnpu.runtime.osgi.BackendHost;
import io.llmnpu.runtime.server.LlmServer;
import io.llmnpu.runtime.server.ServerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code llmnpu serve}: an OpenAI-compatible HTTP server with a chat page. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve a model over HTTP with the OpenAI API: GET /v1/models, POST /v1/completions,",
            "POST /v1/chat/completions (stream: true for server-sent events), GET /health, GET /metrics",
            "(Prometheus) and a chat page at /. Runs until interrupted (Ctrl-C)."})
final class ServeCommand implements Callable<Integer> {

    @Mixin
    RuntimeMixin runtime;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port to listen on; 0 = any free port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--api-key", description = "Require 'Authorization: Bearer KEY' on /v1 requests (default: $LLMNPU_API_KEY, else none).")
    String apiKey;

    @Option(names = "--parallel", defaultValue = "1", description = "Requests generating at once, each in its own KV slot (default: ${DEFAULT-VALUE}).")
    int parallel;

    @Option(names = "--queue", defaultValue = "64", description = "Requests that may wait for a slot; more get 429 (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--queue-timeout", defaultValue = "300", description = "Seconds a request may wait for a slot before 503 (default: ${DEFAULT-VALUE}).")
    int queueTimeout;

    @Option(names = "--max-body", defaultValue = "1048576", description = "Largest request body in bytes; larger get 413 (default: ${DEFAULT-VALUE}).")
    long maxBody;

    @Option(names = {"-n", "--max-tokens"}, defaultValue = "512", description = "Tokens per answer when a request names no max_tokens (default: ${DEFAULT-VALUE}).")
    int defaultMaxTokens;

    @Option(names = "--chat-template", paramLabel = "FILE|plain", description = "Jinja template file for chat prompts instead of the model's own, or 'plain'.")
    String chatTemplate;

    @Option(names = "--alias", description = "Model name clients use (default: the model file's name without extension).")
    String alias;

    @Override
    public Integer call() throws Exception {
        String key = apiKey != null ? apiKey : System.getenv("LLMNPU_API_KEY");
        ServerConfig config = ServerConfig.defaults().withHost(host).withPort(port).withApiKey(key)
                .withParallel(parallel).withQueue(queue, Duration.ofSeconds(queueTimeout)).withMaxBodyBytes(maxBody)
                .withDefaultMaxTokens(defaultMaxTokens);
        try (BackendHost backends = runtime.startHost();
             LlmRuntime llm = runtime.open(backends)) {
            if (chatTemplate != null) {
                String source = chatTemplate.equals("plain") ? "plain" : Files.readString(Path.of(chatTemplate));
                llm.useChatTemplate(ChatTemplates.named(source, llm.model()));
            }
            String id = alias != null ? alias : modelId(llm.model().source());
            CountDownLatch stopped = new CountDownLatch(1);
            try (LlmServer server = LlmServer.start(llm, config, id)) {
                Thread hook = new Thread(() -> {
                    server.close();
                    stopped.countDown();
                }, "llmnpu-serve-shutdown");
                Runtime.getRuntime().addShutdownHook(hook);
                System.err.printf("llmnpu serving %s on %s (%d slot%s, context %d, chat template %s, %s)%n"
                                + "  chat page: %s/   API: %s/v1   metrics: %s/metrics%n",
                        id, llm.deviceName(), parallel, parallel == 1 ? "" : "s", llm.contextLength(),
                        llm.chatTemplate().name(), config.requiresKeyText(), server.url(), server.url(), server.url());
                System.out.println("listening on " + server.url());
                System.out.flush();
                stopped.await();
            }
        }
        return 0;
    }

    static String modelId(Path model) {
        String name = model.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }
}
