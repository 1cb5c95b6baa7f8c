package io.llmnpu.runtime.cli;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelFamily;
import io.llmnpu.runtime.model.load.ModelLoader;
import io.llmnpu.runtime.model.ModelWeights;
import io.llmnpu.runtime.tokenizer.Gpt2BpeTokenizer;
import io.llmnpu.runtime.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code llmnpu info}: what a model file holds. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show a model's architecture, config, tensors by type and size, and tokenizer.")
final class InfoCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", description = "GGUF file or llama2.c checkpoint (default: the default model).")
    Path model;

    @Option(names = "--tokenizer", description = "Tokenizer .bin for a llama2.c checkpoint (default: found next to it).")
    Path tokenizer;

    @Option(names = "--tensors", description = "List every tensor.")
    boolean listTensors;

    @Option(names = "--metadata", description = "List every metadata key (long arrays abbreviated).")
    boolean listMetadata;

    @Override
    public Integer call() {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (LoadedModel m = ModelLoader.load(ModelLocator.resolve(model), tokenizer)) {
            ModelConfig c = m.config();
            out.printf(Locale.ROOT, "file          %s%n", m.source());
            out.printf(Locale.ROOT, "format        %s%n", m.format());
            out.printf(Locale.ROOT, "architecture  %s (%s graph)%n", c.architecture(),
                    ModelFamily.of(c).name().toLowerCase(Locale.ROOT));
            out.printf(Locale.ROOT, "dim           %d%n", c.dim());
            out.printf(Locale.ROOT, "ffn dim       %d%n", c.hiddenDim());
            out.printf(Locale.ROOT, "layers        %d%n", c.layers());
            out.printf(Locale.ROOT, "heads         %d (kv %d, head dim %d)%n", c.heads(), c.kvHeads(), c.headDim());
            out.printf(Locale.ROOT, "context       %d%n", c.contextLength());
            out.printf(Locale.ROOT, "rope          %s, theta %.1f, %d rotary dims%s%n", c.ropeStyle(), c.ropeTheta(),
                    c.rotaryDims(), m.weights().find(ModelWeights.ROPE_FREQS).isPresent() ? ", frequency factors" : "");
            out.printf(Locale.ROOT, "norm epsilon  %g%n", c.rmsEps());
            if (c.slidingWindow() > 0) {
                out.printf(Locale.ROOT, "window        %d positions%n", c.slidingWindow());
            }
            if (c.attnSoftCap() > 0 || c.finalSoftCap() > 0) {
                out.printf(Locale.ROOT, "soft caps     attention %.1f, logits %.1f%n", c.attnSoftCap(), c.finalSoftCap());
            }
            out.printf(Locale.ROOT, "output        %s%n", m.weights().tiedOutput() ? "tied to token embedding" : "separate");
            Tokenizer t = m.tokenizer();
            String pre = t instanceof Gpt2BpeTokenizer bpe ? " (pre-tokenizer " + bpe.preTokenizer().name().toLowerCase(Locale.ROOT) + ")" : "";
            out.printf(Locale.ROOT, "tokenizer     %s%s, %d tokens, bos %d, eos %d%n", t.kind(), pre, t.vocabSize(), t.bos(), t.eos());
            out.printf(Locale.ROOT, "tensors       %d, %.2f MiB%n", m.tensors().size(), m.weightBytes() / 1048576.0);
            for (Map.Entry<DType, long[]> e : m.tensorsByType().entrySet()) {
                out.printf(Locale.ROOT, "  %-6s %5d tensors %10.2f MiB%n", e.getKey(), e.getValue()[0], e.getValue()[1] / 1048576.0);
            }
            if (listTensors) {
                for (Tensor tensor : m.tensors()) {
                    out.printf(Locale.ROOT, "  %-32s %-5s %-16s %10d bytes%n", tensor.name(), tensor.dtype(), tensor.shape(), tensor.byteSize());
                }
            }
            if (listMetadata) {
                m.metadata().forEach((k, v) -> out.printf(Locale.ROOT, "  %s = %s%n", k, abbreviate(v)));
            }
        }
        return 0;
    }

    private static String abbreviate(Object value) {
        if (value instanceof List<?> list && list.size() > 8) {
            return list.subList(0, 8) + "... (" + list.size() + " values)";
        }
        return String.valueOf(value);
    }
}
