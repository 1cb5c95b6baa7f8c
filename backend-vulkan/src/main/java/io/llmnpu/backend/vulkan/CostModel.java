package io.llmnpu.backend.vulkan;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Value;

/**
 * A roofline estimate of one op's time on a Vulkan device: the larger of its arithmetic at the GEMM
 * rate and its memory traffic at the weight streaming rate (a GPU overlaps the two), plus the cost of
 * its dispatches. The rates are measured on the device ({@link KernelRateProbe}) or fixed defaults.
 * The scheduler only compares estimates across devices, so the order of magnitude is what matters.
 * Attention is priced as if the cache were half full, since positions are known only at execution.
 */
record CostModel(CostRates rates) {

    /** Share of activation values beyond an INT8 clip range that shadow execution expects. */
    static final double OUTLIER_RATE = 0.003;

    double seconds(Op op) {
        double flops;
        double bytes;
        int dispatches = 1;
        switch (op) {
            case Op.Linear l -> {
                double rows = l.in().shape().rows();
                flops = 2.0 * rows * l.weight().shape().elements();
                bytes = l.weight().byteSize() + floatBytes(l.in()) + floatBytes(l.out());
            }
            case Op.Attention a -> {
                double rows = a.q().shape().rows();
                double keys = Math.max(1, a.kCache().shape().rows() / 2.0);
                flops = 4.0 * rows * a.heads() * a.headDim() * keys;
                bytes = 2.0 * 4 * keys * a.kvHeads() * a.headDim() + 2.0 * floatBytes(a.q()) + 2.0 * floatBytes(a.k());
                dispatches = 2;
            }
            case Op.Embedding e -> {
                flops = 0;
                bytes = 2.0 * floatBytes(e.out());
            }
            case Op.OutlierShadow s -> {
                double scanned = (double) s.in().shape().elements() * s.weight().shape().dim(0);
                flops = scanned * OUTLIER_RATE * 2;
                bytes = floatBytes(s.in()) + floatBytes(s.out()) + scanned / Math.max(1, s.in().shape().cols());
            }
            case Op.QuantizedLinear q -> {
                // Not run here (refused); priced as the float Linear it stands for.
                double rows = q.in().shape().rows();
                flops = 2.0 * rows * q.weights().shape().elements();
                bytes = q.weights().byteSize() + floatBytes(q.in()) + floatBytes(q.out());
            }
            default -> {
                double in = op.inputs().stream().mapToDouble(CostModel::floatBytes).sum();
                double out = op.outputs().stream().mapToDouble(CostModel::floatBytes).sum();
                flops = out / 4 * 4;
                bytes = in + out;
            }
        }
        return dispatches * rates.dispatchSeconds()
                + Math.max(flops / rates.flopsPerSecond(), bytes / rates.bytesPerSecond());
    }

    private static double floatBytes(Value v) {
        return v.dtype().byteSize(v.shape().elements());
    }
}
