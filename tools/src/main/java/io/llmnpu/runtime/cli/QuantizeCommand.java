package io.llmnpu.runtime.cli;

import io.llmnpu.runtime.files.AtomicFiles;
import io.llmnpu.runtime.quant.GgufQuantizer;
import io.llmnpu.runtime.quant.QuantRecipe;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code llmnpu quantize}: rewrite a GGUF model's weight matrices in another type. */
@Command(name = "quantize", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Rewrite a GGUF model with its weight matrices in other types.",
            "",
            "Plain types (f32, f16, q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl) put every 2-D tensor in that type. The "
                + "k-quant types are llama-quantize's mixes (q2_k, q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, "
                + "q5_k_m, q6_k; q3_k, q4_k, q5_k mean the _m mixes): the base type for most matrices, more bits for "
                + "the LM head (Q6_K) and for attn_v and ffn_down of some layers, and a 32-value type for matrices whose "
                + "rows are not whole 256-value blocks; --pure puts every matrix in the base type. Values are quantized "
                + "with ggml's reference algorithms (the k-quants with their weighted scale and min search). Norms and "
                + "other 1-D tensors stay as they are, and matrices that cannot be converted (rows that are not whole "
                + "blocks, types llmnpu cannot read) are kept and listed. Metadata is kept with its value types, "
                + "general.file_type updated. Converts on all cores and streams, so memory stays flat.",
            "",
            "Example:  llmnpu quantize model-f32.gguf model-q4_k_m.gguf --type q4_k_m",
            ""
        })
final class QuantizeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "INPUT", description = "GGUF model to read.")
    Path input;

    @Parameters(index = "1", paramLabel = "OUTPUT", description = "GGUF file to write (replaced if it exists).")
    Path output;

    @Option(names = "--type", required = true, paramLabel = "TYPE", description = "Target type or k-quant mix (see above).")
    String type;

    @Option(names = "--pure", description = "Every matrix in the base type of a k-quant mix (no per-tensor exceptions).")
    boolean pure;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N", description = "Conversion threads; 0 = one per core (default).")
    int threads;

    @Override
    public Integer call() throws Exception {
        QuantRecipe recipe = QuantRecipe.parse(type);
        if (!Files.isRegularFile(input)) {
            throw new IllegalArgumentException("input model not found: " + input);
        }
        AtomicFiles.checkWritable(output);
        GgufQuantizer.Report r = new GgufQuantizer(recipe, pure, threads).convert(input, output, ConsoleProgress.stderr());
        PrintWriter out = spec.commandLine().getOut();
        String types = r.types().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .map(e -> e.getValue() + " " + e.getKey()).collect(Collectors.joining(", "));
        out.printf(Locale.ROOT, "wrote %s (%s%s): %d matrices converted (%s), %d 1-D tensors kept, %s -> %s in %.1f s%n",
                output, recipe.label().toUpperCase(Locale.ROOT), pure ? " pure" : "", r.converted(), types, r.vectors(),
                Units.bytes(r.inputBytes()), Units.bytes(r.outputBytes()), r.nanos() / 1e9);
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
