package io.llmnpu.runtime.quant;

import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.api.ProgressListener;
import io.llmnpu.runtime.engine.KvCache;
import io.llmnpu.runtime.graph.Architectures;
import io.llmnpu.runtime.graph.ModelGraphBuilder;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelWeights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs FP32 prefill over calibration sequences on a float device and measures the activations that
 * enter every linear layer (and the outputs they produce). The body graph of
 * {@link ModelGraphBuilder} is compiled with those intermediate values as extra outputs (see
 * {@link ObservedGraph}), so any backend can calibrate. Each sequence runs from position 0 in one
 * static-shape chunk; padding rows are not observed.
 */
public final class Calibrator {

    /** Rows of calibration graphs are rounded up to a multiple of this, to keep the number of shapes small. */
    static final int ROW_BUCKET = 64;

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
    private final Device device;
    private final Options options;

    public Calibrator(ModelConfig config, ModelWeights weights, Device device, Options options) {
        this.config = config;
        this.weights = weights;
        this.device = device;
        this.options = options;
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
        QuantizedGraphBuilder.requireLlamaGraph(config, weights);
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

        List<String> observed = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            for (LinearSite s : LinearSite.values()) {
                observed.add(s.valueName(l));
            }
            for (LinearLayer ll : LinearLayer.values()) {
                observed.add(ll.outputName(l));
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

        ModelGraphBuilder builder = Architectures.graphs(config, weights);
        Map<Integer, Runner> runners = new HashMap<>();
        String stage = "calibrating on " + textName;
        progress.progress(stage, 0, totalTokens);
        long done = 0;
        try (Arena arena = Arena.ofShared(); KvCache cache = new KvCache(config, cacheRows)) {
            for (int[] sequence : sequences) {
                int rows = Math.min(cacheRows, roundUp(sequence.length));
                Runner runner = runners.computeIfAbsent(rows, r -> new Runner(
                        device.compile(ObservedGraph.withOutputs(builder.body(r, cacheRows), observed)), r, arena));
                Map<String, Tensor> out = runner.run(sequence, cache);
                for (int l = 0; l < layers; l++) {
                    for (LinearSite s : LinearSite.values()) {
                        stats[l][s.ordinal()].observe(out.get(s.valueName(l)).data(), sequence.length);
                    }
                    for (LinearLayer ll : LinearLayer.values()) {
                        Tensor t = out.get(ll.outputName(l));
                        outputMax[l][ll.ordinal()] = Math.max(outputMax[l][ll.ordinal()],
                                absMax(t.data(), (long) sequence.length * t.shape().cols()));
                    }
                }
                done += sequence.length;
                progress.progress(stage, done, totalTokens);
            }
        } finally {
            runners.values().forEach(r -> r.graph.close());
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

    private int siteWidth(LinearSite s) {
        return switch (s) {
            case QKV, GATE_UP -> config.dim();
            case O -> config.qDim();
            case DOWN -> config.hiddenDim();
        };
    }

    private static int roundUp(int n) {
        return (n + ROW_BUCKET - 1) / ROW_BUCKET * ROW_BUCKET;
    }

    private static float absMax(MemorySegment data, long count) {
        float m = 0;
        for (long i = 0; i < count; i++) {
            m = Math.max(m, Math.abs(data.getAtIndex(Tensor.F32_LE, i)));
        }
        return m;
    }

    /** A compiled observed body graph with its tensors. */
    private final class Runner {
        private final CompiledGraph graph;
        private final int rows;
        private final Tensor tokens;
        private final Tensor positions;
        private final Map<Value, Tensor> bindings = new HashMap<>();
        private final Map<String, Tensor> outputs = new HashMap<>();
        private final Value[] keyCaches;
        private final Value[] valueCaches;

        Runner(CompiledGraph graph, int rows, Arena arena) {
            this.graph = graph;
            this.rows = rows;
            Subgraph g = graph.graph();
            Map<String, Value> inputs = new HashMap<>();
            g.inputs().forEach(v -> inputs.put(v.name(), v));
            tokens = Tensor.allocate(arena, "tokens", DType.I32, Shape.of(rows));
            positions = Tensor.allocate(arena, "positions", DType.I32, Shape.of(rows));
            bindings.put(inputs.get(ModelGraphBuilder.TOKENS), tokens);
            bindings.put(inputs.get(ModelGraphBuilder.POSITIONS), positions);
            keyCaches = new Value[config.layers()];
            valueCaches = new Value[config.layers()];
            for (int l = 0; l < config.layers(); l++) {
                keyCaches[l] = inputs.get(ModelGraphBuilder.keyCacheName(l));
                valueCaches[l] = inputs.get(ModelGraphBuilder.valueCacheName(l));
            }
            for (Value v : g.outputs()) {
                Tensor t = Tensor.allocate(arena, v.name(), v.dtype(), v.shape());
                bindings.put(v, t);
                outputs.put(v.name(), t);
            }
        }

        Map<String, Tensor> run(int[] sequence, KvCache cache) {
            for (int i = 0; i < rows; i++) {
                boolean real = i < sequence.length;
                tokens.setInt(i, real ? sequence[i] : 0);
                positions.setInt(i, real ? i : -1);
            }
            for (int l = 0; l < config.layers(); l++) {
                bindings.put(keyCaches[l], cache.keys(l));
                bindings.put(valueCaches[l], cache.values(l));
            }
            graph.execute(bindings);
            return outputs;
        }
    }
}
