package io.llmnpu.runtime.quant;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.runtime.engine.GraphRewrite;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The NPU path of a float body graph, from calibration: every {@code Op.Linear} whose input is a
 * calibrated site ({@code blk.L.attn_in}, {@code blk.L.attn}, {@code blk.L.ffn_in}, {@code blk.L.ffn_act})
 * becomes an INT8 {@code QuantizedLinear} with the site's static scale and, where the plan keeps the
 * site's shadow, an {@code OutlierShadow} computing in float what the INT8 input clipped, joined by a
 * {@code ShadowMerge} (which also recomputes saturated outputs). Pruned sites keep no shadow: their
 * outliers just clip. Everything else (norms, RoPE, attention, residual adds, the LM head) is left as it
 * is, for float devices. The rewritten graph keeps the body's inputs, outputs and value names, so an
 * architecture that builds its float graph from the shared blocks reaches the NPU with no code of its own.
 *
 * <p>Which device runs what is not decided here: the placer puts each op where the devices' affinities say.
 */
public final class NpuRewrite implements GraphRewrite {
    private static final Pattern LAYER_VALUE = Pattern.compile("blk\\.(\\d+)\\.(.+)");

    private final ModelConfig model;
    private final ModelWeights weights;
    private final CalibrationData calibration;
    private final QuantConfig config;
    private final Int8WeightStore store;
    private QuantPlan plan;

    /**
     * @param store holds the INT8 weights; the caller closes it after the graphs are gone
     * @throws IllegalArgumentException if the calibration belongs to a model of another shape, or the mode is FP32
     */
    public NpuRewrite(ModelConfig model, ModelWeights weights, CalibrationData calibration, QuantConfig config,
                      Int8WeightStore store) {
        if (!config.mode().quantized()) {
            throw new IllegalArgumentException("FP32 has no NPU path");
        }
        if (calibration.layers().size() != model.layers() || calibration.dim() != model.dim()) {
            throw new IllegalArgumentException("the calibration (" + calibration.layers().size() + " layers, dim "
                    + calibration.dim() + ") belongs to another model (" + model.layers() + " layers, dim "
                    + model.dim() + "); run llmnpu calibrate for this model");
        }
        this.model = model;
        this.weights = weights;
        this.calibration = calibration;
        this.config = config;
        this.store = store;
    }

    @Override
    public String name() {
        return "w8a8-" + config.mode().key();
    }

    public QuantConfig config() {
        return config;
    }

    /** The INT8 weights, scales and shadows; quantizes the weights on first use. */
    public synchronized QuantPlan plan() {
        if (plan == null) {
            plan = QuantPlan.create(model, weights, calibration, config, store);
        }
        return plan;
    }

    @Override
    public Subgraph rewrite(Subgraph body) {
        QuantPlan p = plan();
        int nextId = 0;
        for (Value v : body.inputs()) {
            nextId = Math.max(nextId, v.id() + 1);
        }
        for (Op op : body.ops()) {
            for (Value v : op.outputs()) {
                nextId = Math.max(nextId, v.id() + 1);
            }
        }
        List<Op> ops = new ArrayList<>();
        for (Op op : body.ops()) {
            if (!(op instanceof Op.Linear linear)) {
                ops.add(op);
                continue;
            }
            Target t = target(linear);
            if (t == null) {
                ops.add(op);          // not a calibrated site: stays float
                continue;
            }
            QuantPlan.Linear q = p.linear(t.layer(), t.which());
            if (q == null) {
                ops.add(op);
                continue;
            }
            var int8 = q.floatWeight() == linear.weight() ? q.weights()
                    : store.get(linear.weight(), config.weights());
            QuantPlan.Shadow shadow = p.shadow(t.layer(), t.which().site());
            if (shadow == null) {
                ops.add(new Op.QuantizedLinear(linear.in(), int8, q.inputScale(), q.outputScale(), linear.out()));
                continue;
            }
            Value out = linear.out();
            Value npu = new Value(nextId++, out.name() + ".npu", DType.F32, out.shape());
            Value corr = new Value(nextId++, out.name() + ".shadow", DType.F32, out.shape());
            ops.add(new Op.QuantizedLinear(linear.in(), int8, q.inputScale(), q.outputScale(), npu));
            ops.add(new Op.OutlierShadow(linear.in(), shadow.clipThreshold(), linear.weight(), shadow.hotChannels(), corr));
            ops.add(new Op.ShadowMerge(npu, corr, linear.in(), linear.weight(), q.saturationLimit(), out));
        }
        return new Subgraph(body.name() + "-" + name(), body.inputs(), ops, body.outputs());
    }

    /** A linear layer of a block at a calibrated site. */
    private record Target(int layer, LinearLayer which) {
    }

    private Target target(Op.Linear linear) {
        Matcher in = LAYER_VALUE.matcher(linear.in().name());
        Matcher out = LAYER_VALUE.matcher(linear.out().name());
        if (!in.matches() || !out.matches() || !in.group(1).equals(out.group(1))) {
            return null;
        }
        int layer = Integer.parseInt(in.group(1));
        if (layer >= model.layers()) {
            return null;
        }
        // Matched by the output name alone: the input is the site's value in a Llama block, or another value of
        // the same layer where a family feeds the layer differently (Phi-2's parallel MLP reads attn_in); the
        // calibration measured whichever value the graph really feeds it.
        for (LinearLayer ll : LinearLayer.values()) {
            if (ll.outputName(layer).equals(linear.out().name())) {
                return new Target(layer, ll);
            }
        }
        return null;
    }
}
