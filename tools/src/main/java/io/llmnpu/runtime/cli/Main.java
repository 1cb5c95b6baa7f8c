package io.llmnpu.runtime.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code llmnpu} command. */
@Command(name = "llmnpu",
        mixinStandardHelpOptions = true,
        version = "llmnpu 0.1.0",
        description = {
            "Fast on-device LLM inference for Llama, Qwen2, Gemma and Phi models (GGUF and llama2.c files).",
            "",
            "Start with:  llmnpu generate \"Once upon a time\"",
            "Chat:        llmnpu chat -m model.gguf --system \"You are helpful.\"",
            "Serve:       llmnpu serve -m model.gguf --port 8080   (OpenAI API and a chat page)",
            "Any GGUF:    llmnpu generate -m path/to/model.gguf \"Your prompt\"",
            "Inspect:     llmnpu info path/to/model.gguf",
            "Tokens:      llmnpu tokenize -m model.gguf \"Hello world\"",
            "Devices:     llmnpu backends",
            "Test model:  llmnpu synth --shape tinyllama-1.1b --type q8_0 tinyllama.gguf",
            "Convert:     llmnpu quantize in.gguf out.gguf --type q8_0",
            "Benchmark:   llmnpu bench -m tinyllama.gguf -p 256,512 -n 64",
            "Scheduling:  llmnpu prefill-plan --shape qwen1.5-1.8b -N 1024"
        },
        subcommands = {GenerateCommand.class, ChatCommand.class, ServeCommand.class, InfoCommand.class, TokenizeCommand.class,
            BackendsCommand.class, SynthCommand.class,
            QuantizeCommand.class, BenchCommand.class, CalibrateCommand.class, EvalCommand.class,
            PrefillPlanCommand.class, PrefillRunCommand.class, SimulateCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns its exit code (for tests and embedding). */
    public static int execute(String... args) {
        return configure(new CommandLine(new Main())).execute(args);
    }

    /**
     * Runs the command line with its output and error text going to the given writers (commands that
     * write through picocli's streams; progress bars still go to stderr). Returns the exit code.
     */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = configure(new CommandLine(new Main()));
        cli.setOut(out);
        cli.setErr(err);
        return cli.execute(args);
    }

    private static CommandLine configure(CommandLine cli) {
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("error: " + ex.getMessage());
            if (Boolean.getBoolean("llmnpu.debug")) {
                ex.printStackTrace(commandLine.getErr());
            }
            return 1;
        });
        return cli;
    }
}
