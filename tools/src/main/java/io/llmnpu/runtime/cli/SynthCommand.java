package io.llmnpu.runtime.cli;

import io.llmnpu.runtime.files.AtomicFiles;
import io.llmnpu.runtime.quant.QuantRecipe;
import io.llmnpu.runtime.synth.ModelShape;
import io.llmnpu.runtime.synth.ModelShapes;
import io.llmnpu.runtime.synth.SyntheticModelWriter;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code llmnpu synth}: write a random-weight model of a real model's shape. */
@Command(name = "synth", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Write a random-weight GGUF model in the shape of a real one, of any architecture llmnpu runs.",
            "",
            "For measuring speed and memory at real model sizes without downloading a model, and for tests. "
                + "Matrices (token embedding and LM head included) are N(0, 0.02) in the chosen type, norms F32 near 1, "
                + "biases F32 near 0. The file carries the architecture's full metadata and a SentencePiece vocabulary "
                + "(<unk>, <s>, </s>, the 256 byte tokens, made-up pieces), so llama.cpp and other GGUF tools load it too. "
                + "The same seed gives the same values in every type; generation runs on all cores and streams to the file.",
            "",
            "Shapes (--list-shapes shows their sizes): stories260k (its FFN width 172 is not a whole number of "
                + "32-value blocks, so q8_0/q4_0 need --ffn 192 or similar), tinyllama-1.1b, llama2-7b, llama3-8b, "
                + "llama3.1-8b (with its rope_freqs.weight), mistral-7b, qwen1.5-1.8b, qwen2-0.5b, gemma-2b, gemma2-2b, phi2, phi3-mini. --arch writes a shape's "
                + "sizes as another architecture (llama, mistral, qwen2, phi3, gemma, gemma2, phi2: its tensors, biases, "
                + "fused projections and norms); options such as --dim or --layers turn a named shape into a custom one.",
            "",
            "Example:  llmnpu synth --shape qwen2-0.5b --type q8_0 qwen2-0.5b-q8_0.gguf",
            ""
        })
final class SynthCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "OUTPUT", description = "GGUF file to write (replaced if it exists).")
    Path output;

    @Option(names = {"-s", "--shape"}, paramLabel = "SHAPE", defaultValue = "tinyllama-1.1b", description = "Named model shape (default: ${DEFAULT-VALUE}).")
    String shapeName;

    @Option(names = "--type", paramLabel = "TYPE", defaultValue = "q8_0", description = "Weight type: f32, f16, q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl, or a k-quant mix as llama-quantize makes it: q2_k, q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k (default: ${DEFAULT-VALUE}).")
    String type;

    @Option(names = "--seed", paramLabel = "SEED", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--dim", paramLabel = "N", description = "Override the embedding width.")
    Integer dim;

    @Option(names = "--ffn", paramLabel = "N", description = "Override the feed-forward width.")
    Integer ffn;

    @Option(names = "--layers", paramLabel = "N", description = "Override the number of transformer blocks.")
    Integer layers;

    @Option(names = "--heads", paramLabel = "N", description = "Override the number of query heads.")
    Integer heads;

    @Option(names = "--kv-heads", paramLabel = "N", description = "Override the number of key/value heads (default: unchanged, or --heads if that is set and the old count does not divide it).")
    Integer kvHeads;

    @Option(names = "--vocab", paramLabel = "N", description = "Override the vocabulary size (at least 259).")
    Integer vocab;

    @Option(names = "--ctx", paramLabel = "N", description = "Override the context length.")
    Integer ctx;

    @Option(names = "--rope-theta", paramLabel = "THETA", description = "Override the RoPE base frequency.")
    Float ropeTheta;

    @Option(names = "--arch", paramLabel = "NAME", description = "Write the shape as this architecture: llama, mistral, qwen2, phi3, gemma, gemma2 or phi2.")
    String arch;

    @Option(names = "--head-dim", paramLabel = "N", description = "Override the head size (default: the shape's, or dim / heads).")
    Integer headDim;

    @Option(names = "--rotary-dims", paramLabel = "N", description = "Override how many dimensions of each head RoPE turns (default: all).")
    Integer rotaryDims;

    @Option(names = "--name", paramLabel = "NAME", description = "general.name (default: the shape's name, with 'custom' when overridden).")
    String name;

    @Option(names = "--tied", description = "Write no output.weight: the token embedding doubles as LM head.")
    boolean tied;

    @Option(names = "--outliers", paramLabel = "K,M", description = "Reserved: plant outlier channels (not implemented yet).")
    String outliers;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0", description = "Generator threads; 0 = one per core (default).")
    int threads;

    @Option(names = "--list-shapes", description = "List the named shapes and exit.")
    boolean listShapes;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (listShapes) {
            out.printf(Locale.ROOT, "%-16s %-8s %6s %6s %6s %6s %8s %5s %8s %8s %12s%n",
                    "shape", "arch", "dim", "ffn", "layers", "heads", "kv heads", "head", "vocab", "context", "parameters");
            for (ModelShape s : ModelShapes.all().values()) {
                out.printf(Locale.ROOT, "%-16s %-8s %6d %6d %6d %6d %8d %5d %8d %8d %12s%n", s.name(), s.architecture(),
                        s.dim(), s.hiddenDim(), s.layers(), s.heads(), s.kvHeads(), s.headDim(), s.vocabSize(),
                        s.contextLength(), Units.count(s.parameterCount()));
            }
            out.flush();
            return 0;
        }
        if (output == null) {
            throw new IllegalArgumentException("name the GGUF file to write, e.g. llmnpu synth --shape " + shapeName + " model.gguf");
        }
        if (outliers != null) {
            throw new IllegalArgumentException("--outliers is reserved and not implemented yet");
        }
        AtomicFiles.checkWritable(output);
        ModelShape shape = shape();
        QuantRecipe weightType = QuantRecipe.parse(type);
        SyntheticModelWriter writer = new SyntheticModelWriter(shape, weightType, seed, threads);
        SyntheticModelWriter.Result r = writer.write(output, ConsoleProgress.stderr());
        out.printf(Locale.ROOT, "wrote %s: %s %s, %s parameters, %d tensors, %s in %.1f s%n", output, shape.name(),
                weightType.label().toUpperCase(Locale.ROOT), Units.count(r.parameters()), r.tensors(), Units.bytes(r.bytes()), r.nanos() / 1e9);
        out.flush();
        return 0;
    }

    private ModelShape shape() {
        ModelShape s = ModelShapes.byName(shapeName);
        boolean custom = dim != null || ffn != null || layers != null || heads != null || kvHeads != null
                || vocab != null || ctx != null || ropeTheta != null || headDim != null || rotaryDims != null;
        if (dim != null) {
            s = s.withDim(dim);
        }
        if (ffn != null) {
            s = s.withHiddenDim(ffn);
        }
        if (layers != null) {
            s = s.withLayers(layers);
        }
        if (heads != null || kvHeads != null) {
            int h = heads != null ? heads : s.heads();
            int kv = kvHeads != null ? kvHeads : (h % s.kvHeads() == 0 ? s.kvHeads() : h);
            s = s.withHeads(h, kv);
        }
        if (headDim != null || rotaryDims != null) {
            s = s.withHeadSize(headDim != null ? headDim : s.headSize(), rotaryDims != null ? rotaryDims : s.rotary());
        }
        if (vocab != null) {
            s = s.withVocabSize(vocab);
        }
        if (ctx != null) {
            s = s.withContextLength(ctx);
        }
        if (ropeTheta != null) {
            s = s.withRopeTheta(ropeTheta);
        }
        String renamed = "";
        if (arch != null && !arch.equals(s.architecture())) {
            s = s.withArchitecture(arch);
            renamed = "-" + arch;
        }
        if (tied) {
            s = s.withTiedOutput(true);
        }
        if (name != null) {
            s = s.withName(name);
        } else if (custom || !renamed.isEmpty()) {
            s = s.withName(s.name() + renamed + (custom ? "-custom" : ""));
        }
        return s;
    }
}
