package io.llmnpu.tck;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.ValueLayout;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;

/**
 * Runs a whole {@link Subgraph} with {@link ReferenceOps}, keeping every intermediate in double, so a
 * multi-op graph is checked against the reference composition rather than against the backend's
 * own rounded intermediates.
 */
public final class ReferenceGraph {

    /**
     * What the reference computed.
     *
     * @param values      every value of the graph after the run; inputs that ops update in place
     *                    (KV caches) hold their new contents
     * @param writtenRows for each cache input an op updated, the rows it wrote
     * @param rowScales   for values whose error scales with more than the values themselves (Linear
     *                    outputs), a lower bound of each row's magnitude for the tolerance
     */
    public record Result(Map<Value, double[]> values, Map<Value, BitSet> writtenRows, Map<Value, double[]> rowScales) {
        public double[] get(Value v) {
            double[] x = values.get(v);
            if (x == null) {
                throw new IllegalArgumentException("the reference run has no value " + v);
            }
            return x;
        }

        /** The row magnitude floor of {@code v}, or null where the values' own size is the magnitude. */
        public double[] rowScale(Value v) {
            return rowScales.get(v);
        }
    }

    private ReferenceGraph() {
    }

    /**
     * Evaluates {@code graph} from its inputs (read, not modified) and any number of prior in-place
     * updates given by {@code state}, which overrides the tensor contents of the inputs it names
     * (used to continue from a previous reference run rather than from a backend's results).
     */
    public static Result run(Subgraph graph, Map<Value, Tensor> inputs, Map<Value, double[]> state) {
        Map<Value, double[]> values = new HashMap<>();
        Map<Value, BitSet> written = new HashMap<>();
        Map<Value, double[]> scales = new HashMap<>();
        for (Value in : graph.inputs()) {
            double[] prior = state.get(in);
            if (prior != null) {
                values.put(in, prior.clone());
                continue;
            }
            Tensor t = inputs.get(in);
            if (t == null) {
                throw new IllegalArgumentException("no reference input for " + in);
            }
            values.put(in, TensorDecoder.toDoubles(t));
        }
        for (Op op : graph.ops()) {
            evaluate(op, values, written, scales);
        }
        return new Result(values, written, scales);
    }

    private static void evaluate(Op op, Map<Value, double[]> values, Map<Value, BitSet> written,
                                 Map<Value, double[]> scales) {
        switch (op) {
            case Op.Embedding e -> {
                int vocab = e.table().shape().dim(0);
                int dim = e.table().shape().cols();
                values.put(e.out(), ReferenceOps.embedding(ints(values.get(e.tokens())),
                        TensorDecoder.toDoubles(e.table()), vocab, dim));
            }
            case Op.RmsNorm r -> {
                Value in = r.in();
                values.put(r.out(), ReferenceOps.rmsNorm(values.get(in), in.shape().rows(), in.shape().cols(),
                        TensorDecoder.toDoubles(r.weight()), r.eps()));
            }
            case Op.Linear l -> {
                Value in = l.in();
                double[] weight = TensorDecoder.toDoubles(l.weight());
                int out = l.weight().shape().dim(0);
                values.put(l.out(), ReferenceOps.linear(values.get(in), in.shape().rows(), in.shape().cols(), weight, out));
                scales.put(l.out(), ReferenceOps.linearTermNorms(values.get(in), in.shape().rows(), in.shape().cols(),
                        weight, out));
            }
            case Op.Rope r -> {
                Value in = r.in();
                values.put(r.out(), ReferenceOps.rope(values.get(in), in.shape().rows(), in.shape().cols(),
                        ints(values.get(r.positions())), r.headDim(), r.rotaryDims(), r.theta(), r.style(),
                        r.freqFactors() == null ? null : TensorDecoder.toDoubles(r.freqFactors())));
            }
            case Op.Attention a -> {
                BitSet rows = new BitSet();
                double[] out = ReferenceOps.attention(values.get(a.q()), values.get(a.k()), values.get(a.v()),
                        ints(values.get(a.positions())), values.get(a.kCache()), values.get(a.vCache()),
                        a.kCache().shape().rows(), a.heads(), a.kvHeads(), a.headDim(), a.scale(), a.softCap(),
                        a.window(), rows);
                written.computeIfAbsent(a.kCache(), x -> new BitSet()).or(rows);
                written.computeIfAbsent(a.vCache(), x -> new BitSet()).or(rows);
                values.put(a.out(), out);
            }
            case Op.SiluMul s -> values.put(s.out(), ReferenceOps.siluMul(values.get(s.gate()), values.get(s.up())));
            case Op.Add a -> values.put(a.out(), ReferenceOps.add(values.get(a.a()), values.get(a.b())));
            case Op.GeluMul m -> values.put(m.out(), ReferenceOps.geluMul(values.get(m.gate()), values.get(m.up())));
            case Op.Gelu u -> values.put(u.out(), ReferenceOps.gelu(values.get(u.in())));
            case Op.LayerNorm n -> {
                Value in = n.in();
                values.put(n.out(), ReferenceOps.layerNorm(values.get(in), in.shape().rows(), in.shape().cols(),
                        TensorDecoder.toDoubles(n.weight()), n.bias() == null ? null : TensorDecoder.toDoubles(n.bias()),
                        n.eps()));
            }
            case Op.AddBias b -> {
                Value in = b.in();
                values.put(b.out(), ReferenceOps.addBias(values.get(in), in.shape().rows(), in.shape().cols(),
                        TensorDecoder.toDoubles(b.bias())));
            }
            case Op.Scale sc -> values.put(sc.out(), ReferenceOps.scale(values.get(sc.in()), sc.factor()));
            case Op.SoftCap c -> values.put(c.out(), ReferenceOps.softCap(values.get(c.in()), c.cap()));
            case Op.SelectRow s -> {
                Value in = s.in();
                values.put(s.out(), ReferenceOps.selectRow(values.get(in), in.shape().rows(), in.shape().cols(), s.row()));
            }
            case Op.QuantizedLinear q -> {
                Value in = q.in();
                Int8Weights w = q.weights();
                double[] rowScales = new double[w.rows()];
                for (int r = 0; r < rowScales.length; r++) {
                    rowScales[r] = w.scale(r);
                }
                byte[] codes = w.data().asSlice(0, w.byteSize()).toArray(ValueLayout.JAVA_BYTE);
                values.put(q.out(), ReferenceOps.quantizedLinear(values.get(in), in.shape().rows(), in.shape().cols(),
                        codes, rowScales, w.rows(), q.inputScale(), q.outputScale()));
            }
            case Op.OutlierShadow o -> {
                Value in = o.in();
                double[] weight = TensorDecoder.toDoubles(o.weight());
                int out = o.weight().shape().dim(0);
                int rows = in.shape().rows();
                int cols = in.shape().cols();
                values.put(o.out(), ReferenceOps.outlierShadow(values.get(in), rows, cols, o.clipThreshold(), weight, out));
                scales.put(o.out(), ReferenceOps.linearTermNorms(ReferenceOps.clipResidual(values.get(in), o.clipThreshold()),
                        rows, cols, weight, out));
            }
            case Op.ShadowMerge m -> {
                Value in = m.in();
                double[] weight = TensorDecoder.toDoubles(m.weight());
                int out = m.weight().shape().dim(0);
                int rows = in.shape().rows();
                int cols = in.shape().cols();
                double[] npu = values.get(m.npu());
                values.put(m.out(), ReferenceOps.shadowMerge(npu, values.get(m.shadow()), values.get(in), rows, cols,
                        weight, out, m.saturationLimit()));
                // a row with a recomputed entry carries a float dot product's rounding
                double[] norms = ReferenceOps.linearTermNorms(values.get(in), rows, cols, weight, out);
                double[] floor = new double[rows];
                for (int t = 0; t < rows; t++) {
                    for (int o = 0; o < out; o++) {
                        if (Math.abs(npu[t * out + o]) >= m.saturationLimit()) {
                            floor[t] = norms[t];
                        }
                    }
                }
                scales.put(m.out(), floor);
            }
        }
    }

    private static int[] ints(double[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (int) values[i];
        }
        return out;
    }
}
