package io.llmnpu.runtime.quant;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.runtime.engine.HybridGraph;
import io.llmnpu.runtime.graph.ModelGraphBuilder;
import io.llmnpu.runtime.model.LayerWeights;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelFamily;
import io.llmnpu.runtime.model.ModelWeights;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The Llama body with its linear layers on an INT8 NPU: every linear layer becomes a QuantizedLinear
 * on the NPU and, where the plan keeps a shadow, an OutlierShadow on the CPU computing what the INT8
 * input clipped, joined by a ShadowMerge (which also recomputes saturated outputs). Norms, RoPE,
 * attention and the residual stream stay in float on the CPU. Per block the stages are:
 * <pre>
 *   qkv      NPU: q, k, v               | CPU: their shadows
 *   attn     CPU: merge q k v, RoPE, attention
 *   o        NPU: output projection     | CPU: its shadow
 *   ffn_in   CPU: merge, residual add, ffn norm
 *   gate_up  NPU: gate, up              | CPU: their shadows
 *   act      CPU: merge, SiLU * up
 *   down     NPU: down projection       | CPU: its shadow
 *   out      CPU: merge, residual add, next block's attention norm (or the final norm)
 * </pre>
 * Value names and graph inputs match {@link ModelGraphBuilder}'s body (tokens, positions, KV caches in;
 * {@code hidden} out), so the same runner and head serve both.
 */
public final class QuantizedGraphBuilder {

    private final ModelConfig config;
    private final ModelWeights weights;
    private final QuantPlan plan;

    public QuantizedGraphBuilder(ModelConfig config, ModelWeights weights, QuantPlan plan) {
        requireLlamaGraph(config, weights);
        this.config = config;
        this.weights = weights;
        this.plan = plan;
    }

    /**
     * The stages here spell out the plain Llama block; models whose graph has more (biases, GeGLU,
     * parallel blocks, RoPE factors, sliding windows, soft caps) are refused rather than run wrongly.
     *
     * @throws UnsupportedOperationException naming what the model has beyond the plain Llama block
     */
    public static void requireLlamaGraph(ModelConfig config, ModelWeights weights) {
        List<String> extra = new ArrayList<>();
        if (ModelFamily.of(config) != ModelFamily.LLAMA) {
            extra.add("the " + ModelFamily.of(config) + " block");
        }
        if (config.slidingWindow() > 0) {
            extra.add("sliding-window attention");
        }
        if (!weights.extra().isEmpty()) {
            extra.add("model tensors " + weights.extra().keySet());
        }
        if (weights.layers().stream().anyMatch(l -> l.tensors().keySet().stream().anyMatch(n -> n.endsWith(".bias")))) {
            extra.add("biases");
        }
        if (!extra.isEmpty()) {
            throw new UnsupportedOperationException("INT8 execution on the NPU runs the plain Llama block; this "
                    + config.architecture() + " model has " + String.join(", ", extra));
        }
    }

    public HybridGraph body(int rows, int cacheRows) {
        List<HybridGraph.Stage> stages = new ArrayList<>();
        int dim = config.dim();

        Part in = new Part("embed", rows);
        Value tokens = in.input(ModelGraphBuilder.TOKENS, DType.I32, Shape.of(rows));
        Value x0 = in.produce("embedding", dim);
        in.add(new Op.Embedding(tokens, weights.tokenEmbedding(), x0));
        norm(in, x0, weights.layers().getFirst().attnNorm(), LinearSite.QKV.valueName(0));
        in.output(x0);
        stages.add(in.stage(null));
        String residual = "embedding";

        for (int l = 0; l < config.layers(); l++) {
            LayerWeights w = weights.layers().get(l);
            String p = "blk." + l + ".";
            stages.add(linearStage(p + "qkv", l, LinearSite.QKV, rows));

            Part att = new Part(p + "attn", rows);
            Value q = merged(att, l, LinearLayer.Q);
            Value k = merged(att, l, LinearLayer.K);
            Value v = merged(att, l, LinearLayer.V);
            Value positions = att.input(ModelGraphBuilder.POSITIONS, DType.I32, Shape.of(rows));
            Value qr = att.produce(p + "q_rope", config.qDim());
            Value kr = att.produce(p + "k_rope", config.kvDim());
            att.add(new Op.Rope(q, positions, config.headDim(), config.rotaryDims(), config.ropeTheta(),
                    config.ropeStyle(), qr));
            att.add(new Op.Rope(k, positions, config.headDim(), config.rotaryDims(), config.ropeTheta(),
                    config.ropeStyle(), kr));
            Shape cacheShape = Shape.of(cacheRows, config.kvDim());
            Value kCache = att.input(ModelGraphBuilder.keyCacheName(l), DType.F32, cacheShape);
            Value vCache = att.input(ModelGraphBuilder.valueCacheName(l), DType.F32, cacheShape);
            Value attn = att.produce(LinearSite.O.valueName(l), config.qDim());
            att.add(new Op.Attention(qr, kr, v, positions, kCache, vCache, config.heads(), config.kvHeads(),
                    config.headDim(), attn));
            att.output(attn);
            stages.add(att.stage(null));

            stages.add(linearStage(p + "o", l, LinearSite.O, rows));

            Part ffnIn = new Part(p + "ffn_in", rows);
            Value attnOut = merged(ffnIn, l, LinearLayer.O);
            Value h = ffnIn.produce(p + "resid_attn", dim);
            ffnIn.add(new Op.Add(ffnIn.floats(residual, dim), attnOut, h));
            norm(ffnIn, h, w.ffnNorm(), LinearSite.GATE_UP.valueName(l));
            ffnIn.output(h);
            stages.add(ffnIn.stage(null));

            stages.add(linearStage(p + "gate_up", l, LinearSite.GATE_UP, rows));

            Part act = new Part(p + "act", rows);
            Value gate = merged(act, l, LinearLayer.GATE);
            Value up = merged(act, l, LinearLayer.UP);
            Value a = act.produce(LinearSite.DOWN.valueName(l), config.hiddenDim());
            act.add(new Op.SiluMul(gate, up, a));
            act.output(a);
            stages.add(act.stage(null));

            stages.add(linearStage(p + "down", l, LinearSite.DOWN, rows));

            Part out = new Part(p + "out", rows);
            Value down = merged(out, l, LinearLayer.DOWN);
            Value o = out.produce(p + "out", dim);
            out.add(new Op.Add(out.floats(p + "resid_attn", dim), down, o));
            if (l + 1 < config.layers()) {
                norm(out, o, weights.layers().get(l + 1).attnNorm(), LinearSite.QKV.valueName(l + 1));
                out.output(o);
            } else {
                norm(out, o, weights.finalNorm(), ModelGraphBuilder.HIDDEN);
            }
            stages.add(out.stage(null));
            residual = p + "out";
        }
        return new HybridGraph("llama-w8a8-" + plan.config().mode().key() + "-" + rows, stages);
    }

    /** RMSNorm of {@code x} into a new output value {@code name}. */
    private void norm(Part part, Value x, io.llmnpu.api.tensor.Tensor weight, String name) {
        Value out = part.produce(name, x.shape().cols());
        part.add(new Op.RmsNorm(x, weight, config.rmsEps(), out));
        part.output(out);
    }

    /** The NPU part of a site's linear layers and, if the site is shadowed, its CPU shadow part. */
    private HybridGraph.Stage linearStage(String name, int l, LinearSite site, int rows) {
        QuantPlan.Shadow shadow = plan.shadow(l, site);
        Part npu = new Part(name + ".npu", rows);
        Part cpu = shadow == null ? null : new Part(name + ".shadow", rows);
        String input = site.valueName(l);
        int width = siteWidth(site);
        for (LinearLayer ll : LinearLayer.values()) {
            if (ll.site() != site) {
                continue;
            }
            QuantPlan.Linear lin = plan.linear(l, ll);
            int outWidth = lin.weights().rows();
            String outName = shadow == null ? ll.outputName(l) : ll.outputName(l) + ".npu";
            Value y = npu.produce(outName, outWidth);
            npu.add(new Op.QuantizedLinear(npu.floats(input, width), lin.weights(), lin.inputScale(), lin.outputScale(), y));
            npu.output(y);
            if (cpu != null) {
                Value s = cpu.produce(ll.outputName(l) + ".shadow", outWidth);
                cpu.add(new Op.OutlierShadow(cpu.floats(input, width), shadow.clipThreshold(), lin.floatWeight(),
                        shadow.hotChannels(), s));
                cpu.output(s);
            }
        }
        return new HybridGraph.Stage(name, npu.build(), cpu == null ? null : cpu.build());
    }

    /** The full output of a linear layer in {@code part}: merged from NPU and shadow, or the NPU's own. */
    private Value merged(Part part, int l, LinearLayer ll) {
        QuantPlan.Linear lin = plan.linear(l, ll);
        int outWidth = lin.weights().rows();
        if (plan.shadow(l, ll.site()) == null) {
            return part.floats(ll.outputName(l), outWidth);
        }
        Value npu = part.floats(ll.outputName(l) + ".npu", outWidth);
        Value shadow = part.floats(ll.outputName(l) + ".shadow", outWidth);
        Value in = part.floats(ll.site().valueName(l), siteWidth(ll.site()));
        Value out = part.produce(ll.outputName(l), outWidth);
        part.add(new Op.ShadowMerge(npu, shadow, in, lin.floatWeight(), lin.saturationLimit(), out));
        return out;
    }

    private int siteWidth(LinearSite s) {
        return switch (s) {
            case QKV, GATE_UP -> config.dim();
            case O -> config.qDim();
            case DOWN -> config.hiddenDim();
        };
    }

    /** One part under construction: values it reads by name become its inputs. */
    private static final class Part {
        private final SubgraphBuilder b;
        private final int rows;
        private final Map<String, Value> known = new HashMap<>();

        Part(String name, int rows) {
            this.b = new SubgraphBuilder(name);
            this.rows = rows;
        }

        Value input(String name, DType dtype, Shape shape) {
            return known.computeIfAbsent(name, n -> b.input(n, dtype, shape));
        }

        /** An F32 [rows, width] value: produced earlier in this part, or else read from another part. */
        Value floats(String name, int width) {
            return input(name, DType.F32, Shape.of(rows, width));
        }

        Value produce(String name, int width) {
            Value v = b.value(name, DType.F32, Shape.of(rows, width));
            if (known.putIfAbsent(name, v) != null) {
                throw new IllegalStateException("value " + name + " is produced twice in one part");
            }
            return v;
        }

        void add(Op op) {
            b.add(op);
        }

        void output(Value v) {
            b.output(v);
        }

        Subgraph build() {
            return b.build();
        }

        HybridGraph.Stage stage(Subgraph npu) {
            Subgraph g = build();
            return new HybridGraph.Stage(g.name(), npu, g);
        }
    }
}
