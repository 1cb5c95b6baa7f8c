package io.llmnpu.runtime.quant;

import io.llmnpu.api.backend.Device;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.api.ProgressListener;
import io.llmnpu.runtime.engine.ExecutionTrace;
import io.llmnpu.runtime.engine.HybridForwardPass;
import io.llmnpu.runtime.engine.HybridGraph;
import io.llmnpu.runtime.engine.KvCache;
import io.llmnpu.runtime.graph.Architectures;
import io.llmnpu.runtime.graph.ModelGraphBuilder;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelWeights;
import java.util.ArrayList;
import java.util.List;

/**
 * Scores quantized configurations against FP32 on token sequences: perplexity of each, and per
 * predicted position the KL divergence KL(P_fp32 || P_config) of the next-token distributions and
 * whether their top-1 tokens agree. Every sequence starts from position 0 with a fresh context; FP32
 * runs on the CPU, the quantized configurations on the NPU and the CPU. The LM head stays in float.
 */
public final class QuantEvaluator {

    /**
     * Scores of one configuration.
     *
     * @param predictions   positions scored (each sequence's tokens after the first)
     * @param perplexity    exp of the mean negative log-likelihood of the actual next tokens
     * @param meanKl        mean KL(P_fp32 || P) in nats (0 for FP32)
     * @param top1Agreement share of positions whose most likely token equals FP32's
     * @param shadowSites   linear sites with a shadow
     * @param hotBytes      bytes of hot-channel weight columns kept on the CPU
     * @param linearF32Bytes bytes of all transformer linear weights in F32
     * @param seconds       wall time of its forward passes
     * @param npuSeconds    time its NPU parts ran
     * @param cpuSeconds    time its CPU parts ran
     * @param overlapSeconds time NPU and CPU parts ran at once
     */
    public record ModeResult(QuantConfig config, long predictions, double perplexity, double meanKl,
                             double top1Agreement, int shadowSites, long hotBytes, long linearF32Bytes,
                             double seconds, double npuSeconds, double cpuSeconds, double overlapSeconds) {
        public double hotFraction() {
            return linearF32Bytes == 0 ? 0 : (double) hotBytes / linearF32Bytes;
        }
    }

    /** Every configuration's scores, FP32 first. */
    public record Result(int sequences, long predictions, List<ModeResult> modes) {
        public ModeResult fp32() {
            return modes.getFirst();
        }

        public ModeResult mode(QuantMode mode) {
            return modes.stream().filter(m -> m.config().mode() == mode).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException(mode + " was not evaluated"));
        }
    }

    private final ModelConfig config;
    private final ModelWeights weights;
    private final CalibrationData calibration;
    private final Device npu;
    private final Device cpu;

    public QuantEvaluator(ModelConfig config, ModelWeights weights, CalibrationData calibration, Device npu, Device cpu) {
        this.config = config;
        this.weights = weights;
        this.calibration = calibration;
        this.npu = npu;
        this.cpu = cpu;
    }

    /** Scores FP32 and every quantized configuration in {@code configs} (FP32 entries there are skipped). */
    public Result evaluate(List<int[]> sequences, List<QuantConfig> configs, ProgressListener progress) {
        QuantizedGraphBuilder.requireLlamaGraph(config, weights);
        List<int[]> usable = sequences.stream().filter(s -> s.length >= 2).toList();
        if (usable.isEmpty()) {
            throw new IllegalArgumentException("no sequence of at least two tokens to score");
        }
        int longest = usable.stream().mapToInt(s -> s.length).max().orElseThrow();
        if (longest > config.contextLength()) {
            throw new IllegalArgumentException("a sequence of " + longest + " tokens exceeds the context of "
                    + config.contextLength());
        }
        int cacheRows = Math.min(config.contextLength(),
                (longest + HybridForwardPass.ROW_BUCKET - 1) / HybridForwardPass.ROW_BUCKET * HybridForwardPass.ROW_BUCKET);
        List<QuantConfig> quantized = configs.stream().filter(c -> c.mode().quantized()).toList();
        ModelGraphBuilder fp32Graphs = Architectures.graphs(config, weights);

        List<Scorer> scorers = new ArrayList<>();
        try (Int8WeightStore store = new Int8WeightStore(); KvCache cache = new KvCache(config, cacheRows)) {
            scorers.add(new Scorer(QuantConfig.of(QuantMode.FP32), null, new HybridForwardPass(config,
                    rows -> HybridGraph.cpuOnly(fp32Graphs.body(rows, cacheRows)), weights.output(), null, cpu,
                    cacheRows, new ExecutionTrace())));
            for (QuantConfig qc : quantized) {
                QuantPlan plan = QuantPlan.create(config, weights, calibration, qc, store);
                QuantizedGraphBuilder builder = new QuantizedGraphBuilder(config, weights, plan);
                scorers.add(new Scorer(qc, plan, new HybridForwardPass(config, rows -> builder.body(rows, cacheRows),
                        weights.output(), npu, cpu, cacheRows, new ExecutionTrace())));
            }
            long total = usable.stream().mapToLong(s -> s.length).sum();
            long done = 0;
            String stage = "evaluating " + scorers.size() + " configurations";
            progress.progress(stage, 0, total);
            int vocab = config.vocabSize();
            for (int[] seq : usable) {
                int n = seq.length - 1;
                double[][] reference = new double[n][];
                int[] referenceTop = new int[n];
                for (Scorer s : scorers) {
                    long t0 = System.nanoTime();
                    Tensor logits = s.pass.logits(cache, seq);
                    s.nanos += System.nanoTime() - t0;
                    float[] row = new float[vocab];
                    for (int t = 0; t < n; t++) {
                        java.lang.foreign.MemorySegment.copy(logits.data(), Tensor.F32_LE,
                                (long) t * vocab * Float.BYTES, row, 0, vocab);
                        double[] logp = logSoftmax(row);
                        int top = argmax(row);
                        s.nll -= logp[seq[t + 1]];
                        s.count++;
                        if (s.plan == null) {
                            reference[t] = logp;
                            referenceTop[t] = top;
                        } else {
                            s.kl += kl(reference[t], logp);
                            if (top == referenceTop[t]) {
                                s.agree++;
                            }
                        }
                    }
                }
                done += seq.length;
                progress.progress(stage, done, total);
            }
            List<ModeResult> results = new ArrayList<>();
            for (Scorer s : scorers) {
                results.add(s.result());
            }
            return new Result(usable.size(), scorers.getFirst().count, results);
        } finally {
            scorers.forEach(s -> s.pass.close());
        }
    }

    static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        double log = max + Math.log(sum);
        double[] out = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = logits[i] - log;
        }
        return out;
    }

    /** KL(P || Q) from log-probabilities. */
    static double kl(double[] logP, double[] logQ) {
        double sum = 0;
        for (int i = 0; i < logP.length; i++) {
            double p = Math.exp(logP[i]);
            if (p > 0) {
                sum += p * (logP[i] - logQ[i]);
            }
        }
        return Math.max(0, sum);
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Running sums of one configuration. */
    private static final class Scorer {
        final QuantConfig config;
        final QuantPlan plan;
        final HybridForwardPass pass;
        final ExecutionTrace trace;
        double nll;
        double kl;
        long agree;
        long count;
        long nanos;

        Scorer(QuantConfig config, QuantPlan plan, HybridForwardPass pass) {
            this.config = config;
            this.plan = plan;
            this.pass = pass;
            this.trace = pass.trace();
        }

        ModeResult result() {
            long npuNanos = 0;
            long cpuNanos = 0;
            for (ExecutionTrace.Interval i : trace.intervals()) {
                if (i.device().equals("npu")) {
                    npuNanos += i.nanos();
                } else {
                    cpuNanos += i.nanos();
                }
            }
            boolean reference = plan == null;
            return new ModeResult(config, count, Math.exp(nll / count), reference ? 0 : kl / count,
                    reference ? 1 : (double) agree / count, reference ? 0 : plan.shadowSites(),
                    reference ? 0 : plan.hotBytes(), reference ? 0 : plan.linearF32Bytes(), nanos / 1e9,
                    npuNanos / 1e9, cpuNanos / 1e9, trace.overlapNanos() / 1e9);
        }
    }
}
