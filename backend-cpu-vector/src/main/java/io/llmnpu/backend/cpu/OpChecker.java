package io.llmnpu.backend.cpu;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Checks that an op's values and weights have shapes and dtypes the CPU kernels can run, so that
 * mistakes surface at compile time, naming the op and the value, instead of as garbage or a crash in a
 * kernel.
 */
final class OpChecker {

    private OpChecker() {
    }

    /** A short name for messages: the op type and the value it produces. */
    static String describe(Op op) {
        return op.getClass().getSimpleName() + " -> " + op.outputs().getFirst();
    }

    /**
     * @throws BackendException naming the op and the offending value if the CPU cannot run {@code op},
     *                          either at all or with {@code engine} for its matrix products
     */
    static void check(Op op, MatrixEngine engine) {
        check(op);
        require(op, !(op instanceof Op.QuantizedLinear) || engine.accepts(op), "the CPU's Vector API kernels do "
                + "not run INT8 QuantizedLinear ops; place them on an NPU device (e.g. the npu-ref backend) or a "
                + "CPU backend with int8 matrix products (cpu-native)");
    }

    /** @throws BackendException naming the op and the offending value if its shapes or types are wrong */
    static void check(Op op) {
        switch (op) {
            case Op.Embedding e -> {
                requireDType(op, e.tokens(), DType.I32);
                requireWeightMatrix(op, e.table());
                RowGeometry out = floatRows(op, e.out());
                require(op, e.tokens().shape().elements() == out.rows(), "token ids " + e.tokens()
                        + " must hold one id per output row of " + e.out());
                require(op, out.width() == e.table().shape().dim(1), "output rows of " + e.out()
                        + " must be as wide as the rows of table " + e.table());
            }
            case Op.RmsNorm n -> {
                RowGeometry in = floatRows(op, n.in());
                requireSameShape(op, n.in(), n.out());
                requireDType(op, n.weight(), DType.F32);
                require(op, n.weight().shape().elements() == in.width(), "weight " + n.weight()
                        + " must have one value per column of " + n.in());
                require(op, n.eps() >= 0 && Float.isFinite(n.eps()), "eps must be finite and >= 0, got " + n.eps());
                requireReadable(op, n.weight());
            }
            case Op.Linear l -> {
                RowGeometry in = floatRows(op, l.in());
                RowGeometry out = floatRows(op, l.out());
                requireWeightMatrix(op, l.weight());
                int n = l.weight().shape().dim(0);
                int k = l.weight().shape().dim(1);
                require(op, in.width() == k, "input " + l.in() + " has " + in.width()
                        + " columns but weight " + l.weight() + " expects " + k);
                require(op, out.rows() == in.rows() && out.width() == n, "output " + l.out() + " must be ["
                        + in.rows() + ", " + n + "] for input " + l.in() + " and weight " + l.weight());
            }
            case Op.Rope r -> {
                RowGeometry in = floatRows(op, r.in());
                requireSameShape(op, r.in(), r.out());
                requirePositions(op, r.positions(), in.rows());
                require(op, r.headDim() > 0 && in.width() % r.headDim() == 0, "rows of " + r.in()
                        + " are " + in.width() + " wide, not a whole number of heads of " + r.headDim());
                require(op, r.rotaryDims() > 0 && r.rotaryDims() % 2 == 0 && r.rotaryDims() <= r.headDim(),
                        "rotaryDims must be even and in 2.." + r.headDim() + ", got " + r.rotaryDims());
                require(op, r.theta() > 0 && Float.isFinite(r.theta()), "theta must be positive, got " + r.theta());
                require(op, r.style() != null, "no RoPE style given");
                if (r.freqFactors() != null) {
                    requireDType(op, r.freqFactors(), DType.F32);
                    require(op, r.freqFactors().shape().elements() == r.rotaryDims() / 2, "frequency factors "
                            + r.freqFactors() + " must hold one value per rotated pair (" + r.rotaryDims() / 2 + ")");
                    requireReadable(op, r.freqFactors());
                    for (int i = 0; i < r.rotaryDims() / 2; i++) {
                        float f = r.freqFactors().getFloat(i);
                        require(op, f > 0 && Float.isFinite(f), "frequency factor " + i + " is " + f
                                + "; factors must be positive and finite");
                    }
                }
            }
            case Op.Attention a -> {
                require(op, a.heads() > 0 && a.kvHeads() > 0 && a.headDim() > 0 && a.heads() % a.kvHeads() == 0,
                        "heads (" + a.heads() + ") must be a positive multiple of kvHeads (" + a.kvHeads()
                                + ") and headDim (" + a.headDim() + ") positive");
                RowGeometry q = floatRows(op, a.q());
                int qWidth = a.heads() * a.headDim();
                int kvWidth = a.kvHeads() * a.headDim();
                require(op, q.width() == qWidth, "q " + a.q() + " must have heads*headDim = " + qWidth + " columns");
                for (Value kv : new Value[] {a.k(), a.v()}) {
                    RowGeometry g = floatRows(op, kv);
                    require(op, g.rows() == q.rows() && g.width() == kvWidth, kv + " must be ["
                            + q.rows() + ", " + kvWidth + "] (kvHeads*headDim columns, one row per q row)");
                }
                requirePositions(op, a.positions(), q.rows());
                requireDType(op, a.kCache(), DType.F32);
                requireDType(op, a.vCache(), DType.F32);
                require(op, a.kCache().shape().rank() == 2 && a.kCache().shape().dim(1) == kvWidth
                                && a.kCache().shape().dim(0) > 0,
                        "key cache " + a.kCache() + " must be [contextLength, " + kvWidth + "]");
                requireSameShape(op, a.kCache(), a.vCache());
                requireSameShape(op, a.q(), a.out());
            }
            case Op.SiluMul s -> {
                floatRows(op, s.gate());
                floatRows(op, s.up());
                requireSameShape(op, s.gate(), s.up());
                requireSameShape(op, s.gate(), s.out());
                requireDType(op, s.out(), DType.F32);
            }
            case Op.GeluMul m -> {
                floatRows(op, m.gate());
                requireSameShape(op, m.gate(), m.up());
                requireSameShape(op, m.gate(), m.out());
            }
            case Op.Gelu u -> {
                floatRows(op, u.in());
                requireSameShape(op, u.in(), u.out());
            }
            case Op.Scale sc -> {
                floatRows(op, sc.in());
                requireSameShape(op, sc.in(), sc.out());
            }
            case Op.SoftCap c -> {
                floatRows(op, c.in());
                requireSameShape(op, c.in(), c.out());
            }
            case Op.LayerNorm n -> {
                RowGeometry in = floatRows(op, n.in());
                requireSameShape(op, n.in(), n.out());
                for (Tensor t : n.bias() == null ? new Tensor[] {n.weight()} : new Tensor[] {n.weight(), n.bias()}) {
                    requireDType(op, t, DType.F32);
                    require(op, t.shape().elements() == in.width(), "weight " + t
                            + " must have one value per column of " + n.in());
                    requireReadable(op, t);
                }
                require(op, n.eps() >= 0 && Float.isFinite(n.eps()), "eps must be finite and >= 0, got " + n.eps());
            }
            case Op.AddBias b -> {
                RowGeometry in = floatRows(op, b.in());
                requireSameShape(op, b.in(), b.out());
                requireDType(op, b.bias(), DType.F32);
                require(op, b.bias().shape().elements() == in.width(), "bias " + b.bias()
                        + " must have one value per column of " + b.in());
                requireReadable(op, b.bias());
            }
            case Op.Add add -> {
                floatRows(op, add.a());
                floatRows(op, add.b());
                requireSameShape(op, add.a(), add.b());
                requireSameShape(op, add.a(), add.out());
                requireDType(op, add.out(), DType.F32);
            }
            case Op.QuantizedLinear q -> {
                // Shapes only: whether the CPU runs it at all is up to its matrix engine (see runnable).
                RowGeometry in = floatRows(op, q.in());
                RowGeometry out = floatRows(op, q.out());
                require(op, q.weights().cols() == in.width() && q.weights().rows() == out.width()
                        && in.rows() == out.rows(), "weights " + q.weights() + " must be [" + out.width() + ", "
                        + in.width() + "] for input " + q.in() + " and output " + q.out());
            }
            case Op.OutlierShadow s -> {
                RowGeometry in = floatRows(op, s.in());
                RowGeometry out = floatRows(op, s.out());
                requireWeightMatrix(op, s.weight());
                require(op, s.weight().shape().dim(1) == in.width() && s.weight().shape().dim(0) == out.width()
                        && in.rows() == out.rows(), "weight " + s.weight() + " must be [" + out.width() + ", "
                        + in.width() + "] for input " + s.in() + " and output " + s.out());
                boolean[] seen = new boolean[in.width()];
                for (int c : s.hotChannels()) {
                    require(op, c >= 0 && c < in.width() && !seen[c], "hot channel " + c
                            + " is out of range 0.." + (in.width() - 1) + " or listed twice");
                    seen[c] = true;
                }
            }
            case Op.ShadowMerge m -> {
                RowGeometry in = floatRows(op, m.in());
                RowGeometry out = floatRows(op, m.out());
                requireSameShape(op, m.out(), m.npu());
                requireSameShape(op, m.out(), m.shadow());
                requireWeightMatrix(op, m.weight());
                require(op, m.weight().shape().dim(1) == in.width() && m.weight().shape().dim(0) == out.width()
                        && in.rows() == out.rows(), "weight " + m.weight() + " must be [" + out.width() + ", "
                        + in.width() + "] for input " + m.in() + " and output " + m.out());
            }
            case Op.SelectRow s -> {
                RowGeometry in = floatRows(op, s.in());
                RowGeometry out = floatRows(op, s.out());
                require(op, s.row() >= 0 && s.row() < in.rows(), "row " + s.row() + " is outside the "
                        + in.rows() + " rows of " + s.in());
                require(op, out.rows() == 1 && out.width() == in.width(), "output " + s.out()
                        + " must be one row of " + in.width() + " values");
            }
        }
    }

    private static RowGeometry floatRows(Op op, Value v) {
        requireDType(op, v, DType.F32);
        return RowGeometry.of(v.shape());
    }

    private static void requirePositions(Op op, Value positions, int rows) {
        requireDType(op, positions, DType.I32);
        require(op, positions.shape().elements() == rows, "positions " + positions
                + " must hold one position per row (" + rows + ")");
    }

    private static void requireWeightMatrix(Op op, Tensor w) {
        require(op, RowDecoder.canRead(w.dtype()), "the CPU cannot read weights of dtype " + w.dtype()
                + " (tensor " + w + "); it reads F32, F16, BF16 and the block types Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, "
                + "Q2_K, Q3_K, Q4_K, Q5_K and Q6_K");
        require(op, w.shape().rank() == 2, "weight " + w + " must be a matrix [rows, columns]");
        int cols = w.shape().dim(1);
        require(op, cols % w.dtype().blockSize() == 0, "weight " + w + " has rows of " + cols
                + " values, not a whole number of " + w.dtype() + " blocks of " + w.dtype().blockSize());
        requireReadable(op, w);
    }

    private static void requireReadable(Op op, Tensor w) {
        String problem = heapProblem(w.data());
        require(op, problem.isEmpty(), "weight " + w + ": " + problem);
    }

    /** The Vector API reads heap memory only through byte[] arrays. */
    static String heapProblem(MemorySegment segment) {
        return segment.heapBase().filter(base -> !(base instanceof byte[]))
                .map(base -> "heap memory backed by " + base.getClass().getSimpleName()
                        + " cannot be read by vector kernels; use off-heap memory or a byte[]")
                .orElse("");
    }

    private static void requireDType(Op op, Value v, DType dtype) {
        require(op, v.dtype() == dtype, v + " must be " + dtype + ", not " + v.dtype());
    }

    private static void requireDType(Op op, Tensor t, DType dtype) {
        require(op, t.dtype() == dtype, "weight " + t + " must be " + dtype + ", not " + t.dtype());
    }

    private static void requireSameShape(Op op, Value a, Value b) {
        require(op, a.shape().equals(b.shape()), b + " must have the shape of " + a);
        require(op, a.dtype() == b.dtype(), b + " must have the dtype of " + a);
    }

    private static void require(Op op, boolean ok, String problem) {
        if (!ok) {
            throw new BackendException(describe(op) + ": " + problem);
        }
    }
}
