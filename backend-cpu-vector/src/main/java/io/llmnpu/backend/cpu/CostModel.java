package io.llmnpu.backend.cpu;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Value;

/**
 * A rough roofline estimate of one op's time on the CPU: its floating-point work at about 20 GFLOP/s
 * per thread plus its memory traffic at about 10 GB/s. The scheduler only compares such estimates
 * across devices, so the order of magnitude is what matters. Attention is priced as if the KV cache
 * were full, since positions are only known when the graph runs.
 */
record CostModel(int threads) {

    static final double FLOPS_PER_THREAD = 20e9;
    static final double BYTES_PER_SECOND = 10e9;

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
            case Op.Add add -> {
                flops = add.a().shape().elements();
                bytes = 3.0 * floatBytes(add.a());
            }
            case Op.SelectRow s -> {
                flops = 0;
                bytes = 2.0 * floatBytes(s.out());
            }
        }
        return flops / (FLOPS_PER_THREAD * threads) + bytes / BYTES_PER_SECOND;
    }

    private static double floatBytes(Value v) {
        return 4.0 * v.shape().elements();
    }
}
