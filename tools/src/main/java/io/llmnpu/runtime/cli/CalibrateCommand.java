package io.llmnpu.runtime.cli;

import io.llmnpu.runtime.files.AtomicFiles;
import io.llmnpu.runtime.files.TextFiles;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.load.ModelLoader;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.runtime.engine.DevicePlan;
import io.llmnpu.runtime.measure.Calibrator;
import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.CalibrationFile;
import io.llmnpu.runtime.quant.CalibrationStore;
import io.llmnpu.runtime.quant.LinearSite;
import io.llmnpu.runtime.quant.ParagraphChunker;
import io.llmnpu.runtime.quant.SiteCalibration;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code llmnpu calibrate}: activation statistics for INT8 execution, saved beside the model. */
@Command(name = "calibrate", mixinStandardHelpOptions = true,
        description = {"Run FP32 prefill over a text and record, for the input of every linear layer, the ranges",
            "an INT8 NPU needs: absmax, the clipped scale (p99.9 of |x| / 127), outliers per channel, hot",
            "channels and importance. Writes MODEL.calib.json beside the model, or into the per-user cache",
            "(~/.cache/llmnpu/calib, keyed by the model's content) when the model's folder is read-only",
            "(see docs/calibration.md)."})
final class CalibrateCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", description = "GGUF file or llama2.c checkpoint (default: the default model).")
    Path model;

    @Option(names = "--text", required = true, description = "Calibration text (paragraphs separated by blank lines).")
    Path text;

    @Option(names = "--tokens", defaultValue = "0", description = "Use at most this many tokens of the text; 0 = all (default).")
    long tokens;

    @Option(names = {"-o", "--out"}, description = "Where to write the statistics (default: MODEL.calib.json beside the model, or the per-user cache).")
    Path out;

    @Option(names = "--percentile", defaultValue = "99.9", description = "Percentile of |x| the clipped scale maps to 127 (default: ${DEFAULT-VALUE}).")
    double percentile;

    @Option(names = "--hot-coverage", defaultValue = "0.8", description = "Hot channels produce this share of outliers (default: ${DEFAULT-VALUE}).")
    double hotCoverage;

    @Option(names = "--hot-max-fraction", defaultValue = "0.05", description = "At most this share of a layer's channels is hot (default: ${DEFAULT-VALUE}).")
    double hotMaxFraction;

    @Option(names = "--tokenizer", description = "Tokenizer .bin for a llama2.c checkpoint (default: found next to it).")
    Path tokenizer;

    @Option(names = "--threads", defaultValue = "0", description = "Kernel threads; 0 = one per core (default).")
    int threads;

    @Option(names = "--backend", description = "Float backend to run the model on (default: cpu).")
    String backend;

    @Override
    public Integer call() throws IOException {
        FlagChecks.threads("--threads", threads, System.err);
        Path modelPath = ModelLocator.resolve(model);
        Path target = out != null ? out : CalibrationStore.defaultTarget(modelPath);
        if (out == null) {
            Files.createDirectories(target.toAbsolutePath().getParent()); // the per-user cache may not exist yet
        }
        AtomicFiles.checkWritable(target); // before the calibration run, not after: -o into a missing folder fails here
        String content = TextFiles.readUtf8(text, "calibration text");
        PrintStream console = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        BackendRegistry registry = new BackendRegistry(java.util.List.of(
                BackendRegistry.discover(CalibrateCommand.class.getClassLoader()).select(backend)));
        try (LoadedModel m = ModelLoader.load(modelPath, tokenizer, ConsoleProgress.stderr());
             DevicePlan devices = DevicePlan.open(registry, DevicePlan.Config.of(backend, new BackendOptions(threads)))) {
            int maxTokens = Math.min(ParagraphChunker.DEFAULT.maxTokens(), m.config().contextLength());
            List<int[]> sequences = limit(new ParagraphChunker(ParagraphChunker.DEFAULT.maxChars(), maxTokens)
                    .sequences(content, m.tokenizer(), 0), tokens);
            Calibrator calibrator = new Calibrator(m.config(), m.weights(), devices,
                    new Calibrator.Options(percentile, hotCoverage, hotMaxFraction));
            long t0 = System.nanoTime();
            CalibrationData data = calibrator.run(sequences, modelPath.getFileName().toString(), Files.size(modelPath),
                    text.getFileName().toString(), ConsoleProgress.stderr());
            double seconds = (System.nanoTime() - t0) / 1e9;
            CalibrationFile.write(data, target);
            console.print(summary(data));
            console.printf(Locale.ROOT, "%d sequences, %d tokens in %.1f s on %s; wrote %s%n", data.sequences(),
                    data.tokens(), seconds, String.join(" + ", devices.devices()), target);
        }
        return 0;
    }

    /** The sequences, cut so that they hold at most {@code budget} tokens together (0: no limit). */
    static List<int[]> limit(List<int[]> sequences, long budget) {
        if (budget <= 0) {
            return sequences;
        }
        List<int[]> out = new ArrayList<>();
        long left = budget;
        for (int[] s : sequences) {
            if (left < 2) {
                break;
            }
            int take = (int) Math.min(s.length, left);
            out.add(take == s.length ? s : Arrays.copyOf(s, take));
            left -= take;
        }
        return out;
    }

    static String summary(CalibrationData data) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-6s %-8s %10s %10s %10s %9s %9s  %s%n", "layer", "input", "absmax",
                "p" + trim(data.percentile()), "importance", "outliers", "hot cover", "hot channels"));
        for (int l = 0; l < data.layers().size(); l++) {
            for (LinearSite s : LinearSite.values()) {
                SiteCalibration c = data.site(l, s);
                int[] hot = c.hotChannels();
                String hotList = Arrays.toString(hot.length > 8 ? Arrays.copyOf(hot, 8) : hot)
                        + (hot.length > 8 ? " +" + (hot.length - 8) : "");
                b.append(String.format(Locale.ROOT, "%-6d %-8s %10.4f %10.4f %10.1f %9d %8.0f%%  %s%n", l, s.key(),
                        c.absMax(), c.clipValue(), c.importance(), c.outliers(), 100 * c.hotCoverage(), hotList));
            }
        }
        return b.toString();
    }

    private static String trim(double p) {
        return p == Math.rint(p) ? Long.toString((long) p) : Double.toString(p);
    }
}
