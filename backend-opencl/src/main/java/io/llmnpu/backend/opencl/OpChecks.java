package io.llmnpu.backend.opencl;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Tensor;
import java.util.Optional;
import java.util.Set;

/**
 * Whether the kernels can run an op at its shapes and types, and if not why. Used both by
 * {@code affinity} (unsupported) and {@code compile} (the reason goes into the exception).
 */
final class OpChecks {
    /** Weight types the kernels decode (of the k-quants, the two of Q4_K_M files: Q4_K and Q6_K). */
    static final Set<DType> MATRIX_WEIGHTS = Set.of(DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0,
            DType.Q4_K, DType.Q6_K);
    /** Types of per-feature vectors (norm weights): quantized blocks make no sense there. */
    static final Set<DType> VECTOR_WEIGHTS = Set.of(DType.F32, DType.F16, DType.BF16);
    /** Largest head dimension the attention kernel keeps in local memory. */
    static final int MAX_HEAD_DIM = 512;

    private OpChecks() {
    }

    static Optional<String> problem(Op op, ClDeviceInfo device) {
        try {
            check(op, device);
            return Optional.empty();
        } catch (Unsupported e) {
            return Optional.of(op.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    private static final class Unsupported extends Exception {
        Unsupported(String message) {
            super(message, null, false, false);
        }
    }

    private static void check(Op op, ClDeviceInfo device) throws Unsupported {
        switch (op) {
            case Op.Embedding e -> {
                type(e.tokens(), DType.I32);
                type(e.out(), DType.F32);
                matrix(e.table(), device);
                int dim = e.table().shape().dim(1);
                require(e.out().shape().cols() == dim && e.out().shape().elements() == e.tokens().shape().elements() * dim,
                        "out " + e.out() + " must hold one row of " + dim + " per token of " + e.tokens());
            }
            case Op.RmsNorm n -> {
                type(n.in(), DType.F32);
                type(n.out(), DType.F32);
                require(VECTOR_WEIGHTS.contains(n.weight().dtype()), "weight type " + n.weight().dtype() + " not supported");
                require(n.weight().shape().elements() == n.in().shape().cols(),
                        "weight " + n.weight() + " must have one value per column of " + n.in());
                sameShape(n.in(), n.out());
                require(n.eps() >= 0 && Float.isFinite(n.eps()), "eps must be finite and >= 0, got " + n.eps());
            }
            case Op.Linear l -> {
                type(l.in(), DType.F32);
                type(l.out(), DType.F32);
                matrix(l.weight(), device);
                int outFeatures = l.weight().shape().dim(0);
                int inFeatures = l.weight().shape().dim(1);
                require(l.in().shape().cols() == inFeatures, "input " + l.in() + " must have " + inFeatures + " columns");
                require(l.out().shape().cols() == outFeatures && l.out().shape().rows() == l.in().shape().rows(),
                        "out " + l.out() + " must be [" + l.in().shape().rows() + ", " + outFeatures + "]");
            }
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
                if (r.freqFactors() != null) {
                    require(r.freqFactors().dtype() == DType.F32
                                    && r.freqFactors().shape().elements() == r.rotaryDims() / 2,
                            "frequency factors " + r.freqFactors() + " must be F32 with one value per rotated pair");
                }
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
                int qWidth = a.heads() * a.headDim();
                int kvWidth = a.kvHeads() * a.headDim();
                require(a.q().shape().cols() == qWidth, "q " + a.q() + " must have " + qWidth + " columns");
                require(a.k().shape().cols() == kvWidth && a.k().shape().rows() == rows, "k " + a.k() + " must be [" + rows + ", " + kvWidth + "]");
                require(a.v().shape().cols() == kvWidth && a.v().shape().rows() == rows, "v " + a.v() + " must be [" + rows + ", " + kvWidth + "]");
                require(a.positions().shape().elements() == rows, "positions " + a.positions() + " must hold " + rows + " entries");
                for (Value cache : new Value[] {a.kCache(), a.vCache()}) {
                    require(cache.shape().rank() == 2 && cache.shape().cols() == kvWidth && cache.shape().rows() > 0,
                            "cache " + cache + " must be [contextLength, " + kvWidth + "]");
                }
                require(a.kCache().shape().equals(a.vCache().shape()), "key and value caches differ in shape");
                require(a.kCache().id() != a.vCache().id(), "key and value caches must be different values");
                sameShape(a.q(), a.out());
            }
            case Op.SiluMul s -> elementwise(s.gate(), s.up(), s.out());
            case Op.Add a -> elementwise(a.a(), a.b(), a.out());
            case Op.GeluMul m -> elementwise(m.gate(), m.up(), m.out());
            case Op.Gelu u -> elementwise(u.in(), u.in(), u.out());
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
                type(o.in(), DType.F32);
                type(o.out(), DType.F32);
                linearShapes(o.in(), o.weight(), o.out(), device);
                int inFeatures = o.weight().shape().dim(1);
                for (int c : o.hotChannels()) {
                    require(c >= 0 && c < inFeatures, "hot channel " + c + " outside 0.." + (inFeatures - 1));
                }
            }
            case Op.ShadowMerge m -> {
                for (Value v : new Value[] {m.npu(), m.shadow(), m.in(), m.out()}) {
                    type(v, DType.F32);
                }
                linearShapes(m.in(), m.weight(), m.out(), device);
                sameShape(m.npu(), m.out());
                sameShape(m.shadow(), m.out());
            }
            case Op.QuantizedLinear _ -> throw new Unsupported("INT8 QuantizedLinear is NPU work; the OpenCL backend"
                    + " runs its float halves (OutlierShadow, ShadowMerge) only");
        }
        for (Value v : op.inputs()) {
            require(v.shape().elements() > 0, "empty value " + v);
        }
    }

    /** {@code in} [T, inFeatures] times {@code weight} [outFeatures, inFeatures] gives {@code out} [T, outFeatures]. */
    private static void linearShapes(Value in, Tensor weight, Value out, ClDeviceInfo device) throws Unsupported {
        matrix(weight, device);
        int outFeatures = weight.shape().dim(0);
        int inFeatures = weight.shape().dim(1);
        require(in.shape().rank() == 2 && in.shape().cols() == inFeatures,
                "input " + in + " must be [tokens, " + inFeatures + "]");
        require(out.shape().rank() == 2 && out.shape().cols() == outFeatures && out.shape().rows() == in.shape().rows(),
                "out " + out + " must be [" + in.shape().rows() + ", " + outFeatures + "]");
    }

    private static void elementwise(Value a, Value b, Value out) throws Unsupported {
        type(a, DType.F32);
        type(b, DType.F32);
        type(out, DType.F32);
        require(a.shape().elements() == b.shape().elements() && a.shape().elements() == out.shape().elements(),
                "operands " + a + ", " + b + " and " + out + " differ in size");
    }

    /** A per-column vector (norm weight, bias) of {@code in}. */
    private static void vector(Tensor weight, Value in) throws Unsupported {
        require(VECTOR_WEIGHTS.contains(weight.dtype()), "weight type " + weight.dtype() + " not supported");
        require(weight.shape().elements() == in.shape().cols(),
                "weight " + weight + " must have one value per column of " + in);
    }

    private static void matrix(Tensor weight, ClDeviceInfo device) throws Unsupported {
        require(MATRIX_WEIGHTS.contains(weight.dtype()), "weight type " + weight.dtype() + " not supported");
        require(weight.shape().rank() == 2, "weight " + weight + " must be a matrix");
        require(!weight.dtype().isQuantized() || weight.shape().dim(1) % weight.dtype().blockSize() == 0,
                "rows of quantized weight " + weight + " must be whole blocks of " + weight.dtype().blockSize());
        require(weight.byteSize() <= device.maxAllocBytes(), "weight " + weight + " (" + weight.byteSize()
                + " bytes) exceeds the device's largest buffer of " + device.maxAllocBytes() + " bytes");
    }

    private static void type(Value v, DType expected) throws Unsupported {
        require(v.dtype() == expected, v + " must be " + expected);
    }

    private static void sameShape(Value a, Value b) throws Unsupported {
        require(a.shape().equals(b.shape()), a + " and " + b + " must have the same shape");
    }

    private static void require(boolean ok, String message) throws Unsupported {
        if (!ok) {
            throw new Unsupported(message);
        }
    }
}
