package io.llmnpu.runtime.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code llmnpu} command. */
@Command(name = "llmnpu",
        mixinStandardHelpOptions = true,
        version = "llmnpu 0.1.0",
        description = {
            "Fast on-device LLM inference for Llama-family models (GGUF and llama2.c files).",
            "",
            "Start with:  llmnpu generate \"Once upon a time\"",
            "Any GGUF:    llmnpu generate -m path/to/model.gguf \"Your prompt\"",
            "Inspect:     llmnpu info path/to/model.gguf"
        },
        subcommands = {GenerateCommand.class, InfoCommand.class, CalibrateCommand.class, EvalCommand.class,
            CommandLine.HelpCommand.class})
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
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("error: " + ex.getMessage());
            if (Boolean.getBoolean("llmnpu.debug")) {
                ex.printStackTrace(commandLine.getErr());
            }
            return 1;
        });
        return cli.execute(args);
    }
}
