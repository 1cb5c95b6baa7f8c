package io.llmnpu.runtime.cli;

import io.llmnpu.runtime.files.AtomicFiles;
import io.llmnpu.runtime.model.gguf.GgmlType;
import io.llmnpu.runtime.quant.GgufQuantizer;
import io.llmnpu.runtime.quant.WeightEncoder;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code llmnpu quantize}: rewrite a GGUF model's weight matrices in another type. */
@Command(name = "quantize", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Rewrite a GGUF model with its weight matrices in another type (f32, f16, q8_0, q4_0).",
            "",
            "Every 2-D tensor is converted (quantized types bit-exactly as ggml's reference quantizers); norms "
                + "and other 1-D tensors stay as they are, and matrices that cannot be converted (rows that are not "
                + "whole 32-value blocks, types llmnpu cannot read) are kept and listed. Metadata is kept with its "
                + "value types, general.file_type updated. Converts on all cores and streams, so memory stays flat.",
            "",
            "Example:  llmnpu quantize model-f32.gguf model-q8_0.gguf --type q8_0",
            ""
        })
final class QuantizeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "INPUT", description = "GGUF model to read.")
    Path input;

    @Parameters(index = "1", paramLabel = "OUTPUT", description = "GGUF file to write (replaced if it exists).")
    Path output;

    @Option(names = "--type", required = true, paramLabel = "TYPE", description = "Target type: f32, f16, q8_0 or q4_0.")
    String type;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N", description = "Conversion threads; 0 = one per core (default).")
    int threads;

    @Override
    public Integer call() throws Exception {
        GgmlType target = WeightEncoder.parse(type);
        if (!Files.isRegularFile(input)) {
            throw new IllegalArgumentException("input model not found: " + input);
        }
        AtomicFiles.checkWritable(output);
        GgufQuantizer.Report r = new GgufQuantizer(target, threads).convert(input, output, ConsoleProgress.stderr());
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "wrote %s: %d matrices converted to %s, %d 1-D tensors kept, %s -> %s in %.1f s%n",
                output, r.converted(), target, r.vectors(), Units.bytes(r.inputBytes()), Units.bytes(r.outputBytes()),
                r.nanos() / 1e9);
        if (!r.kept().isEmpty()) {
            out.printf(Locale.ROOT, "%d matrices kept as they were:%n", r.kept().size());
            for (GgufQuantizer.Kept k : r.kept()) {
                out.printf(Locale.ROOT, "  %-32s %-5s %-14s %s%n", k.name(), k.type(), k.shape(), k.reason());
            }
        }
        out.flush();
        return 0;
    }
}
