package io.llmnpu.backend.vulkan;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.util.Optional;
import java.util.Set;

/**
 * Whether the shaders run an op at its types and shapes on a device, and if not why. {@code affinity}
 * reports a problem as UNSUPPORTED and {@code compile} puts it into its exception.
 */
final class OpSupport {
    /** Types of per-feature vectors (norm weights): quantized blocks make no sense there. */
    static final Set<DType> VECTOR_WEIGHTS = Set.of(DType.F32, DType.F16, DType.BF16);
    /** Largest head dimension: the attention shader keeps a query row in shared memory, DPI values per invocation. */
    static final int MAX_HEAD_DIM = 512;

    private final long bindingBytes;
    private final long sliceBytes;
    private final int maxRows;

    /**
     * @param bindingBytes the largest buffer a binding may see (activations and caches must fit one)
     * @param sliceBytes   the largest slice a weight is stored in (a weight row must fit one)
     * @param maxRows      the most token rows one dispatch can cover (the device's work-group count along y)
     */
    OpSupport(long bindingBytes, long sliceBytes, int maxRows) {
        this.bindingBytes = bindingBytes;
        this.sliceBytes = sliceBytes;
        this.maxRows = maxRows;
    }

    /** Why the device cannot run {@code op}, or empty if it can. */
    Optional<String> problem(Op op) {
        try {
            check(op);
            for (var values : java.util.List.of(op.inputs(), op.outputs())) {
                for (Value v : values) {
                    require(v.shape().elements() > 0, "empty value " + v);
                    require(v.dtype().byteSize(v.shape().elements()) <= bindingBytes,
                            v + " is larger than one device buffer of " + bindingBytes + " bytes");
                }
            }
            return Optional.empty();
        } catch (Refusal e) {
            return Optional.of(op.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    private static final class Refusal extends Exception {
        Refusal(String message) {
            super(message, null, false, false);
        }
    }

    private void check(Op op) throws Refusal {
        switch (op) {
            case Op.Embedding e -> {
                type(e.tokens(), DType.I32);
                type(e.out(), DType.F32);
                matrix(e.table());
                int dim = e.table().shape().dim(1);
                require(e.out().shape().cols() == dim && e.out().shape().elements() == e.tokens().shape().elements() * dim,
                        "out " + e.out() + " must hold one row of " + dim + " per token of " + e.tokens());
                rows(e.tokens().shape().elements());
            }
            case Op.RmsNorm n -> {
                type(n.in(), DType.F32);
                type(n.out(), DType.F32);
                vector(n.weight(), n.in());
                sameShape(n.in(), n.out());
                require(n.eps() >= 0 && Float.isFinite(n.eps()), "eps must be finite and >= 0, got " + n.eps());
                rows(n.in().shape().rows());
            }
            case Op.Linear l -> linear(l.in(), l.weight(), l.out());
            case Op.Rope r -> {
                type(r.in(), DType.F32);
                type(r.out(), DType.F32);
                type(r.positions(), DType.I32);
                sameShape(r.in(), r.out());
                require(r.headDim() > 0 && r.in().shape().cols() % r.headDim() == 0,
                        "headDim " + r.headDim() + " must divide the row width of " + r.in());
                require(r.rotaryDims() >= 0 && r.rotaryDims() <= r.headDim() && r.rotaryDims() % 2 == 0,
                        "rotaryDims " + r.rotaryDims() + " must be even and at most headDim " + r.headDim());
                require(r.theta() > 0 && Float.isFinite(r.theta()), "theta must be positive, got " + r.theta());
                require(r.positions().shape().elements() == r.in().shape().rows(),
                        "positions " + r.positions() + " must hold one entry per row of " + r.in());
                require(r.freqFactors() == null || (r.freqFactors().dtype() == DType.F32
                                && r.freqFactors().shape().elements() == r.rotaryDims() / 2),
                        "frequency factors " + r.freqFactors() + " must be F32 with one value per rotated pair");
                rows(r.in().shape().rows());
            }
            case Op.Attention a -> {
                for (Value v : new Value[] {a.q(), a.k(), a.v(), a.kCache(), a.vCache(), a.out()}) {
                    type(v, DType.F32);
                }
                type(a.positions(), DType.I32);
                require(a.heads() > 0 && a.kvHeads() > 0 && a.heads() % a.kvHeads() == 0,
                        "heads " + a.heads() + " must be a positive multiple of kvHeads " + a.kvHeads());
                require(a.headDim() > 0 && a.headDim() <= MAX_HEAD_DIM,
                        "headDim " + a.headDim() + " must be in 1.." + MAX_HEAD_DIM);
                int rows = a.q().shape().rows();
                int kvWidth = a.kvHeads() * a.headDim();
                require(a.q().shape().cols() == a.heads() * a.headDim(), "q " + a.q() + " must have "
                        + a.heads() * a.headDim() + " columns");
                require(a.k().shape().cols() == kvWidth && a.k().shape().rows() == rows, "k " + a.k() + " must be [" + rows + ", " + kvWidth + "]");
                require(a.v().shape().cols() == kvWidth && a.v().shape().rows() == rows, "v " + a.v() + " must be [" + rows + ", " + kvWidth + "]");
                require(a.positions().shape().elements() == rows, "positions " + a.positions() + " must hold " + rows + " entries");
                for (Value cache : new Value[] {a.kCache(), a.vCache()}) {
                    require(cache.shape().rank() == 2 && cache.shape().cols() == kvWidth && cache.shape().rows() > 0,
                            "cache " + cache + " must be [contextLength, " + kvWidth + "]");
                }
                require(a.kCache().shape().equals(a.vCache().shape()), "key and value caches differ in shape");
                require(a.kCache().id() != a.vCache().id(), "key and value caches must be different values");
                require(a.kCache().dtype().byteSize(a.kCache().shape().elements()) <= bindingBytes,
                        "cache " + a.kCache() + " is larger than one device buffer of " + bindingBytes + " bytes");
                sameShape(a.q(), a.out());
                rows(rows);
            }
            case Op.SiluMul s -> elementwise(s.gate(), s.up(), s.out());
            case Op.Add a -> elementwise(a.a(), a.b(), a.out());
            case Op.GeluMul m -> elementwise(m.gate(), m.up(), m.out());
            case Op.Gelu g -> elementwise(g.in(), g.in(), g.out());
            case Op.Scale sc -> elementwise(sc.in(), sc.in(), sc.out());
            case Op.SoftCap c -> elementwise(c.in(), c.in(), c.out());
            case Op.LayerNorm n -> {
                type(n.in(), DType.F32);
                type(n.out(), DType.F32);
                sameShape(n.in(), n.out());
                vector(n.weight(), n.in());
                if (n.bias() != null) {
                    vector(n.bias(), n.in());
                }
                require(n.eps() >= 0 && Float.isFinite(n.eps()), "eps must be finite and >= 0, got " + n.eps());
                rows(n.in().shape().rows());
            }
            case Op.AddBias b -> {
                type(b.in(), DType.F32);
                type(b.out(), DType.F32);
                sameShape(b.in(), b.out());
                vector(b.bias(), b.in());
            }
            case Op.SelectRow s -> {
                type(s.in(), DType.F32);
                type(s.out(), DType.F32);
                require(s.row() >= 0 && s.row() < s.in().shape().rows(),
                        "row " + s.row() + " outside the " + s.in().shape().rows() + " rows of " + s.in());
                require(s.out().shape().elements() == s.in().shape().cols(),
                        "out " + s.out() + " must hold one row of " + s.in().shape().cols());
            }
            case Op.OutlierShadow o -> {
                linear(o.in(), o.weight(), o.out());
                int inFeatures = o.weight().shape().dim(1);
                for (int c : o.hotChannels()) {
                    require(c >= 0 && c < inFeatures, "hot channel " + c + " outside 0.." + (inFeatures - 1));
                }
            }
            case Op.ShadowMerge m -> {
                linear(m.in(), m.weight(), m.out());
                type(m.npu(), DType.F32);
                type(m.shadow(), DType.F32);
                sameShape(m.npu(), m.out());
                sameShape(m.shadow(), m.out());
            }
            case Op.QuantizedLinear _ -> throw new Refusal("INT8 QuantizedLinear is NPU work (exact INT8 codes need a"
                    + " correctly rounded division, which Vulkan shaders do not promise); the Vulkan backend runs the"
                    + " float halves of shadow execution (OutlierShadow, ShadowMerge)");
        }
    }

    /** {@code in} [T, inFeatures] times {@code weight} [outFeatures, inFeatures] gives {@code out} [T, outFeatures]. */
    private void linear(Value in, Tensor weight, Value out) throws Refusal {
        type(in, DType.F32);
        type(out, DType.F32);
        matrix(weight);
        int outFeatures = weight.shape().dim(0);
        int inFeatures = weight.shape().dim(1);
        require(in.shape().cols() == inFeatures, "input " + in + " must have " + inFeatures + " columns");
        require(out.shape().cols() == outFeatures && out.shape().rows() == in.shape().rows(),
                "out " + out + " must be [" + in.shape().rows() + ", " + outFeatures + "]");
        rows(in.shape().rows());
    }

    private void matrix(Tensor weight) throws Refusal {
        DType type = weight.dtype();
        require(WeightLayout.SUPPORTED.contains(type), "weight " + weight + ": no Vulkan shader decodes type " + type
                + " (supported: " + WeightLayout.SUPPORTED_NAMES + ")");
        Shape shape = weight.shape();
        require(shape.rank() == 2, "weight " + weight + " must be a matrix");
        require(!type.isQuantized() || shape.dim(1) % type.blockSize() == 0,
                "rows of quantized weight " + weight + " must be whole blocks of " + type.blockSize());
        require(WeightStore.rowsPerSlice(type, shape.dim(1), sliceBytes) > 0,
                "a row of weight " + weight + " is larger than one device buffer of " + sliceBytes + " bytes");
    }

    /** A per-feature vector (norm weight, bias): a plain type, one value per column of {@code in}. */
    private static void vector(Tensor v, Value in) throws Refusal {
        require(VECTOR_WEIGHTS.contains(v.dtype()), "vector " + v + " of type " + v.dtype() + " not supported");
        require(v.shape().elements() == in.shape().cols(), "vector " + v + " must have one value per column of " + in);
    }

    private void elementwise(Value a, Value b, Value out) throws Refusal {
        type(a, DType.F32);
        type(b, DType.F32);
        type(out, DType.F32);
        require(a.shape().elements() == b.shape().elements() && a.shape().elements() == out.shape().elements(),
                "operands " + a + ", " + b + " and " + out + " differ in size");
    }

    private void rows(long rows) throws Refusal {
        require(rows <= maxRows, rows + " rows exceed the " + maxRows + " one dispatch of this device can cover");
    }

    private static void type(Value v, DType expected) throws Refusal {
        require(v.dtype() == expected, v + " must be " + expected);
    }

    private static void sameShape(Value a, Value b) throws Refusal {
        require(a.shape().equals(b.shape()), a + " and " + b + " must have the same shape");
    }

    private static void require(boolean ok, String message) throws Refusal {
        if (!ok) {
            throw new Refusal(message);
        }
    }
}
