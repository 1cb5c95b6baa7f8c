package io.llmnpu.scheduler;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Value;

/**
 * How much one op computes and moves, for a roofline estimate on a simulated device: operations (a
 * multiply-add counts two) in the arithmetic they need, and bytes read and written. Activations are
 * counted at their own dtype (F32 in llmnpu's graphs), weights at theirs, INT8 inputs of the NPU at one
 * byte. Attention reads the whole KV cache it is given, as graphs do not know positions ahead of time.
 *
 * @param operations arithmetic operations
 * @param bytes      memory traffic
 * @param arithmetic INT8 matrix work or float work
 */
public record OpWork(double operations, double bytes, Arithmetic arithmetic) {

    /** Values of a shadowed input expected beyond its clip range (the llm.npu paper: 0.1-0.3% of channels). */
    static final double OUTLIER_RATE = 0.003;

    public static OpWork of(Op op) {
        return switch (op) {
            case Op.Embedding e -> new OpWork(e.out().shape().elements(),
                    2.0 * bytes(e.out()) + 4.0 * e.tokens().shape().elements(), Arithmetic.FLOAT);
            case Op.RmsNorm n -> new OpWork(4.0 * n.in().shape().elements(), 2.0 * bytes(n.in()) + n.weight().byteSize(),
                    Arithmetic.FLOAT);
            case Op.Linear l -> new OpWork(2.0 * l.in().shape().rows() * l.weight().shape().elements(),
                    l.weight().byteSize() + bytes(l.in()) + bytes(l.out()), Arithmetic.FLOAT);
            case Op.QuantizedLinear q -> new OpWork(2.0 * q.in().shape().rows() * q.weights().shape().elements(),
                    q.weights().byteSize() + q.in().shape().elements() + 2.0 * q.out().shape().elements(),
                    Arithmetic.INT8_MATMUL);
            case Op.Rope r -> new OpWork(3.0 * r.in().shape().elements(), 2.0 * bytes(r.in()), Arithmetic.FLOAT);
            case Op.Attention a -> {
                double rows = a.q().shape().rows();
                double keys = a.kCache().shape().rows();
                double ops = 4.0 * rows * keys * a.heads() * a.headDim() + 5.0 * rows * keys * a.heads();
                yield new OpWork(ops, bytes(a.kCache()) + bytes(a.vCache()) + 2.0 * bytes(a.q()) + 2.0 * bytes(a.k()),
                        Arithmetic.FLOAT);
            }
            case Op.SiluMul s -> new OpWork(5.0 * s.gate().shape().elements(), 3.0 * bytes(s.gate()), Arithmetic.FLOAT);
            case Op.GeluMul g -> new OpWork(10.0 * g.gate().shape().elements(), 3.0 * bytes(g.gate()), Arithmetic.FLOAT);
            case Op.Gelu g -> new OpWork(8.0 * g.in().shape().elements(), 2.0 * bytes(g.in()), Arithmetic.FLOAT);
            case Op.LayerNorm n -> new OpWork(6.0 * n.in().shape().elements(),
                    2.0 * bytes(n.in()) + n.weight().byteSize() + (n.bias() == null ? 0 : n.bias().byteSize()),
                    Arithmetic.FLOAT);
            case Op.AddBias b -> new OpWork(b.in().shape().elements(), 2.0 * bytes(b.in()) + b.bias().byteSize(),
                    Arithmetic.FLOAT);
            case Op.Scale sc -> new OpWork(sc.in().shape().elements(), 2.0 * bytes(sc.in()), Arithmetic.FLOAT);
            case Op.SoftCap c -> new OpWork(4.0 * c.in().shape().elements(), 2.0 * bytes(c.in()), Arithmetic.FLOAT);
            case Op.Add add -> new OpWork(add.a().shape().elements(), 3.0 * bytes(add.a()), Arithmetic.FLOAT);
            case Op.SelectRow s -> new OpWork(0, 2.0 * bytes(s.out()), Arithmetic.FLOAT);
            case Op.OutlierShadow s -> {
                double outputs = s.weight().shape().dim(0);
                double channels = Math.max(s.hotChannels().length, OUTLIER_RATE * s.in().shape().cols());
                double rows = s.in().shape().rows();
                yield new OpWork(2.0 * rows * channels * outputs + s.in().shape().elements(),
                        4.0 * channels * outputs + bytes(s.in()) + bytes(s.out()), Arithmetic.FLOAT);
            }
            case Op.ShadowMerge m -> new OpWork(2.0 * m.out().shape().elements(), 3.0 * bytes(m.out()), Arithmetic.FLOAT);
        };
    }

    private static double bytes(Value v) {
        return v.dtype().byteSize(v.shape().elements());
    }
}
