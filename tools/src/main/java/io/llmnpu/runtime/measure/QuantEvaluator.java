package io.llmnpu.runtime.measure;

import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.engine.ChunkPlanner;
import io.llmnpu.runtime.engine.DevicePlan;
import io.llmnpu.runtime.engine.ForwardPass;
import io.llmnpu.runtime.graph.Architectures;
import io.llmnpu.runtime.graph.ModelGraphBuilder;
import io.llmnpu.runtime.engine.KvCache;
import io.llmnpu.runtime.graph.ModelGraphBuilder;
import io.llmnpu.runtime.engine.RunTrace;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelWeights;
import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.Int8WeightStore;
import io.llmnpu.runtime.quant.NpuRewrite;
import io.llmnpu.runtime.quant.QuantConfig;
import io.llmnpu.runtime.quant.QuantMode;
import io.llmnpu.runtime.quant.QuantPlan;
import io.llmnpu.scheduler.ChunkDag;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Scores quantized configurations against FP32 on token sequences: perplexity of each, and per
 * predicted position the KL divergence KL(P_fp32 || P_config) of the next-token distributions and
 * whether their top-1 tokens agree. Every sequence starts from position 0 with a fresh context, in
 * chunks of {@value #CHUNK} rows, through the engine: FP32 on the float devices, the quantized
 * configurations on the NPU path (INT8 linears on the NPU, the rest on float devices). The LM head stays
 * in float.
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

    /** Chunk size of scoring runs. */
    static final int CHUNK = 64;

    /**
     * How one configuration's prompts end, against float prefill of the same prompts: what a user of
     * {@code generate} would see.
     *
     * @param prompts         prompts run
     * @param agreement       share of prompts whose greedy next token equals the float prefill's
     * @param meanKl          mean KL(P_float || P_config) of the next-token distributions, in nats
     * @param maxKl           the largest of them
     * @param npuShare        share of the prefill wall time the NPU devices were busy
     * @param closeCalls      disagreements where float prefill's two most likely tokens were within
     *                        {@value #CLOSE_CALL} in probability: coin flips any perturbation may turn
     */
    public record PromptResult(QuantConfig config, int prompts, double agreement, double meanKl, double maxKl,
                               double npuShare, int closeCalls) {
    }

    /** Probability gap under which two top tokens count as a close call. */
    public static final double CLOSE_CALL = 0.05;

    /**
     * Runs every prompt with float prefill and with each quantized configuration's NPU prefill (chunks of
     * {@code chunk}, as {@code generate} runs them) and compares the distributions of the next token.
     */
    public List<PromptResult> evaluatePrompts(List<int[]> prompts, List<QuantConfig> configs, int chunk,
                                              ProgressListener progress) {
        if (prompts.isEmpty()) {
            throw new IllegalArgumentException("no prompt to run");
        }
        int longest = prompts.stream().mapToInt(s -> s.length).max().orElseThrow();
        if (longest > config.contextLength()) {
            throw new IllegalArgumentException("a prompt of " + longest + " tokens exceeds the context of "
                    + config.contextLength());
        }
        int cacheRows = Math.min(config.contextLength(), (longest + chunk - 1) / chunk * chunk);
        List<QuantConfig> quantized = configs.stream().filter(c -> c.mode().quantized()).toList();
        ModelGraphBuilder graphs = Architectures.graphs(config, weights);
        ChunkPlanner planner = new ChunkPlanner(chunk);
        List<ForwardPass> passes = new ArrayList<>();
        try (Int8WeightStore store = new Int8WeightStore(); KvCache cache = new KvCache(config, cacheRows)) {
            ForwardPass reference = new ForwardPass(config, graphs, plan, planner, cacheRows, null, null);
            passes.add(reference);
            for (QuantConfig qc : quantized) {
                NpuRewrite rewrite = new NpuRewrite(config, weights, calibration, qc, store);
                passes.add(new ForwardPass(config, graphs, plan, planner, cacheRows, new ForwardPass.NpuPath(rewrite, npuBackend), null));
            }
            int n = quantized.size();
            long[] agree = new long[n];
            int[] close = new int[n];
            double[] kl = new double[n];
            double[] maxKl = new double[n];
            double[] npuBusy = new double[n];
            double[] wall = new double[n];
            String stage = "running " + prompts.size() + " prompts in " + (n + 1) + " configurations";
            progress.progress(stage, 0, prompts.size());
            for (int i = 0; i < prompts.size(); i++) {
                int[] prompt = prompts.get(i);
                float[] floatLogits = reference.run(ForwardPass.Request.of(cache, prompt, 0).withNpu(false)).lastLogits();
                double[] logp = logSoftmax(floatLogits);
                int top = argmax(floatLogits);
                double secondLogp = Double.NEGATIVE_INFINITY;
                for (int v = 0; v < logp.length; v++) {
                    if (v != top) {
                        secondLogp = Math.max(secondLogp, logp[v]);
                    }
                }
                boolean closeCall = Math.exp(logp[top]) - Math.exp(secondLogp) < CLOSE_CALL;
                for (int q = 0; q < n; q++) {
                    ForwardPass.Result run = passes.get(q + 1).run(ForwardPass.Request.of(cache, prompt, 0));
                    if (!run.usedNpu() && prompt.length > 1) {
                        throw new IllegalStateException("no device runs the INT8 linear layers of "
                                + quantized.get(q).mode().key() + ": plug in an NPU backend");
                    }
                    double d = kl(logp, logSoftmax(run.lastLogits()));
                    kl[q] += d;
                    maxKl[q] = Math.max(maxKl[q], d);
                    if (argmax(run.lastLogits()) == top) {
                        agree[q]++;
                    } else if (closeCall) {
                        close[q]++;
                    }
                    RunTrace t = run.trace();
                    for (int dev = 0; dev < t.devices().size(); dev++) {
                        if (t.devices().get(dev).kind() == DeviceKind.NPU) {
                            npuBusy[q] += t.busySeconds(dev);
                        }
                    }
                    wall[q] += t.seconds();
                }
                progress.progress(stage, i + 1, prompts.size());
            }
            List<PromptResult> out = new ArrayList<>();
            for (int q = 0; q < n; q++) {
                out.add(new PromptResult(quantized.get(q), prompts.size(), (double) agree[q] / prompts.size(),
                        kl[q] / prompts.size(), maxKl[q], wall[q] > 0 ? npuBusy[q] / wall[q] : 0, close[q]));
            }
            return out;
        } finally {
            passes.forEach(ForwardPass::close);
        }
    }

    private final ModelConfig config;
    private final ModelWeights weights;
    private final CalibrationData calibration;
    private final DevicePlan plan;
    private final String npuBackend;

    /**
     * @param plan       the devices (an NPU among them for the quantized configurations); the caller keeps it
     * @param npuBackend the NPU backend the INT8 linears go to, or null for any NPU device
     */
    public QuantEvaluator(ModelConfig config, ModelWeights weights, CalibrationData calibration, DevicePlan plan,
                          String npuBackend) {
        this.config = config;
        this.weights = weights;
        this.calibration = calibration;
        this.plan = plan;
        this.npuBackend = npuBackend;
    }

    /** Scores FP32 and every quantized configuration in {@code configs} (FP32 entries there are skipped). */
    public Result evaluate(List<int[]> sequences, List<QuantConfig> configs, ProgressListener progress) {
        List<int[]> usable = sequences.stream().filter(s -> s.length >= 2).toList();
        if (usable.isEmpty()) {
            throw new IllegalArgumentException("no sequence of at least two tokens to score");
        }
        int longest = usable.stream().mapToInt(s -> s.length).max().orElseThrow();
        if (longest > config.contextLength()) {
            throw new IllegalArgumentException("a sequence of " + longest + " tokens exceeds the context of "
                    + config.contextLength());
        }
        int cacheRows = Math.min(config.contextLength(), (longest + CHUNK - 1) / CHUNK * CHUNK);
        List<QuantConfig> quantized = configs.stream().filter(c -> c.mode().quantized()).toList();
        ModelGraphBuilder graphs = Architectures.graphs(config, weights);
        ChunkPlanner planner = new ChunkPlanner(CHUNK);

        List<Scorer> scorers = new ArrayList<>();
        try (Int8WeightStore store = new Int8WeightStore(); KvCache cache = new KvCache(config, cacheRows)) {
            scorers.add(new Scorer(QuantConfig.of(QuantMode.FP32), null,
                    new ForwardPass(config, graphs, plan, planner, cacheRows, null, null)));
            for (QuantConfig qc : quantized) {
                NpuRewrite rewrite = new NpuRewrite(config, weights, calibration, qc, store);
                scorers.add(new Scorer(qc, rewrite, new ForwardPass(config, graphs, plan, planner, cacheRows,
                        new ForwardPass.NpuPath(rewrite, npuBackend), null)));
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
                    float[] row = new float[vocab];
                    ForwardPass.Result run = s.pass.run(new ForwardPass.Request(cache, seq, 0, ChunkDag.Heads.EVERY_CHUNK,
                            true, null, null, (chunk, values) -> {
                                Tensor logits = values.apply(ModelGraphBuilder.LOGITS);
                                for (int i = 0; i < chunk.length(); i++) {
                                    int t = chunk.start() + i;
                                    if (t >= n) {
                                        break;
                                    }
                                    MemorySegment.copy(logits.data(), Tensor.F32_LE, (long) i * vocab * Float.BYTES,
                                            row, 0, vocab);
                                    s.score(t, row, seq[t + 1], reference, referenceTop);
                                }
                            }));
                    if (s.rewrite != null && !run.usedNpu()) {
                        throw new IllegalStateException("no device runs the INT8 linear layers of " + s.config.mode().key()
                                + ": plug in an NPU backend" + (npuBackend == null ? "" : " (" + npuBackend + ")"));
                    }
                    s.account(run);
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
        final NpuRewrite rewrite;
        final ForwardPass pass;
        double nll;
        double kl;
        long agree;
        long count;
        double seconds;
        double npuSeconds;
        double otherSeconds;
        double overlapSeconds;

        Scorer(QuantConfig config, NpuRewrite rewrite, ForwardPass pass) {
            this.config = config;
            this.rewrite = rewrite;
            this.pass = pass;
        }

        /** Position {@code t}'s logits: the actual next token's likelihood, and against FP32 (the first scorer). */
        void score(int t, float[] logits, int next, double[][] reference, int[] referenceTop) {
            double[] logp = logSoftmax(logits);
            int top = argmax(logits);
            nll -= logp[next];
            count++;
            if (rewrite == null) {
                reference[t] = logp;
                referenceTop[t] = top;
            } else {
                kl += kl(reference[t], logp);
                if (top == referenceTop[t]) {
                    agree++;
                }
            }
        }

        /** Busy time on the NPU and elsewhere, and how long the two ran at once. */
        void account(ForwardPass.Result run) {
            RunTrace trace = run.trace();
            seconds += run.seconds();
            for (int d = 0; d < trace.devices().size(); d++) {
                if (trace.devices().get(d).kind() == DeviceKind.NPU) {
                    npuSeconds += trace.busySeconds(d);
                } else {
                    otherSeconds += trace.busySeconds(d);
                }
            }
            overlapSeconds += overlap(trace);
        }

        ModeResult result() {
            boolean reference = rewrite == null;
            QuantPlan plan = reference ? null : rewrite.plan();
            return new ModeResult(config, count, Math.exp(nll / count), reference ? 0 : kl / count,
                    reference ? 1 : (double) agree / count, reference ? 0 : plan.shadowSites(),
                    reference ? 0 : plan.hotBytes(), reference ? 0 : plan.linearF32Bytes(), seconds,
                    npuSeconds, otherSeconds, overlapSeconds);
        }
    }

    /** Seconds during which a task on an NPU and a task on another device ran at the same time. */
    static double overlap(RunTrace trace) {
        long total = 0;
        int n = trace.device().length;
        for (int a = 0; a < n; a++) {
            int da = trace.device()[a];
            if (da < 0 || trace.devices().get(da).kind() != DeviceKind.NPU) {
                continue;
            }
            for (int b = 0; b < n; b++) {
                int db = trace.device()[b];
                if (db >= 0 && trace.devices().get(db).kind() != DeviceKind.NPU) {
                    total += Math.max(0, Math.min(trace.finish()[a], trace.finish()[b])
                            - Math.max(trace.begin()[a], trace.begin()[b]));
                }
            }
        }
        return total * 1e-9;
    }
}
