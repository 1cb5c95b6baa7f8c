package io.llmnpu.runtime.cli;

import io.llmnpu.runtime.model.load.ModelLoader;
import io.llmnpu.runtime.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code llmnpu tokenize}: the token ids of a text, as llama.cpp's {@code llama-tokenize} prints them.
 * Only the model's tokenizer is read, so any GGUF works, vocabulary-only files included.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Print the tokens a model's tokenizer makes of a text, one per line as",
            "'  id -> 'piece'', or with --ids as one list of ids."})
final class TokenizeCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, description = "GGUF file or llama2.c checkpoint (default: the default model).")
    Path model;

    @Option(names = "--tokenizer", description = "Tokenizer .bin for a llama2.c checkpoint (default: found next to it).")
    Path tokenizer;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Parameters(index = "0", description = "The text to tokenize.")
        String text;

        @Option(names = {"-f", "--file"}, description = "Read the text from this file (UTF-8).")
        Path file;
    }

    @Option(names = "--no-bos", description = "Do not put the BOS token first, even if the model asks for it.")
    boolean noBos;

    @Option(names = "--parse-special", description = "Turn the text of special tokens (<s>, <|im_start|>, ...) into those tokens.")
    boolean parseSpecial;

    @Option(names = "--ids", description = "Print only the ids, as one list: [1, 2, 3].")
    boolean idsOnly;

    @Option(names = "--show-count", description = "Also print the number of tokens.")
    boolean showCount;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        String text = input.file != null ? Files.readString(input.file, StandardCharsets.UTF_8) : input.text;
        Tokenizer t = ModelLoader.loadTokenizer(ModelLocator.resolve(model), tokenizer);
        int[] ids = t.encode(text, t.addBosByDefault() && !noBos, parseSpecial);
        PrintWriter out = spec.commandLine().getOut();
        if (idsOnly) {
            out.println(Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(", ", "[", "]")));
        } else {
            for (int id : ids) {
                out.printf(Locale.ROOT, "%6d -> '%s'%n", id, new String(t.decode(-1, id), StandardCharsets.UTF_8));
            }
        }
        if (showCount) {
            out.printf(Locale.ROOT, "Total number of tokens: %d%n", ids.length);
        }
        out.flush();
        return 0;
    }
}
