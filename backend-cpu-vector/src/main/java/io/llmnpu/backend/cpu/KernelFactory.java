package io.llmnpu.backend.cpu;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Tensor;
import java.util.function.ToIntFunction;
import java.util.function.UnaryOperator;

/** Picks and configures the kernel of an op already accepted by {@link OpChecker}. */
final class KernelFactory {

    private KernelFactory() {
    }

    /**
     * @param interleaved the backend's interleaved copy of a Linear weight ({@link InterleavedRows}),
     *                    or null where the weight keeps its file layout
     * @param small       the graph's own copy of a small weight read on every run (norm scales, biases), so
     *                    that running never touches the model file's pages again (see {@link MappedPages})
     */
    static Kernel create(Op op, ToIntFunction<Value> slots, Workspace workspace, UnaryOperator<Tensor> interleaved,
                         UnaryOperator<Tensor> small) {
        String label = OpChecker.describe(op);
        return switch (op) {
            case Op.Embedding e -> new EmbeddingKernel(label, slots.applyAsInt(e.tokens()), e.table(),
                    slots.applyAsInt(e.out()), Math.toIntExact(e.tokens().shape().elements()),
                    e.table().shape().dim(0), e.table().shape().dim(1));
            case Op.RmsNorm n -> {
                RowGeometry g = RowGeometry.of(n.in().shape());
                yield new RmsNormKernel(slots.applyAsInt(n.in()), small.apply(n.weight()), n.eps(),
                        slots.applyAsInt(n.out()),
                        g.rows(), g.width());
            }
            case Op.Linear l -> {
                RowGeometry g = RowGeometry.of(l.in().shape());
                DType dtype = l.weight().dtype();
                int n = l.weight().shape().dim(0);
                Tensor packed = InterleavedRows.supports(dtype, n, g.width()) ? interleaved.apply(l.weight()) : null;
                yield packed != null
                        ? new LinearKernel(slots.applyAsInt(l.in()), packed, slots.applyAsInt(l.out()), g.rows(),
                                g.width(), n, InterleavedRows.ROWS, InterleavedMatmul.of(dtype, workspace),
                                InterleavedKQuants.isKQuant(dtype)
                                        ? new TiledGemm(InterleavedKQuants.rows(dtype), workspace)
                                        : InterleavedSmallBlocks.isSmallBlock(dtype)
                                                ? new TiledGemm(InterleavedSmallBlocks.rows(dtype), workspace)
                                                : TiledGemm.interleaved(dtype, workspace))
                        : new LinearKernel(slots.applyAsInt(l.in()), l.weight(), slots.applyAsInt(l.out()), g.rows(),
                                g.width(), n, 1, matmulFor(dtype), new TiledGemm(WeightRows.of(dtype), workspace));
            }
            case Op.Rope r -> {
                RowGeometry g = RowGeometry.of(r.in().shape());
                yield new RopeKernel(slots.applyAsInt(r.in()), slots.applyAsInt(r.positions()),
                        slots.applyAsInt(r.out()), g.rows(), g.width(), r.headDim(), r.rotaryDims(), r.style(),
                        RopeKernel.inverseFrequencies(r.rotaryDims(), r.theta(), r.freqFactors()));
            }
            case Op.Attention a -> new AttentionKernel(label, slots.applyAsInt(a.q()), slots.applyAsInt(a.k()),
                    slots.applyAsInt(a.v()), slots.applyAsInt(a.positions()), slots.applyAsInt(a.kCache()),
                    slots.applyAsInt(a.vCache()), slots.applyAsInt(a.out()), RowGeometry.of(a.q().shape()).rows(),
                    a.heads(), a.kvHeads(), a.headDim(), a.kCache().shape().dim(0), a.scale(), a.softCap(), a.window(),
                    new BatchedAttention(a.heads(), a.kvHeads(), a.headDim(), a.scale(), a.softCap(), a.window(),
                            workspace), workspace);
            case Op.SiluMul s -> new ElementwiseKernel(ElementwiseKernel.Kind.SILU_MUL, slots.applyAsInt(s.gate()),
                    slots.applyAsInt(s.up()), slots.applyAsInt(s.out()),
                    Math.toIntExact(s.gate().shape().elements()));
            case Op.GeluMul m -> new ElementwiseKernel(ElementwiseKernel.Kind.GELU_MUL, slots.applyAsInt(m.gate()),
                    slots.applyAsInt(m.up()), slots.applyAsInt(m.out()),
                    Math.toIntExact(m.gate().shape().elements()));
            case Op.Gelu u -> new UnaryKernel(UnaryKernel.Kind.GELU, 0f, slots.applyAsInt(u.in()),
                    slots.applyAsInt(u.out()), Math.toIntExact(u.in().shape().elements()));
            case Op.Scale sc -> new UnaryKernel(UnaryKernel.Kind.SCALE, sc.factor(), slots.applyAsInt(sc.in()),
                    slots.applyAsInt(sc.out()), Math.toIntExact(sc.in().shape().elements()));
            case Op.SoftCap c -> new UnaryKernel(UnaryKernel.Kind.SOFT_CAP, c.cap(), slots.applyAsInt(c.in()),
                    slots.applyAsInt(c.out()), Math.toIntExact(c.in().shape().elements()));
            case Op.LayerNorm n -> {
                RowGeometry g = RowGeometry.of(n.in().shape());
                yield new LayerNormKernel(slots.applyAsInt(n.in()), small.apply(n.weight()),
                        n.bias() == null ? null : small.apply(n.bias()), n.eps(),
                        slots.applyAsInt(n.out()), g.rows(), g.width());
            }
            case Op.AddBias b -> {
                RowGeometry g = RowGeometry.of(b.in().shape());
                yield new AddBiasKernel(slots.applyAsInt(b.in()), small.apply(b.bias()), slots.applyAsInt(b.out()),
                        g.rows(),
                        g.width());
            }
            case Op.Add add -> new ElementwiseKernel(ElementwiseKernel.Kind.ADD, slots.applyAsInt(add.a()),
                    slots.applyAsInt(add.b()), slots.applyAsInt(add.out()),
                    Math.toIntExact(add.a().shape().elements()));
            case Op.QuantizedLinear q -> throw new IllegalStateException(label + ": only a matrix engine runs QuantizedLinear");
            case Op.OutlierShadow s -> {
                RowGeometry g = RowGeometry.of(s.in().shape());
                yield new OutlierShadowKernel(slots.applyAsInt(s.in()), slots.applyAsInt(s.out()), g.rows(), g.width(),
                        s.weight().shape().dim(0), s.clipThreshold(), s.weight(), s.hotChannels());
            }
            case Op.ShadowMerge m -> {
                RowGeometry g = RowGeometry.of(m.in().shape());
                yield new ShadowMergeKernel(slots.applyAsInt(m.npu()), slots.applyAsInt(m.shadow()),
                        slots.applyAsInt(m.in()), slots.applyAsInt(m.out()), g.rows(), g.width(),
                        m.weight().shape().dim(0), m.weight(), m.saturationLimit());
            }
            case Op.SelectRow s -> new SelectRowKernel(slots.applyAsInt(s.in()), s.row(),
                    RowGeometry.of(s.in().shape()).width(), slots.applyAsInt(s.out()));
        };
    }

    static MatmulRows matmulFor(DType dtype) {
        return switch (dtype) {
            case F32 -> new F32Matmul();
            case F16 -> HalfMatmul.f16();
            case BF16 -> HalfMatmul.bf16();
            case Q8_0 -> new Q8Matmul();
            case Q4_0 -> new Q4Matmul();
            case Q4_K -> new Q4KMatmul(false);
            case Q5_K -> new Q4KMatmul(true);
            case Q6_K -> new Q6KMatmul();
            case Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K -> new WidenedMatmul(WeightRows.of(dtype));
            case I8, I32 -> throw new IllegalArgumentException("no matmul kernel for " + dtype + " weights");
        };
    }
}
