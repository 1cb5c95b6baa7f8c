package io.llmnpu.backend.cpu.onednn;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.graph.Op;
import io.llmnpu.backend.cpu.CostCalibration;
import io.llmnpu.backend.cpu.CostConstants;
import io.llmnpu.backend.cpu.MatrixEngine;
import io.llmnpu.backend.cpu.MatrixProduct;
import io.llmnpu.backend.cpu.ParallelLoop;
import io.llmnpu.api.graph.Value;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The CPU backend's matrix products on oneDNN's int8 kernels. It takes:
 * <ul>
 *   <li>{@link Op.Linear} over block-quantized weights (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K..Q6_K)
 *       from {@link NativeSettings#minRows()} token rows (prefill), requantized to int8 codes per output
 *       row, in groups of ops that read the same activations ({@link BlockLinearGroup});</li>
 *   <li>every {@link Op.QuantizedLinear} (the NPU path's W8A8 layers), likewise grouped
 *       ({@link NpuLinearGroup}), bit-identical to the reference NPU.</li>
 * </ul>
 * Decode rows, and weights in F32, F16 or BF16, stay on the Vector API kernels: decode is bound by
 * memory bandwidth, which int8 arithmetic does not change, and those types would lose precision in int8.
 *
 * <p>Its time estimates come from rates measured on this machine with the backend's own threads (the
 * int8 matmul, and the Java passes around it), cached per machine like the CPU backend's own.
 */
final class OneDnnMatrixEngine implements MatrixEngine {

    /** Fixed rates when calibration is off: int8 products about four times the CPU backend's F32 default. */
    static final double DEFAULT_INT8_OPS_PER_THREAD = 80e9;
    static final double DEFAULT_BYTES_PER_SECOND = 10e9;

    private final OneDnnContext context;
    private final NativeSettings settings;
    private final CostConstants rates;
    private boolean closed;

    private OneDnnMatrixEngine(OneDnnContext context, NativeSettings settings, CostConstants rates) {
        this.context = context;
        this.settings = settings;
        this.rates = rates;
    }

    /**
     * An engine with its own oneDNN CPU engine, measuring (or reading the cached) rates on {@code loop}
     * and {@code threads} OpenMP threads.
     */
    static OneDnnMatrixEngine create(OneDnn dnn, NativeSettings settings, int threads, ParallelLoop loop) {
        MemorySegment engine = dnn.createCpuEngine();
        OneDnnContext context = new OneDnnContext(dnn, engine, threads, new WeightStore(dnn));
        try {
            String key = "onednn=" + dnn.version() + ";isa=" + Integer.toHexString(dnn.isa())
                    + ";probe=" + Int8RateProbe.VERSION + ";"
                    + CostCalibration.machineKey(threads);
            CostConstants rates = new CostCalibration("onednn-int8", CostCalibration.configuredCacheDir(), key,
                    () -> Int8RateProbe.measure(context, loop)).constants(defaults(threads));
            return new OneDnnMatrixEngine(context, settings, rates);
        } catch (RuntimeException | Error e) {
            context.weights().close();
            dnn.destroyEngine(engine);
            throw e;
        }
    }

    static CostConstants defaults(int threads) {
        return new CostConstants(DEFAULT_INT8_OPS_PER_THREAD * threads, DEFAULT_BYTES_PER_SECOND, "defaults");
    }

    CostConstants rates() {
        return rates;
    }

    /** Bytes of packed weights held now. */
    long packedWeightBytes() {
        return context.weights().bytes();
    }

    @Override
    public String description() {
        return String.format(Locale.ROOT, "%s int8 (block-quantized Linear from %d rows, QuantizedLinear; %.0f G int8 ops/s, %s)",
                context.dnn().description(), settings.minRows(), rates.flopsPerSecond() / 1e9, rates.source());
    }

    @Override
    public boolean accepts(Op op) {
        return switch (op) {
            case Op.Linear l -> l.weight().dtype().isQuantized()
                    && l.in().shape().rank() == 2 && l.in().shape().dim(0) >= settings.minRows();
            case Op.QuantizedLinear q -> q.in().shape().rank() == 2 && q.weights().cols() <= NpuLinearGroup.MAX_COLS;
            default -> false;
        };
    }

    @Override
    public double seconds(Op op) {
        long tokens = op.inputs().getFirst().shape().dim(0);
        long k = op.inputs().getFirst().shape().dim(1);
        long n = op.outputs().getFirst().shape().dim(1);
        double ops = 2.0 * tokens * k * n;
        // Activations read twice and written as codes; sums read and outputs written once.
        double bytes = 9.0 * tokens * k + 8.0 * tokens * n;
        return ops / rates.flopsPerSecond() + bytes / rates.bytesPerSecond();
    }

    /**
     * Groups the ops by the activations they read (and, for QuantizedLinear, the input scale): the ops of
     * a group share one quantization of their input and one matmul over their stacked weights.
     */
    @Override
    public List<MatrixProduct> prepare(List<Op> ops, ParallelLoop loop) {
        if (closed) {
            throw new BackendException("the oneDNN engine is closed");
        }
        record Input(Value value, float scale) {
        }
        Map<Input, List<Op>> groups = new LinkedHashMap<>();
        for (Op op : ops) {
            Input input = switch (op) {
                case Op.Linear l -> new Input(l.in(), Float.NaN);
                case Op.QuantizedLinear q -> new Input(q.in(), q.inputScale());
                default -> throw new IllegalArgumentException("the oneDNN engine does not run " + op);
            };
            groups.computeIfAbsent(input, i -> new ArrayList<>()).add(op);
        }
        List<List<Op>> ordered = List.copyOf(groups.values());
        ProductScratch scratch = new ProductScratch(ordered.stream().map(group -> need(ops, group)).toList());
        Map<Op, MatrixProduct> products = new IdentityHashMap<>();
        try {
            for (int g = 0; g < ordered.size(); g++) {
                List<Op> group = ordered.get(g);
                List<MatrixProduct> made = group.getFirst() instanceof Op.Linear
                        ? BlockLinearGroup.products(context, group.stream().map(Op.Linear.class::cast).toList(),
                                settings.maxOutliers(group.getFirst().inputs().getFirst().shape().dim(1)), loop, scratch, g)
                        : NpuLinearGroup.products(context, group.stream().map(Op.QuantizedLinear.class::cast).toList(),
                                scratch, g);
                for (int i = 0; i < group.size(); i++) {
                    products.put(group.get(i), made.get(i));
                }
            }
        } catch (RuntimeException | Error e) {
            products.values().forEach(MatrixProduct::close);
            throw e;
        } finally {
            scratch.release(); // the groups hold the buffers from here on
        }
        return ops.stream().map(products::get).toList();
    }

    /** The span of {@code group} in the graph's order ({@code ops}) and its buffers' sizes. */
    private static ProductScratch.Need need(List<Op> ops, List<Op> group) {
        int first = indexOf(ops, group.getFirst());
        int last = indexOf(ops, group.getLast());
        long tokens = group.getFirst().inputs().getFirst().shape().dim(0);
        long k = group.getFirst().inputs().getFirst().shape().dim(1);
        long n = group.stream().mapToLong(op -> op.outputs().getFirst().shape().dim(1)).sum();
        return new ProductScratch.Need(first, last, tokens * k, tokens * n * Integer.BYTES);
    }

    private static int indexOf(List<Op> ops, Op op) {
        for (int i = 0; i < ops.size(); i++) {
            if (ops.get(i) == op) {
                return i;
            }
        }
        throw new IllegalArgumentException(op + " is not among the graph's products");
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            context.weights().close();
        } finally {
            context.dnn().destroyEngine(context.engine());
        }
    }
}
