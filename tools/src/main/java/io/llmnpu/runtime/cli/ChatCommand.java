package io.llmnpu.runtime.cli;

import io.llmnpu.runtime.api.CancellationToken;
import io.llmnpu.runtime.api.Conversation;
import io.llmnpu.runtime.api.GenerationOptions;
import io.llmnpu.runtime.api.GenerationResult;
import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.chat.Message;
import io.llmnpu.runtime.chat.ChatTemplates;
import io.llmnpu.runtime.osgi.BackendHost;
import io.llmnpu.runtime.sampling.SamplerConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code llmnpu chat}: an interactive conversation that keeps its KV cache between turns. */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = {"Talk with a model, turn by turn. The prompt is built with the chat template in the",
            "model's GGUF file (Jinja), or a plain 'User: / Assistant:' format when it has none. The KV cache",
            "is kept between turns, so each turn runs only its new tokens through prefill.",
            "Type a message and Enter; '/reset' starts over; an empty line or end of input quits."})
final class ChatCommand implements Callable<Integer> {

    @Mixin
    RuntimeMixin runtime;

    @Option(names = "--system", description = "System message that opens the conversation.")
    String system;

    @Option(names = "--chat-template", paramLabel = "FILE|plain", description = {
        "Jinja template file to build prompts with instead of the model's own, or 'plain'."})
    String chatTemplate;

    @Option(names = {"-n", "--max-tokens"}, defaultValue = "256", description = "Most tokens per answer (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = {"-t", "--temperature"}, defaultValue = "0.8", description = "Sampling temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", defaultValue = "40", description = "Keep the k most likely tokens; 0 = off (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = {"-p", "--top-p"}, defaultValue = "0.95", description = "Nucleus sampling threshold; 1 = off (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--min-p", defaultValue = "0.05", description = "Min-p threshold; 0 = off (default: ${DEFAULT-VALUE}).")
    float minP;

    @Option(names = {"-s", "--seed"}, description = "Random seed (default: time based).")
    Long seed;

    @Override
    public Integer call() throws IOException {
        long actualSeed = seed != null ? seed : System.nanoTime();
        GenerationOptions options = new GenerationOptions(maxTokens,
                SamplerConfig.standard(temperature, topK, topP, minP, actualSeed), true, List.of(), 0, 0);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (BackendHost host = runtime.startHost();
             LlmRuntime llm = runtime.open(host);
             Conversation conversation = llm.openConversation()) {
            if (chatTemplate != null) {
                String source = chatTemplate.equals("plain") ? "plain" : Files.readString(Path.of(chatTemplate));
                llm.useChatTemplate(ChatTemplates.named(source, llm.model()));
            }
            System.err.println("chat template: " + llm.chatTemplate().name() + " | " + llm.deviceName()
                    + " | empty line or Ctrl-D quits, /reset starts over");
            List<Message> messages = new ArrayList<>();
            if (system != null) {
                messages.add(Message.system(system));
            }
            int base = messages.size();
            while (true) {
                out.print("> ");
                out.flush();
                String line = in.readLine();
                if (line == null || line.isBlank()) {
                    return 0;
                }
                if (line.strip().equals("/reset")) {
                    messages.subList(base, messages.size()).clear();
                    conversation.reset();
                    continue;
                }
                messages.add(Message.user(line));
                GenerationResult r = conversation.chat(messages, options, (id, text) -> {
                    out.print(text);
                    out.flush();
                }, new CancellationToken());
                out.println();
                messages.add(Message.assistant(r.text().strip()));
                System.err.printf(Locale.ROOT, "[prefill %d new tokens (%d cached), %.1f tok/s, TTFT %.1f ms, %s on %s"
                                + " | %d tokens, %.1f tok/s | %s]%n",
                        r.prefilledTokens(), r.cachedTokens(), r.prefillTokensPerSecond(), r.ttftSeconds() * 1e3,
                        r.prefill().path(), GenerateCommand.busy(r.prefill().deviceBusy()), r.tokens().length,
                        r.decodeTokensPerSecond(), r.stopReason().name().toLowerCase(Locale.ROOT));
            }
        }
    }
}
