package io.llmnpu.backend.cpu;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Value;

/**
 * A rough roofline estimate of one op's time on the CPU: its floating-point work at the GEMM rate
 * plus its memory traffic at the streaming read rate, both from {@link CostConstants} (calibrated on
 * this machine, or fixed defaults). The scheduler only compares such estimates across devices, so the
 * order of magnitude is what matters. Attention is priced as if the KV cache were full, since
 * positions are only known when the graph runs.
 */
record CostModel(CostConstants rates) {

    /** Share of activation values beyond an INT8 clip range that shadow execution expects. */
    static final double OUTLIER_RATE = 0.003;

    double seconds(Op op) {
        double flops;
        double bytes;
        switch (op) {
            case Op.Embedding e -> {
                long n = e.out().shape().elements();
                flops = n;
                bytes = floatBytes(e.out()) + (double) e.table().dtype().byteSize(e.table().shape().dim(1))
                        * e.tokens().shape().elements();
            }
            case Op.RmsNorm n -> {
                flops = 4.0 * n.in().shape().elements();
                bytes = 2.0 * floatBytes(n.in()) + n.weight().byteSize();
            }
            case Op.Linear l -> {
                double tokens = RowGeometry.of(l.in().shape()).rows();
                flops = 2.0 * tokens * l.weight().shape().elements();
                bytes = l.weight().byteSize() + floatBytes(l.in()) + floatBytes(l.out());
            }
            case Op.Rope r -> {
                flops = 6.0 * r.in().shape().elements();
                bytes = 2.0 * floatBytes(r.in());
            }
            case Op.Attention a -> {
                double rows = RowGeometry.of(a.q().shape()).rows();
                double context = a.kCache().shape().dim(0);
                flops = 4.0 * rows * a.heads() * context * a.headDim();
                bytes = floatBytes(a.kCache()) + floatBytes(a.vCache()) + 2.0 * floatBytes(a.q())
                        + 2.0 * floatBytes(a.k());
            }
            case Op.SiluMul s -> {
                flops = 5.0 * s.gate().shape().elements();
                bytes = 3.0 * floatBytes(s.gate());
            }
            case Op.GeluMul m -> {
                flops = 12.0 * m.gate().shape().elements();
                bytes = 3.0 * floatBytes(m.gate());
            }
            case Op.Gelu u -> {
                flops = 12.0 * u.in().shape().elements();
                bytes = 2.0 * floatBytes(u.in());
            }
            case Op.Scale sc -> {
                flops = sc.in().shape().elements();
                bytes = 2.0 * floatBytes(sc.in());
            }
            case Op.SoftCap c -> {
                flops = 12.0 * c.in().shape().elements();
                bytes = 2.0 * floatBytes(c.in());
            }
            case Op.LayerNorm n -> {
                flops = 7.0 * n.in().shape().elements();
                bytes = 2.0 * floatBytes(n.in()) + 2.0 * n.weight().byteSize();
            }
            case Op.AddBias b -> {
                flops = b.in().shape().elements();
                bytes = 2.0 * floatBytes(b.in()) + b.bias().byteSize();
            }
            case Op.Add add -> {
                flops = add.a().shape().elements();
                bytes = 3.0 * floatBytes(add.a());
            }
            case Op.QuantizedLinear q -> {
                // Not run here (OpChecker refuses it); priced as the float Linear it stands for.
                double tokens = RowGeometry.of(q.in().shape()).rows();
                flops = 2.0 * tokens * q.weights().shape().elements();
                bytes = q.weights().byteSize() + floatBytes(q.in()) + floatBytes(q.out());
            }
            case Op.OutlierShadow s -> {
                // A scan of the input plus, at a few outliers per thousand values, sparse axpys.
                double scanned = s.in().shape().elements();
                double outliers = Math.max(1, scanned * OUTLIER_RATE);
                flops = scanned + 2.0 * outliers * s.weight().shape().dim(0);
                bytes = floatBytes(s.in()) + floatBytes(s.out()) + 4.0 * s.hotChannels().length * s.weight().shape().dim(0);
            }
            case Op.ShadowMerge m -> {
                flops = 2.0 * m.out().shape().elements();
                bytes = 3.0 * floatBytes(m.out());
            }
            case Op.SelectRow s -> {
                flops = 0;
                bytes = 2.0 * floatBytes(s.out());
            }
        }
        return flops / rates.flopsPerSecond() + bytes / rates.bytesPerSecond();
    }

    private static double floatBytes(Value v) {
        return 4.0 * v.shape().elements();
    }
}
