package io.llmnpu.runtime.measure;

import io.llmnpu.api.backend.Device;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.engine.ChunkPlanner;
import io.llmnpu.runtime.engine.DevicePlan;
import io.llmnpu.runtime.engine.ForwardPass;
import io.llmnpu.runtime.graph.Architectures;
import io.llmnpu.runtime.graph.ModelGraphBuilder;
import io.llmnpu.runtime.engine.KvCache;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelWeights;
import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.LinearLayer;
import io.llmnpu.runtime.quant.LinearSite;
import io.llmnpu.runtime.quant.SiteCalibration;
import io.llmnpu.scheduler.ChunkDag;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs FP32 prefill over calibration sequences on the engine's float devices and measures the
 * activations that enter every linear layer (and the outputs they produce). The body graph is run with
 * those intermediate values as extra outputs (see {@link ObservedGraph}), so any backend can calibrate.
 * Each sequence runs from position 0 in chunks of {@value #CHUNK} rows; padding rows are not observed.
 */
public final class Calibrator {

    /** Chunk size of calibration runs: few shapes, little padding. */
    static final int CHUNK = 64;

    /**
     * @param percentile     percentile of |x| mapped to 127 by the clipped scale (99.9 drops the top 0.1%)
     * @param hotCoverage    hot channels: the busiest channels that together produce this share of outliers
     * @param hotMaxFraction but at most this share of a site's channels
     */
    public record Options(double percentile, double hotCoverage, double hotMaxFraction) {
        public static final Options DEFAULTS = new Options(99.9, 0.8, 0.05);

        public Options {
            if (!(percentile > 0 && percentile <= 100)) {
                throw new IllegalArgumentException("percentile must be in (0, 100], got " + percentile);
            }
            if (!(hotCoverage >= 0 && hotCoverage <= 1) || !(hotMaxFraction >= 0 && hotMaxFraction <= 1)) {
                throw new IllegalArgumentException("hot channel coverage and fraction must be in [0, 1]");
            }
        }
    }

    private final ModelConfig config;
    private final ModelWeights weights;
    private final DevicePlan plan;
    private final Options options;

    /** Calibrates on the devices of {@code plan}, which the caller keeps. */
    public Calibrator(ModelConfig config, ModelWeights weights, DevicePlan plan, Options options) {
        this.config = config;
        this.weights = weights;
        this.plan = plan;
        this.options = options;
    }

    /** Calibrates on {@code device} alone; the caller keeps its backend. */
    public Calibrator(ModelConfig config, ModelWeights weights, Device device, Options options) {
        this(config, weights, DevicePlan.of(device), options);
    }

    /**
     * Calibrates over {@code sequences} (token ids, each at most the context length).
     *
     * @param model      file name recorded in the result
     * @param modelBytes file size recorded in the result
     * @param textName   name of the text recorded in the result
     */
    public CalibrationData run(List<int[]> sequences, String model, long modelBytes, String textName,
                               ProgressListener progress) {
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("no calibration text: the text gave no token sequences");
        }
        int longest = sequences.stream().mapToInt(s -> s.length).max().orElseThrow();
        if (longest > config.contextLength()) {
            throw new IllegalArgumentException("a calibration sequence has " + longest + " tokens but the model's context is "
                    + config.contextLength());
        }
        long totalTokens = sequences.stream().mapToLong(s -> s.length).sum();
        int cacheRows = Math.min(config.contextLength(), roundUp(longest));
        int layers = config.layers();

        ModelGraphBuilder floats = Architectures.graphs(config, weights);
        String[][] siteValue = siteValues(floats.body(CHUNK, cacheRows));
        Set<String> present = new HashSet<>();
        for (Op op : floats.body(CHUNK, cacheRows).ops()) {
            op.outputs().forEach(v -> present.add(v.name()));
        }
        Set<String> observed = new LinkedHashSet<>();
        for (int l = 0; l < layers; l++) {
            for (LinearSite s : LinearSite.values()) {
                observed.add(siteValue[l][s.ordinal()]);
            }
            for (LinearLayer ll : LinearLayer.values()) {
                if (present.contains(ll.outputName(l))) {
                    observed.add(ll.outputName(l));
                }
            }
        }
        OutlierStatistics[][] stats = new OutlierStatistics[layers][LinearSite.values().length];
        float[][] outputMax = new float[layers][LinearLayer.values().length];
        for (int l = 0; l < layers; l++) {
            for (LinearSite s : LinearSite.values()) {
                stats[l][s.ordinal()] = new OutlierStatistics(siteWidth(s), totalTokens * siteWidth(s),
                        options.percentile());
            }
        }

        ModelGraphBuilder observing = new ModelGraphBuilder() {
            @Override
            public Subgraph body(int rows, int cache) {
                return ObservedGraph.withOutputs(floats.body(rows, cache), List.copyOf(observed));
            }

            @Override
            public Subgraph head(int rows) {
                return floats.head(rows);
            }
        };
        String stage = "calibrating on " + textName;
        progress.progress(stage, 0, totalTokens);
        long done = 0;
        try (KvCache cache = new KvCache(config, cacheRows);
             ForwardPass pass = new ForwardPass(config, observing, plan, new ChunkPlanner(CHUNK), cacheRows, null, null)) {
            ForwardPass.ChunkSink sink = (chunk, values) -> {
                for (int l = 0; l < layers; l++) {
                    for (LinearSite s : LinearSite.values()) {
                        stats[l][s.ordinal()].observe(values.apply(siteValue[l][s.ordinal()]).data(), chunk.length());
                    }
                    for (LinearLayer ll : LinearLayer.values()) {
                        if (!present.contains(ll.outputName(l))) {
                            continue;
                        }
                        Tensor t = values.apply(ll.outputName(l));
                        outputMax[l][ll.ordinal()] = Math.max(outputMax[l][ll.ordinal()],
                                absMax(t.data(), (long) chunk.length() * t.shape().cols()));
                    }
                }
            };
            for (int[] sequence : sequences) {
                pass.run(new ForwardPass.Request(cache, sequence, 0, ChunkDag.Heads.NONE, false, null, null, sink));
                done += sequence.length;
                progress.progress(stage, done, totalTokens);
            }
        }

        List<CalibrationData.Layer> result = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            Map<LinearSite, SiteCalibration> sites = new EnumMap<>(LinearSite.class);
            for (LinearSite s : LinearSite.values()) {
                sites.put(s, stats[l][s.ordinal()].finish(options.hotCoverage(), options.hotMaxFraction()));
            }
            Map<LinearLayer, Float> outputs = new EnumMap<>(LinearLayer.class);
            for (LinearLayer ll : LinearLayer.values()) {
                outputs.put(ll, outputMax[l][ll.ordinal()]);
            }
            result.add(new CalibrationData.Layer(sites, outputs));
        }
        return new CalibrationData(model, modelBytes, config.dim(), textName, sequences.size(), totalTokens,
                options.percentile(), result);
    }

    /**
     * The value each site's statistics come from, per layer: the site's own value ({@code blk.L.ffn_in}) where the
     * architecture's graph has it, else the value its linear layers really read (Phi-2's parallel MLP reads
     * {@code blk.L.attn_in}), so the INT8 scales fit what the NPU path quantizes.
     */
    private String[][] siteValues(Subgraph body) {
        Set<String> names = new HashSet<>();
        Map<String, String> inputOf = new HashMap<>();
        for (Op op : body.ops()) {
            op.outputs().forEach(v -> names.add(v.name()));
            if (op instanceof Op.Linear linear) {
                inputOf.put(linear.out().name(), linear.in().name());
            }
        }
        String[][] result = new String[config.layers()][LinearSite.values().length];
        for (int l = 0; l < config.layers(); l++) {
            for (LinearSite s : LinearSite.values()) {
                String name = s.valueName(l);
                if (!names.contains(name)) {
                    name = null;
                    for (LinearLayer ll : LinearLayer.values()) {
                        if (ll.site() == s && inputOf.containsKey(ll.outputName(l))) {
                            name = inputOf.get(ll.outputName(l));
                            break;
                        }
                    }
                }
                if (name == null) {
                    throw new IllegalStateException("layer " + l + " of this " + config.architecture()
                            + " graph has no input for the " + s.key() + " linear layers");
                }
                result[l][s.ordinal()] = name;
            }
        }
        return result;
    }

    private int siteWidth(LinearSite s) {
        return switch (s) {
            case QKV, GATE_UP -> config.dim();
            case O -> config.qDim();
            case DOWN -> config.hiddenDim();
        };
    }

    private static int roundUp(int n) {
        return (n + CHUNK - 1) / CHUNK * CHUNK;
    }

    private static float absMax(MemorySegment data, long count) {
        float m = 0;
        for (long i = 0; i < count; i++) {
            m = Math.max(m, Math.abs(data.getAtIndex(Tensor.F32_LE, i)));
        }
        return m;
    }
}
