package io.llmnpu.backend.vulkan;

import static org.lwjgl.system.MemoryStack.stackPush;
import static org.lwjgl.vulkan.VK10.*;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.backend.support.BufferLivenessPlan;
import io.llmnpu.backend.vulkan.Program.Command;
import io.llmnpu.backend.vulkan.Program.Ref;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.IntStream;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkDescriptorBufferInfo;
import org.lwjgl.vulkan.VkDescriptorPoolCreateInfo;
import org.lwjgl.vulkan.VkDescriptorPoolSize;
import org.lwjgl.vulkan.VkDescriptorSetAllocateInfo;
import org.lwjgl.vulkan.VkWriteDescriptorSet;

/**
 * Turns a subgraph into a {@link Program}: buffers for inputs, outputs and (by liveness) intermediates
 * allocated once, weights from the device's shared store, one dispatch (or a few, for weights split
 * into row slices) per op with its descriptor set written, and barriers only where a command touches
 * what an earlier one wrote.
 */
final class GraphCompiler {
    /** Up to this many token rows a Linear runs as matrix-vector products, beyond it as a tiled GEMM. */
    static final int MATVEC_MAX_ROWS = 4;

    /** A command before its descriptor set and barrier are known. */
    private sealed interface Planned {
        List<Ref> reads();

        List<Ref> writes();
    }

    private record PlannedDispatch(Pipelines.Pipeline pipeline, List<Ref> bindings, Set<Integer> written, int[] push,
                                   int gx, int gy, int gz) implements Planned {
        public List<Ref> reads() {
            return IntStream.range(0, bindings.size()).filter(i -> !written.contains(i))
                    .mapToObj(bindings::get).toList();
        }

        public List<Ref> writes() {
            return written.stream().sorted().map(bindings::get).toList();
        }
    }

    private record PlannedCopy(Ref src, long srcOffset, Ref dst, long dstOffset, long bytes) implements Planned {
        public List<Ref> reads() {
            return List.of(src);
        }

        public List<Ref> writes() {
            return List.of(dst);
        }
    }

    private final VulkanDevice device;
    private final GraphResources resources;
    private final int maxGroupsX;
    private final Map<Integer, Ref> refs = new HashMap<>();
    private final Set<Integer> stateIds = new LinkedHashSet<>();
    private final Set<Integer> inputIds = new HashSet<>();
    private final List<Planned> planned = new ArrayList<>();
    private final List<Program.RopeTable> ropeTables = new ArrayList<>();
    private final List<Program.CacheWrite> cacheWrites = new ArrayList<>();
    private final List<Program.TokenRange> tokenRanges = new ArrayList<>();

    GraphCompiler(VulkanDevice device) {
        this.device = device;
        this.resources = new GraphResources(device);
        this.maxGroupsX = device.info().maxWorkGroupCount()[0];
    }

    Program compile(Subgraph graph) {
        try {
            check(graph);
            List<Program.Transfer> inputs = new ArrayList<>();
            List<Program.Transfer> outputs = new ArrayList<>();
            for (Value v : graph.inputs()) {
                if (!stateIds.contains(v.id())) {
                    GpuBuffer b = resources.buffer(bytes(v), DeviceMemory.Kind.DEVICE, "input " + v.name());
                    refs.put(v.id(), new Ref.Fixed(b));
                    inputs.add(new Program.Transfer(v.id(), b, bytes(v), -1));
                } else {
                    refs.put(v.id(), new Ref.State(v.id()));
                }
            }
            for (Value v : graph.outputs()) {
                Ref ref = refs.get(v.id());
                if (ref == null) {
                    ref = new Ref.Fixed(resources.buffer(bytes(v), DeviceMemory.Kind.DEVICE, "output " + v.name()));
                    refs.put(v.id(), ref);
                }
                if (!(ref instanceof Ref.Fixed f)) {
                    throw new BackendException("graph " + graph.name() + ": KV cache " + v + " cannot be an output");
                }
                outputs.add(new Program.Transfer(v.id(), f.buffer(), bytes(v), -1));
            }
            Set<Integer> bound = new HashSet<>(refs.keySet());
            BufferLivenessPlan plan = BufferLivenessPlan.of(graph.ops(), bound);
            List<GpuBuffer> scratch = new ArrayList<>();
            for (int i = 0; i < plan.buffers(); i++) {
                scratch.add(resources.buffer(plan.bufferBytes(i), DeviceMemory.Kind.DEVICE, graph.name() + " scratch " + i));
            }
            plan.bufferIndex().forEach((id, i) -> refs.put(id, new Ref.Fixed(scratch.get(i))));
            for (Op op : graph.ops()) {
                emit(op);
            }
            return finish(graph, inputs, outputs, plan.totalBytes());
        } catch (RuntimeException e) {
            resources.release();
            throw e;
        }
    }

    private void check(Subgraph graph) {
        graph.inputs().forEach(v -> inputIds.add(v.id()));
        for (Op op : graph.ops()) {
            device.support().problem(op).ifPresent(problem -> {
                throw new BackendException("cannot compile graph " + graph.name() + " for Vulkan: " + problem);
            });
            switch (op) {
                case Op.Attention a -> {
                    stateIds.add(a.kCache().id());
                    stateIds.add(a.vCache().id());
                    requireInput(graph, a.positions(), "attention positions");
                }
                case Op.Rope r -> requireInput(graph, r.positions(), "rope positions");
                case Op.Embedding e -> requireInput(graph, e.tokens(), "token ids");
                default -> { }
            }
        }
        for (int id : stateIds) {
            if (!inputIds.contains(id)) {
                throw new BackendException("cannot compile graph " + graph.name()
                        + ": KV caches must be graph inputs (value " + id + " is produced inside the graph)");
            }
        }
    }

    /** Positions and token ids are read on the host too (rope angles, cache rows, id checks). */
    private void requireInput(Subgraph graph, Value v, String what) {
        if (!inputIds.contains(v.id())) {
            throw new BackendException("cannot compile graph " + graph.name() + " for Vulkan: " + what + " " + v
                    + " must be a graph input");
        }
    }

    private void emit(Op op) {
        switch (op) {
            case Op.Embedding e -> {
                int dim = e.table().shape().dim(1);
                int rows = Math.toIntExact(e.tokens().shape().elements());
                WeightStore.DeviceWeight table = resources.weight(e.table());
                for (WeightStore.Slice s : table.slices()) {
                    dispatch(Kernel.EMBEDDING, Map.of("WT", WeightLayout.typeCode(table.type())),
                            List.of(ref(e.tokens()), new Ref.Fixed(s.buffer()), ref(e.out())), Set.of(2),
                            new int[] {dim, s.firstRow(), s.rows(), s.scaleOffsetWords()}, groups(dim), rows, 1);
                }
                tokenRanges.add(new Program.TokenRange(e.tokens().id(), e.table().shape().dim(0)));
            }
            case Op.RmsNorm n -> {
                WeightStore.DeviceWeight w = resources.weight(n.weight());
                dispatch(Kernel.RMSNORM, Map.of("WT", WeightLayout.typeCode(w.type())),
                        List.of(ref(n.in()), new Ref.Fixed(w.slices().getFirst().buffer()), ref(n.out())), Set.of(2),
                        new int[] {n.in().shape().cols(), Float.floatToRawIntBits(n.eps())}, n.in().shape().rows(), 1, 1);
            }
            case Op.Linear l -> linear(l.in(), l.weight(), l.out());
            case Op.Rope r -> {
                int rows = r.in().shape().rows();
                int width = r.in().shape().cols();
                Program.RopeTable table = ropeTable(r.positions(), r.theta(), r.rotaryDims(), r.freqFactors(), rows);
                dispatch(Kernel.ROPE, Map.of(),
                        List.of(ref(r.in()), ref(r.positions()), new Ref.Fixed(table.buffer()), ref(r.out())), Set.of(3),
                        new int[] {width, r.headDim(), r.rotaryDims(), r.style() == RopeStyle.NEOX ? 1 : 0},
                        groups(width), rows, 1);
            }
            case Op.Attention a -> {
                int rows = a.q().shape().rows();
                int kvWidth = a.kvHeads() * a.headDim();
                int ctx = a.kCache().shape().rows();
                long rowBytes = (long) kvWidth * Float.BYTES;
                GpuBuffer keysOut = resources.buffer(rows * rowBytes, DeviceMemory.Kind.HOST, "new key rows");
                GpuBuffer valuesOut = resources.buffer(rows * rowBytes, DeviceMemory.Kind.HOST, "new value rows");
                dispatch(Kernel.KV_STORE, Map.of(),
                        List.of(ref(a.k()), ref(a.v()), ref(a.positions()), ref(a.kCache()), ref(a.vCache()),
                                new Ref.Fixed(keysOut), new Ref.Fixed(valuesOut)), Set.of(3, 4, 5, 6),
                        new int[] {kvWidth, ctx}, groups(kvWidth), rows, 1);
                int dimsPerInvocation = (a.headDim() + Kernel.LWS - 1) / Kernel.LWS;
                dispatch(Kernel.ATTENTION, Map.of("DPI", dimsPerInvocation),
                        List.of(ref(a.q()), ref(a.positions()), ref(a.kCache()), ref(a.vCache()), ref(a.out())), Set.of(4),
                        new int[] {a.heads(), a.kvHeads(), a.headDim(), ctx, Float.floatToRawIntBits(a.scale()),
                                Float.floatToRawIntBits(a.softCap()), a.window()},
                        a.heads(), rows, 1);
                cacheWrites.add(new Program.CacheWrite(a.kCache().id(), a.vCache().id(), a.positions().id(), rows, ctx,
                        rowBytes, keysOut, valuesOut));
            }
            case Op.SiluMul s -> elementwise(0, s.gate(), s.up(), s.out(), 0f);
            case Op.Add a -> elementwise(1, a.a(), a.b(), a.out(), 0f);
            case Op.GeluMul m -> elementwise(2, m.gate(), m.up(), m.out(), 0f);
            case Op.Gelu g -> elementwise(3, g.in(), g.in(), g.out(), 0f);
            case Op.Scale sc -> elementwise(4, sc.in(), sc.in(), sc.out(), sc.factor());
            case Op.SoftCap c -> elementwise(5, c.in(), c.in(), c.out(), c.cap());
            case Op.LayerNorm n -> {
                WeightStore.DeviceWeight w = resources.weight(n.weight());
                dispatch(Kernel.LAYERNORM, Map.of("WT", WeightLayout.typeCode(w.type())),
                        List.of(ref(n.in()), new Ref.Fixed(w.slices().getFirst().buffer()), ref(n.out())), Set.of(2),
                        new int[] {n.in().shape().cols(), Float.floatToRawIntBits(n.eps())}, n.in().shape().rows(), 1, 1);
                if (n.bias() != null) {
                    addBias(n.out(), n.bias(), n.out());
                }
            }
            case Op.AddBias b -> addBias(b.in(), b.bias(), b.out());
            case Op.SelectRow s -> {
                long rowBytes = (long) s.in().shape().cols() * Float.BYTES;
                planned.add(new PlannedCopy(ref(s.in()), s.row() * rowBytes, ref(s.out()), 0, rowBytes));
            }
            case Op.OutlierShadow o -> {
                WeightStore.DeviceWeight w = resources.weight(o.weight());
                int rows = o.in().shape().rows();
                int outFeatures = o.weight().shape().dim(0);
                int inFeatures = o.weight().shape().dim(1);
                for (WeightStore.Slice s : w.slices()) {
                    dispatch(Kernel.OUTLIER_SHADOW, Map.of("WT", WeightLayout.typeCode(w.type())),
                            List.of(ref(o.in()), new Ref.Fixed(s.buffer()), ref(o.out())), Set.of(2),
                            new int[] {outFeatures, inFeatures, s.firstRow(), s.rows(), s.scaleOffsetWords(),
                                    Float.floatToRawIntBits(o.clipThreshold())},
                            groups(s.rows()), rows, 1);
                }
            }
            case Op.ShadowMerge m -> {
                WeightStore.DeviceWeight w = resources.weight(m.weight());
                int rows = m.in().shape().rows();
                int outFeatures = m.weight().shape().dim(0);
                int inFeatures = m.weight().shape().dim(1);
                for (WeightStore.Slice s : w.slices()) {
                    dispatch(Kernel.SHADOW_MERGE, Map.of("WT", WeightLayout.typeCode(w.type())),
                            List.of(ref(m.npu()), ref(m.shadow()), ref(m.in()), new Ref.Fixed(s.buffer()), ref(m.out())),
                            Set.of(4),
                            new int[] {outFeatures, inFeatures, s.firstRow(), s.rows(), s.scaleOffsetWords(),
                                    Float.floatToRawIntBits(m.saturationLimit())},
                            groups(s.rows()), rows, 1);
                }
            }
            case Op.QuantizedLinear _ -> throw new IllegalStateException(op + " passed the checks but has no shader");
        }
    }

    private void linear(Value in, Tensor weight, Value out) {
        WeightStore.DeviceWeight w = resources.weight(weight);
        int rows = in.shape().rows();
        int outFeatures = weight.shape().dim(0);
        int inFeatures = weight.shape().dim(1);
        Map<String, Integer> wt = Map.of("WT", WeightLayout.typeCode(w.type()));
        List<Ref> bindings;
        for (WeightStore.Slice s : w.slices()) {
            bindings = List.of(ref(in), new Ref.Fixed(s.buffer()), ref(out));
            if (rows <= MATVEC_MAX_ROWS) {
                boolean subgroups = device.pipelines().subgroups();
                int perGroup = subgroups ? Kernel.MATVEC_ROWS : 1;
                Map<String, Integer> defines = Map.of("WT", wt.get("WT"), "ROWS", perGroup, "VEC4", inFeatures % 4 == 0 ? 1 : 0);
                int batch = maxGroupsX * perGroup;
                for (int first = 0; first < s.rows(); first += batch) {
                    int count = Math.min(batch, s.rows() - first);
                    dispatch(Kernel.MATVEC, defines, bindings, Set.of(2),
                            new int[] {outFeatures, inFeatures, s.firstRow(), first, s.rows(), s.scaleOffsetWords()},
                            (count + perGroup - 1) / perGroup, rows, 1);
                }
            } else if (device.pipelines().subgroups() && device.info().isCpu()) {
                int blocks = ((s.rows() + 3) / 4) * ((rows + 3) / 4);
                dispatch(Kernel.MATMUL_SUBGROUPS, Map.of("WT", wt.get("WT"), "BLOCKS", Kernel.MATMUL_SG_BLOCKS,
                                "VEC4", inFeatures % 4 == 0 ? 1 : 0), bindings,
                        Set.of(2), new int[] {rows, outFeatures, inFeatures, s.firstRow(), s.rows(), s.scaleOffsetWords()},
                        (blocks + Kernel.MATMUL_SG_BLOCKS - 1) / Kernel.MATMUL_SG_BLOCKS, 1, 1);
            } else {
                int tile = Kernel.MATMUL_TILE;
                dispatch(Kernel.MATMUL, wt, bindings, Set.of(2),
                        new int[] {rows, outFeatures, inFeatures, s.firstRow(), s.rows(), s.scaleOffsetWords()},
                        (s.rows() + tile - 1) / tile, (rows + tile - 1) / tile, 1);
            }
        }
    }

    private void elementwise(int op, Value a, Value b, Value out, float param) {
        int n = Math.toIntExact(out.shape().elements());
        int[] grid = grid(n);
        dispatch(Kernel.ELEMENTWISE, Map.of("OP", op), List.of(ref(a), ref(b), ref(out)), Set.of(2),
                new int[] {n, grid[0] * Kernel.LWS, Float.floatToRawIntBits(param)}, grid[0], grid[1], 1);
    }

    /** out = in + bias on every row; {@code in} and {@code out} may be one value (a LayerNorm's bias, in place). */
    private void addBias(Value in, Tensor bias, Value out) {
        WeightStore.DeviceWeight b = resources.weight(bias);
        int n = Math.toIntExact(out.shape().elements());
        int[] grid = grid(n);
        dispatch(Kernel.ADD_BIAS, Map.of("WT", WeightLayout.typeCode(b.type())),
                List.of(ref(in), new Ref.Fixed(b.slices().getFirst().buffer()), ref(out)), Set.of(2),
                new int[] {n, grid[0] * Kernel.LWS, out.shape().cols()}, grid[0], grid[1], 1);
    }

    /** Work-groups along x and y for n values: rows of at most the device's x count. */
    private int[] grid(int n) {
        int groups = groups(n);
        int gx = Math.min(groups, maxGroupsX);
        return new int[] {gx, (groups + gx - 1) / gx};
    }

    /** The table of rope angles for these positions and parameters, shared by every rope that needs the same. */
    private Program.RopeTable ropeTable(Value positions, float theta, int rotaryDims, Tensor factors, int rows) {
        for (Program.RopeTable t : ropeTables) {
            if (t.positionsId() == positions.id() && Float.compare(t.theta(), theta) == 0 && t.rotaryDims() == rotaryDims
                    && t.factors() == factors) {
                return t;
            }
        }
        long bytes = Math.max(4L, (long) rows * (rotaryDims / 2) * 2 * Float.BYTES);
        Program.RopeTable table = new Program.RopeTable(positions.id(), theta, rotaryDims, factors, rows,
                resources.buffer(bytes, DeviceMemory.Kind.DEVICE, "rope angles"), -1);
        ropeTables.add(table);
        return table;
    }

    private void dispatch(Kernel kernel, Map<String, Integer> defines, List<Ref> bindings, Set<Integer> written,
                          int[] push, int gx, int gy, int gz) {
        if (push.length != kernel.pushWords() || bindings.size() != kernel.bindings()) {
            throw new IllegalStateException("dispatch of " + kernel + " does not match its interface");
        }
        planned.add(new PlannedDispatch(device.pipelines().get(kernel, defines), bindings, written, push, gx, gy, gz));
    }

    private Ref ref(Value v) {
        return Objects.requireNonNull(refs.get(v.id()), () -> "no buffer planned for " + v);
    }

    private static int groups(long n) {
        return Math.toIntExact((n + Kernel.LWS - 1) / Kernel.LWS);
    }

    private static long bytes(Value v) {
        return v.dtype().byteSize(v.shape().elements());
    }

    /** Descriptor sets, barriers and staging offsets, once every command is known. */
    private Program finish(Subgraph graph, List<Program.Transfer> inputs, List<Program.Transfer> outputs, long scratchBytes) {
        List<PlannedDispatch> dispatches = planned.stream().filter(p -> p instanceof PlannedDispatch)
                .map(p -> (PlannedDispatch) p).toList();
        long pool = descriptorPool(dispatches);
        long[] sets = allocateSets(pool, dispatches);
        List<Program.StateDescriptor> stateDescriptors = new ArrayList<>();
        writeDescriptors(dispatches, sets, stateDescriptors);

        List<Command> commands = new ArrayList<>();
        Set<Object> written = new HashSet<>();
        Set<Object> read = new HashSet<>();
        int set = 0;
        for (Planned p : planned) {
            boolean barrier = p.reads().stream().map(GraphCompiler::key).anyMatch(written::contains)
                    || p.writes().stream().map(GraphCompiler::key).anyMatch(k -> written.contains(k) || read.contains(k));
            if (barrier) {
                written.clear();
                read.clear();
            }
            p.reads().forEach(r -> read.add(key(r)));
            p.writes().forEach(w -> written.add(key(w)));
            commands.add(switch (p) {
                case PlannedDispatch d -> new Command.Dispatch(d.pipeline(), set++, d.push(), d.gx(), d.gy(), d.gz(), barrier);
                case PlannedCopy c -> new Command.Copy(c.src(), c.srcOffset(), c.dst(), c.dstOffset(), c.bytes(), barrier);
            });
        }

        // Buffers the host cannot map travel through one staging buffer: inputs and rope tables first, then outputs.
        long staged = 0;
        List<Program.Transfer> in = new ArrayList<>();
        for (Program.Transfer t : inputs) {
            in.add(t.buffer().isMapped() ? t : new Program.Transfer(t.valueId(), t.buffer(), t.bytes(), staged));
            staged += t.buffer().isMapped() ? 0 : align(t.bytes());
        }
        List<Program.RopeTable> tables = new ArrayList<>();
        for (Program.RopeTable t : ropeTables) {
            tables.add(t.buffer().isMapped() ? t : new Program.RopeTable(t.positionsId(), t.theta(), t.rotaryDims(),
                    t.factors(), t.rows(), t.buffer(), staged));
            staged += t.buffer().isMapped() ? 0 : align(t.bytes());
        }
        List<Program.Transfer> out = new ArrayList<>();
        for (Program.Transfer t : outputs) {
            out.add(t.buffer().isMapped() ? t : new Program.Transfer(t.valueId(), t.buffer(), t.bytes(), staged));
            staged += t.buffer().isMapped() ? 0 : align(t.bytes());
        }
        GpuBuffer staging = staged == 0 ? null : resources.buffer(staged, DeviceMemory.Kind.HOST, graph.name() + " staging");
        var commandBuffer = device.queue().allocate();
        resources.commandBuffer(commandBuffer);
        return new Program(List.copyOf(commands), List.copyOf(in), List.copyOf(tables), List.copyOf(out),
                List.copyOf(cacheWrites), List.copyOf(tokenRanges), List.copyOf(stateDescriptors),
                List.copyOf(stateIds), staging, pool, sets, commandBuffer, resources, scratchBytes);
    }

    private static long align(long bytes) {
        return (bytes + 255) & ~255L;
    }

    private static Object key(Ref ref) {
        return switch (ref) {
            case Ref.Fixed f -> f.buffer();
            case Ref.State s -> "state " + s.valueId();
        };
    }

    private long descriptorPool(List<PlannedDispatch> dispatches) {
        int descriptors = Math.max(1, dispatches.stream().mapToInt(d -> d.bindings().size()).sum());
        try (MemoryStack stack = stackPush()) {
            VkDescriptorPoolSize.Buffer size = VkDescriptorPoolSize.calloc(1, stack)
                    .type(VK_DESCRIPTOR_TYPE_STORAGE_BUFFER).descriptorCount(descriptors);
            LongBuffer handle = stack.mallocLong(1);
            Vk.check(vkCreateDescriptorPool(device.handle(), VkDescriptorPoolCreateInfo.calloc(stack).sType$Default()
                    .maxSets(Math.max(1, dispatches.size())).pPoolSizes(size), null, handle), "vkCreateDescriptorPool");
            resources.descriptorPool(handle.get(0));
            return handle.get(0);
        }
    }

    private long[] allocateSets(long pool, List<PlannedDispatch> dispatches) {
        long[] sets = new long[dispatches.size()];
        if (sets.length == 0) {
            return sets;
        }
        try (MemoryStack stack = stackPush()) {
            LongBuffer layouts = stack.mallocLong(sets.length);
            dispatches.forEach(d -> layouts.put(d.pipeline().setLayout()));
            layouts.flip();
            LongBuffer handles = stack.mallocLong(sets.length);
            Vk.check(vkAllocateDescriptorSets(device.handle(), VkDescriptorSetAllocateInfo.calloc(stack).sType$Default()
                    .descriptorPool(pool).pSetLayouts(layouts), handles), "vkAllocateDescriptorSets");
            handles.get(sets);
        }
        return sets;
    }

    private static final int WRITE_BATCH = 256;

    private void writeDescriptors(List<PlannedDispatch> dispatches, long[] sets, List<Program.StateDescriptor> states) {
        List<long[]> writes = new ArrayList<>(); // {set, binding, buffer}
        for (int i = 0; i < dispatches.size(); i++) {
            List<Ref> bindings = dispatches.get(i).bindings();
            for (int b = 0; b < bindings.size(); b++) {
                switch (bindings.get(b)) {
                    case Ref.Fixed f -> writes.add(new long[] {sets[i], b, f.buffer().buffer()});
                    case Ref.State s -> states.add(new Program.StateDescriptor(i, b, s.valueId()));
                }
            }
        }
        for (int from = 0; from < writes.size(); from += WRITE_BATCH) {
            writeBuffers(device, writes.subList(from, Math.min(writes.size(), from + WRITE_BATCH)));
        }
    }

    /** Points each {set, binding} at the whole of its buffer. */
    static void writeBuffers(VulkanDevice device, List<long[]> writes) {
        if (writes.isEmpty()) {
            return;
        }
        try (MemoryStack stack = stackPush()) {
            VkWriteDescriptorSet.Buffer w = VkWriteDescriptorSet.calloc(writes.size(), stack);
            for (int i = 0; i < writes.size(); i++) {
                long[] entry = writes.get(i);
                VkDescriptorBufferInfo.Buffer info = VkDescriptorBufferInfo.calloc(1, stack)
                        .buffer(entry[2]).offset(0).range(VK_WHOLE_SIZE);
                w.get(i).sType$Default().dstSet(entry[0]).dstBinding((int) entry[1]).dstArrayElement(0)
                        .descriptorType(VK_DESCRIPTOR_TYPE_STORAGE_BUFFER).descriptorCount(1).pBufferInfo(info);
            }
            vkUpdateDescriptorSets(device.handle(), w, null);
        }
    }
}
