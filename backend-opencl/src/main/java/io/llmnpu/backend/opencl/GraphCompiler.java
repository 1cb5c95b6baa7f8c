package io.llmnpu.backend.opencl;

import static org.jocl.CL.*;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.backend.support.BufferLivenessPlan;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

/**
 * Turns a subgraph into kernel launches with every argument bound: buffers are planned and allocated
 * once, weights come from the device's shared {@link WeightStore}, and only the KV cache arguments
 * are left to bind per execution (they follow whichever host tensor is bound).
 */
final class GraphCompiler {
    /** Up to this many rows a Linear runs as matrix-vector products; beyond it as a tiled GEMM. */
    static final int GEMV_MAX_ROWS = 4;
    /** From this many rows the register-blocked GEMM (4x4 outputs per item) pays for its larger tiles. */
    static final int GEMM_RB_MIN_ROWS = 32;
    /** Outputs per item along each axis in the register-blocked GEMM (RB in linear.cl). */
    static final int GEMM_RB = 4;
    static final int GEMV_LWS = 64;
    static final int NORM_LWS = 64;
    static final int ATT_LWS = 64;
    static final int ROW_LWS = 64;

    /** A kernel argument that takes the device copy of a state value, bound at execution time. */
    record StateArg(cl_kernel kernel, int index, int valueId) {
    }

    /** An attention op's cache values and where their written rows come from. */
    record CacheUse(int kCache, int vCache, int positions, int contextRows, long rowBytes) {
    }

    /** Token ids of an Embedding must index its table. */
    record TokenRange(int tokens, int vocab) {
    }

    /** The compiled form handed to {@link OpenClCompiledGraph}. */
    record Compiled(List<Step> steps, Map<Integer, cl_mem> buffers, Set<Integer> stateIds, List<StateArg> stateArgs,
                    List<CacheUse> caches, List<TokenRange> tokenRanges, GraphResources resources, long scratchBytes) {
    }

    private final ClDeviceInfo device;
    private final cl_context context;
    private final cl_command_queue queue;
    private final cl_program program;
    private final int gemmTile;
    private final GraphResources resources;

    private final List<Step> steps = new ArrayList<>();
    private final Map<Integer, cl_mem> buffers = new HashMap<>();
    private final Set<Integer> stateIds = new HashSet<>();
    private final List<StateArg> stateArgs = new ArrayList<>();
    private final List<CacheUse> caches = new ArrayList<>();
    private final List<TokenRange> tokenRanges = new ArrayList<>();

    GraphCompiler(ClDeviceInfo device, cl_context context, cl_command_queue queue, cl_program program, int gemmTile,
                  WeightStore weights) {
        this.device = device;
        this.context = context;
        this.queue = queue;
        this.program = program;
        this.gemmTile = gemmTile;
        this.resources = new GraphResources(weights);
    }

    /**
     * A device buffer for every non-state value: graph inputs and outputs get one each (the caller's
     * tensors are copied in and out of them), intermediates share scratch buffers by liveness, which is
     * safe because the command queue runs in order. Returns the bytes of all these buffers together.
     */
    private long allocateBuffers(Subgraph graph) {
        Set<Integer> bound = new HashSet<>();
        long bytes = 0;
        for (Value in : graph.inputs()) {
            bound.add(in.id());
            if (!stateIds.contains(in.id())) {
                buffers.put(in.id(), allocate(in, graph.name() + " input " + in.name()));
                bytes += bytes(in);
            }
        }
        for (Value out : graph.outputs()) {
            bound.add(out.id());
            buffers.put(out.id(), allocate(out, graph.name() + " output " + out.name()));
            bytes += bytes(out);
        }
        BufferLivenessPlan plan = BufferLivenessPlan.of(graph.ops(), bound);
        List<cl_mem> scratch = new ArrayList<>();
        for (int i = 0; i < plan.buffers(); i++) {
            scratch.add(resources.buffer(ClMemory.allocate(context, plan.bufferBytes(i), graph.name() + " scratch " + i)));
        }
        plan.bufferIndex().forEach((id, i) -> buffers.put(id, scratch.get(i)));
        return bytes + plan.totalBytes();
    }

    private cl_mem allocate(Value v, String label) {
        return resources.buffer(ClMemory.allocate(context, bytes(v), label));
    }

    private static long bytes(Value v) {
        return v.dtype().byteSize(v.shape().elements());
    }

    Compiled compile(Subgraph graph) {
        try {
            check(graph);
            long scratchBytes = allocateBuffers(graph);
            for (Op op : graph.ops()) {
                emit(op);
            }
            return new Compiled(List.copyOf(steps), Map.copyOf(buffers), Set.copyOf(stateIds), List.copyOf(stateArgs),
                    List.copyOf(caches), List.copyOf(tokenRanges), resources, scratchBytes);
        } catch (RuntimeException e) {
            resources.release();
            throw e;
        }
    }

    private void check(Subgraph graph) {
        for (Op op : graph.ops()) {
            OpChecks.problem(op, device).ifPresent(problem -> {
                throw new BackendException("cannot compile graph " + graph.name() + " for OpenCL: " + problem);
            });
            if (op instanceof Op.Attention a) {
                stateIds.add(a.kCache().id());
                stateIds.add(a.vCache().id());
            }
        }
        Set<Integer> inputs = new HashSet<>();
        graph.inputs().forEach(v -> inputs.add(v.id()));
        for (int id : stateIds) {
            if (!inputs.contains(id)) {
                throw new BackendException("cannot compile graph " + graph.name()
                        + ": KV caches must be graph inputs (value " + id + " is produced inside the graph)");
            }
        }
    }

    private void emit(Op op) {
        switch (op) {
            case Op.Embedding e -> {
                int dim = e.table().shape().dim(1);
                int rows = Math.toIntExact(e.tokens().shape().elements());
                cl_kernel k = kernel("embedding");
                arg(k, 0, e.tokens());
                arg(k, 1, resources.weight(e.table()));
                arg(k, 2, KernelNames.weightCode(e.table().dtype()));
                arg(k, 3, e.out());
                arg(k, 4, dim);
                arg(k, 5, e.table().shape().dim(0));
                launchRows(k, "embedding", dim, rows);
                tokenRanges.add(new TokenRange(e.tokens().id(), e.table().shape().dim(0)));
            }
            case Op.RmsNorm n -> {
                int rows = n.in().shape().rows();
                cl_kernel k = kernel("rmsnorm");
                arg(k, 0, n.in());
                arg(k, 1, resources.weight(n.weight()));
                arg(k, 2, KernelNames.weightCode(n.weight().dtype()));
                arg(k, 3, n.out());
                arg(k, 4, n.in().shape().cols());
                arg(k, 5, n.eps());
                launch(k, "rmsnorm", new long[] {(long) rows * NORM_LWS}, new long[] {NORM_LWS});
            }
            case Op.Linear l -> {
                int rows = l.in().shape().rows();
                int outFeatures = l.weight().shape().dim(0);
                int inFeatures = l.weight().shape().dim(1);
                boolean gemv = rows <= GEMV_MAX_ROWS;
                boolean blocked = rows >= GEMM_RB_MIN_ROWS;
                String variant = gemv ? "gemv" : blocked ? "gemm_rb" : "gemm";
                cl_kernel k = kernel(KernelNames.forWeight(variant, l.weight().dtype()));
                arg(k, 0, l.in());
                arg(k, 1, resources.weight(l.weight()));
                arg(k, 2, l.out());
                arg(k, 3, rows);
                arg(k, 4, outFeatures);
                arg(k, 5, inFeatures);
                if (gemv) {
                    launch(k, "gemv", new long[] {(long) outFeatures * GEMV_LWS, rows}, new long[] {GEMV_LWS, 1});
                } else if (blocked) {
                    long tile = (long) GEMM_RB * gemmTile;
                    launch(k, "gemm_rb", new long[] {roundUp(outFeatures, tile) / GEMM_RB, roundUp(rows, tile) / GEMM_RB},
                            new long[] {gemmTile, gemmTile});
                } else {
                    launch(k, "gemm", new long[] {roundUp(outFeatures, gemmTile), roundUp(rows, gemmTile)},
                            new long[] {gemmTile, gemmTile});
                }
            }
            case Op.Rope r -> {
                int rows = r.in().shape().rows();
                int width = r.in().shape().cols();
                cl_kernel k = kernel("rope");
                arg(k, 0, r.in());
                arg(k, 1, r.positions());
                cl_mem[] freqs = ropeFrequencies(r.theta(), r.rotaryDims(), r.freqFactors());
                arg(k, 2, freqs[0]);
                arg(k, 3, freqs[1]);
                arg(k, 4, r.out());
                arg(k, 5, width);
                arg(k, 6, r.headDim());
                arg(k, 7, r.rotaryDims());
                arg(k, 8, r.style() == RopeStyle.NEOX ? 1 : 0);
                launchRows(k, "rope", width, rows);
            }
            case Op.Attention a -> {
                int rows = a.q().shape().rows();
                int kvWidth = a.kvHeads() * a.headDim();
                int ctx = a.kCache().shape().rows();
                cl_kernel store = kernel("kv_store");
                arg(store, 0, a.k());
                arg(store, 1, a.v());
                arg(store, 2, a.positions());
                arg(store, 3, a.kCache());
                arg(store, 4, a.vCache());
                arg(store, 5, kvWidth);
                arg(store, 6, ctx);
                launchRows(store, "kv_store", kvWidth, rows);
                cl_kernel attend = kernel("attention");
                arg(attend, 0, a.q());
                arg(attend, 1, a.positions());
                arg(attend, 2, a.kCache());
                arg(attend, 3, a.vCache());
                arg(attend, 4, a.out());
                arg(attend, 5, a.heads());
                arg(attend, 6, a.kvHeads());
                arg(attend, 7, a.headDim());
                arg(attend, 8, ctx);
                arg(attend, 9, a.scale());
                arg(attend, 10, a.softCap());
                arg(attend, 11, a.window());
                launch(attend, "attention", new long[] {(long) a.heads() * ATT_LWS, rows}, new long[] {ATT_LWS, 1});
                caches.add(new CacheUse(a.kCache().id(), a.vCache().id(), a.positions().id(), ctx, (long) kvWidth * Float.BYTES));
            }
            case Op.SiluMul s -> elementwise("silu_mul", s.gate(), s.up(), s.out());
            case Op.Add a -> elementwise("add", a.a(), a.b(), a.out());
            case Op.GeluMul m -> elementwise("gelu_mul", m.gate(), m.up(), m.out());
            case Op.Gelu u -> unary("gelu", u.in(), u.out(), null);
            case Op.Scale sc -> unary("scale", sc.in(), sc.out(), sc.factor());
            case Op.SoftCap c -> unary("soft_cap", c.in(), c.out(), c.cap());
            case Op.LayerNorm n -> {
                int rows = n.in().shape().rows();
                cl_kernel k = kernel("layernorm");
                arg(k, 0, n.in());
                arg(k, 1, resources.weight(n.weight()));
                arg(k, 2, KernelNames.weightCode(n.weight().dtype()));
                // without a bias the weight buffer stands in; hasBias = 0 keeps the kernel from reading it
                arg(k, 3, resources.weight(n.bias() == null ? n.weight() : n.bias()));
                arg(k, 4, KernelNames.weightCode((n.bias() == null ? n.weight() : n.bias()).dtype()));
                arg(k, 5, n.bias() == null ? 0 : 1);
                arg(k, 6, n.out());
                arg(k, 7, n.in().shape().cols());
                arg(k, 8, n.eps());
                launch(k, "layernorm", new long[] {(long) rows * NORM_LWS}, new long[] {NORM_LWS});
            }
            case Op.AddBias b -> {
                int width = b.in().shape().cols();
                cl_kernel k = kernel("add_bias");
                arg(k, 0, b.in());
                arg(k, 1, resources.weight(b.bias()));
                arg(k, 2, KernelNames.weightCode(b.bias().dtype()));
                arg(k, 3, b.out());
                arg(k, 4, width);
                launchRows(k, "add_bias", width, b.in().shape().rows());
            }
            case Op.SelectRow s -> {
                long rowBytes = (long) s.in().shape().cols() * Float.BYTES;
                steps.add(new Step.Copy(s.in().id(), s.row() * rowBytes, s.out().id(), 0, rowBytes));
            }
            case Op.OutlierShadow o -> {
                int rows = o.in().shape().rows();
                int outFeatures = o.weight().shape().dim(0);
                cl_kernel k = kernel("outlier_shadow");
                arg(k, 0, o.in());
                arg(k, 1, resources.weight(o.weight()));
                arg(k, 2, KernelNames.weightCode(o.weight().dtype()));
                arg(k, 3, o.out());
                arg(k, 4, rows);
                arg(k, 5, outFeatures);
                arg(k, 6, o.weight().shape().dim(1));
                arg(k, 7, o.clipThreshold());
                launchRows(k, "outlier_shadow", outFeatures, rows);
            }
            case Op.ShadowMerge m -> {
                int rows = m.in().shape().rows();
                int outFeatures = m.weight().shape().dim(0);
                cl_kernel k = kernel("shadow_merge");
                arg(k, 0, m.npu());
                arg(k, 1, m.shadow());
                arg(k, 2, m.in());
                arg(k, 3, resources.weight(m.weight()));
                arg(k, 4, KernelNames.weightCode(m.weight().dtype()));
                arg(k, 5, m.out());
                arg(k, 6, rows);
                arg(k, 7, outFeatures);
                arg(k, 8, m.weight().shape().dim(1));
                arg(k, 9, m.saturationLimit());
                launchRows(k, "shadow_merge", outFeatures, rows);
            }
            case Op.QuantizedLinear _ -> throw new IllegalStateException(op + " passed the checks but has no kernel");
        }
    }

    private void elementwise(String name, Value a, Value b, Value out) {
        int n = Math.toIntExact(out.shape().elements());
        cl_kernel k = kernel(name);
        arg(k, 0, a);
        arg(k, 1, b);
        arg(k, 2, out);
        arg(k, 3, n);
        launchRows(k, name, n, 1);
    }

    /** An elementwise function of one value; {@code parameter} (if any) is its last argument. */
    private void unary(String name, Value in, Value out, Float parameter) {
        int n = Math.toIntExact(out.shape().elements());
        cl_kernel k = kernel(name);
        arg(k, 0, in);
        arg(k, 1, out);
        arg(k, 2, n);
        if (parameter != null) {
            arg(k, 3, parameter.floatValue());
        }
        launchRows(k, name, n, 1);
    }

    /**
     * freq_i = theta^(-2i/rotaryDims) / factor_i (factors from the op, else 1) in double, split into a float and the float of its remainder so
     * the kernel can form the angle to beyond float precision.
     */
    private cl_mem[] ropeFrequencies(float theta, int rotaryDims, io.llmnpu.api.tensor.Tensor factors) {
        int pairs = Math.max(1, rotaryDims / 2);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment hi = arena.allocate((long) pairs * Float.BYTES, 64);
            MemorySegment lo = arena.allocate((long) pairs * Float.BYTES, 64);
            for (int i = 0; i < rotaryDims / 2; i++) {
                double freq = Math.pow(theta, -2.0 * i / rotaryDims) / (factors == null ? 1.0 : factors.getFloat(i));
                float high = (float) freq;
                hi.setAtIndex(ValueLayout.JAVA_FLOAT, i, high);
                lo.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (freq - high));
            }
            cl_mem hiMem = resources.buffer(ClMemory.allocate(context, hi.byteSize(), "rope frequencies"));
            cl_mem loMem = resources.buffer(ClMemory.allocate(context, lo.byteSize(), "rope frequencies"));
            ClMemory.upload(queue, hi, hiMem, 0, hi.byteSize());
            ClMemory.upload(queue, lo, loMem, 0, lo.byteSize());
            return new cl_mem[] {hiMem, loMem};
        }
    }

    private cl_kernel kernel(String name) {
        int[] status = new int[1];
        cl_kernel k = clCreateKernel(program, name, status);
        ClCall.check(status[0], "clCreateKernel(" + name + ")");
        return resources.kernel(k);
    }

    private void launch(cl_kernel kernel, String name, long[] global, long[] local) {
        steps.add(new Step.Launch(kernel, name, global, local));
    }

    /**
     * A launch over [rows, width] with one item per element in fixed groups of {@link #ROW_LWS}
     * (kernels ignore the items past the width). A fixed group size means one compiled variant per
     * kernel on drivers that specialise on it (PoCL compiles each new size anew), whatever the shape.
     */
    private void launchRows(cl_kernel kernel, String name, long width, long rows) {
        launch(kernel, name, new long[] {roundUp(width, ROW_LWS), rows}, new long[] {ROW_LWS, 1});
    }

    private void arg(cl_kernel kernel, int index, Value value) {
        if (stateIds.contains(value.id())) {
            stateArgs.add(new StateArg(kernel, index, value.id()));
            return;
        }
        cl_mem mem = buffers.get(value.id());
        if (mem == null) {
            throw new IllegalStateException("no buffer planned for " + value);
        }
        arg(kernel, index, mem);
    }

    private static void arg(cl_kernel kernel, int index, cl_mem mem) {
        ClCall.check(clSetKernelArg(kernel, index, Sizeof.cl_mem, Pointer.to(mem)), "clSetKernelArg");
    }

    private static void arg(cl_kernel kernel, int index, int value) {
        ClCall.check(clSetKernelArg(kernel, index, Sizeof.cl_int, Pointer.to(new int[] {value})), "clSetKernelArg");
    }

    private static void arg(cl_kernel kernel, int index, float value) {
        ClCall.check(clSetKernelArg(kernel, index, Sizeof.cl_float, Pointer.to(new float[] {value})), "clSetKernelArg");
    }

    static long roundUp(long n, long multiple) {
        return (n + multiple - 1) / multiple * multiple;
    }
}
