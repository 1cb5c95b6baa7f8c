package io.llmnpu.backend.vulkan;

import static org.lwjgl.system.MemoryStack.stackPush;
import static org.lwjgl.vulkan.VK10.*;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.Bindings;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.backend.support.BindingCheck;
import io.llmnpu.backend.support.GraphLifecycle;
import io.llmnpu.backend.vulkan.Program.Command;
import io.llmnpu.backend.vulkan.Program.Ref;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkCommandBuffer;

/**
 * A subgraph compiled for one Vulkan device. An execution checks the bindings, writes the inputs (and
 * the rope angles of their positions) into device buffers, binds the resident copies of the KV caches,
 * runs the recorded command buffer as one submission, reads the outputs back and copies the cache rows
 * the graph wrote into the host tensors, so the host copies are current whenever {@link #execute}
 * returns. The command buffer is recorded once and again only when another cache is bound.
 */
final class VulkanCompiledGraph implements CompiledGraph {
    private static final int WRITE_STAGES = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    private static final int WRITE_ACCESS = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    private static final int ANY_ACCESS = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT
            | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;

    private final VulkanDevice device;
    private final Subgraph graph;
    private final Program program;
    private final Map<Integer, Value> values = new HashMap<>();
    /** The state buffers the command buffer was recorded with; empty until the first execution. */
    private Map<Integer, GpuBuffer> recordedStates;
    private boolean closed;

    VulkanCompiledGraph(VulkanDevice device, Subgraph graph, Program program) {
        this.device = device;
        this.graph = graph;
        this.program = program;
        graph.inputs().forEach(v -> values.put(v.id(), v));
        graph.outputs().forEach(v -> values.put(v.id(), v));
    }

    @Override
    public Subgraph graph() {
        return graph;
    }

    /** Bytes of device scratch for intermediates. */
    long scratchBytes() {
        return program.scratchBytes();
    }

    @Override
    public void execute(Map<Value, Tensor> bindings) {
        GraphLifecycle.requireBindings(graph, bindings);
        device.exclusive(() -> {
            GraphLifecycle.requireOpen(graph, closed);
            device.ensureOpen();
            run(bind(bindings));
        });
    }

    /** The tensor of every graph input and output, checked against its value and the host-side rules. */
    private Map<Integer, Tensor> bind(Map<Value, Tensor> bindings) {
        Map<Integer, Tensor> bound = new HashMap<>();
        for (Value v : graph.inputs()) {
            bound.put(v.id(), Bindings.require(graph, bindings, v, program.stateIds().contains(v.id())));
        }
        for (Value v : graph.outputs()) {
            bound.put(v.id(), Bindings.require(graph, bindings, v, true));
        }
        List<Integer> states = program.stateIds();
        for (int i = 0; i < states.size(); i++) {
            for (int j = i + 1; j < states.size(); j++) {
                BindingCheck.requireDisjoint(graph, bound.get(states.get(i)), bound.get(states.get(j)),
                        "KV caches " + values.get(states.get(i)) + " and " + values.get(states.get(j)));
            }
        }
        for (Program.TokenRange range : program.tokenRanges()) {
            BindingCheck.requireTokensInVocabulary(graph, bound.get(range.tokensId()), range.vocab());
        }
        for (Program.CacheWrite w : program.cacheWrites()) {
            Tensor positions = bound.get(w.positionsId());
            for (long i = 0; i < positions.shape().elements(); i++) {
                int p = positions.getInt(i);
                if (p >= w.contextRows()) {
                    throw new BackendException("graph " + graph.name() + ": position " + p + " at row " + i
                            + " is beyond the KV cache of " + w.contextRows() + " rows");
                }
            }
        }
        return bound;
    }

    private void run(Map<Integer, Tensor> bound) {
        Map<Integer, GpuBuffer> states = new HashMap<>();
        try {
            for (int id : program.stateIds()) {
                states.put(id, device.states().resolve(bound.get(id)));
            }
            if (recordedStates == null || !sameBuffers(states, recordedStates)) {
                bindStates(states);
                record(states);
                recordedStates = states;
            }
            for (Program.Transfer in : program.inputs()) {
                MemorySegment.copy(bound.get(in.valueId()).data(), 0, target(in.buffer(), in.stagingOffset()), 0, in.bytes());
            }
            for (Program.RopeTable table : program.ropeTables()) {
                writeAngles(table, bound.get(table.positionsId()), target(table.buffer(), table.stagingOffset()));
            }
            device.queue().submitAndWait(program.commandBuffer());
            for (Program.Transfer out : program.outputs()) {
                MemorySegment.copy(target(out.buffer(), out.stagingOffset()), 0, bound.get(out.valueId()).data(), 0, out.bytes());
            }
            for (Program.CacheWrite w : program.cacheWrites()) {
                writeBack(w, bound);
            }
        } catch (RuntimeException e) {
            // The device copies may now hold rows the host never received: drop them, so the next
            // execution starts again from the host tensors.
            for (int id : program.stateIds()) {
                device.states().forget(bound.get(id));
            }
            recordedStates = null;
            throw e instanceof BackendException b ? b
                    : new BackendException("graph " + graph.name() + " failed on " + device.name() + ": " + e, e);
        }
    }

    private static boolean sameBuffers(Map<Integer, GpuBuffer> a, Map<Integer, GpuBuffer> b) {
        for (Map.Entry<Integer, GpuBuffer> e : a.entrySet()) {
            if (b.get(e.getKey()) != e.getValue()) {
                return false;
            }
        }
        return true;
    }

    /** Where the host writes or reads a transfer: the mapped buffer itself, or its place in the staging buffer. */
    private MemorySegment target(GpuBuffer buffer, long stagingOffset) {
        if (buffer.isMapped()) {
            return buffer.segment();
        }
        return program.staging().segment().asSlice(stagingOffset);
    }

    /**
     * cos and sin of position * theta^(-2i/rotaryDims) / factor[i] for every row and pair, in double
     * precision; padding rows (negative positions) get angle 0, the shader passes them through.
     */
    private static void writeAngles(Program.RopeTable table, Tensor positions, MemorySegment out) {
        int pairs = table.rotaryDims() / 2;
        double[] freq = new double[pairs];
        for (int i = 0; i < pairs; i++) {
            freq[i] = Math.pow(table.theta(), -2.0 * i / table.rotaryDims())
                    / (table.factors() == null ? 1.0 : table.factors().getFloat(i));
        }
        for (int t = 0; t < table.rows(); t++) {
            int p = positions.getInt(t);
            for (int i = 0; i < pairs; i++) {
                double angle = p < 0 ? 0 : p * freq[i];
                long at = ((long) t * pairs + i) * 2;
                out.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, at, (float) Math.cos(angle));
                out.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, at + 1, (float) Math.sin(angle));
            }
        }
    }

    /** Copies the rows this execution wrote into the caches from the outboxes into the host tensors. */
    private static void writeBack(Program.CacheWrite w, Map<Integer, Tensor> bound) {
        Tensor positions = bound.get(w.positionsId());
        MemorySegment keys = w.keysOut().segment();
        MemorySegment valuesOut = w.valuesOut().segment();
        MemorySegment hostKeys = bound.get(w.kCacheId()).data();
        MemorySegment hostValues = bound.get(w.vCacheId()).data();
        long rowBytes = w.rowBytes();
        for (int t = 0; t < w.rows(); t++) {
            int p = positions.getInt(t);
            if (p >= 0) {
                MemorySegment.copy(keys, t * rowBytes, hostKeys, p * rowBytes, rowBytes);
                MemorySegment.copy(valuesOut, t * rowBytes, hostValues, p * rowBytes, rowBytes);
            }
        }
    }

    private void bindStates(Map<Integer, GpuBuffer> states) {
        List<long[]> writes = new ArrayList<>();
        for (Program.StateDescriptor d : program.stateDescriptors()) {
            writes.add(new long[] {program.descriptorSets()[d.set()], d.binding(), states.get(d.valueId()).buffer()});
        }
        GraphCompiler.writeBuffers(device, writes);
    }

    private void record(Map<Integer, GpuBuffer> states) {
        CommandQueue.record(program.commandBuffer(), 0, cb -> {
            GpuBuffer staging = program.staging();
            boolean staged = false;
            for (Program.Transfer in : program.inputs()) {
                if (!in.buffer().isMapped()) {
                    Transfers.copy(cb, staging, in.stagingOffset(), in.buffer(), 0, in.bytes());
                    staged = true;
                }
            }
            for (Program.RopeTable t : program.ropeTables()) {
                if (!t.buffer().isMapped()) {
                    Transfers.copy(cb, staging, t.stagingOffset(), t.buffer(), 0, t.bytes());
                    staged = true;
                }
            }
            if (staged) {
                Transfers.barrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, WRITE_STAGES, ANY_ACCESS);
            }
            long boundPipeline = 0;
            for (Command c : program.commands()) {
                if (c.barrierBefore()) {
                    Transfers.barrier(cb, WRITE_STAGES, WRITE_ACCESS, WRITE_STAGES, ANY_ACCESS);
                }
                switch (c) {
                    case Command.Dispatch d -> {
                        if (d.pipeline().pipeline() != boundPipeline) {
                            vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, d.pipeline().pipeline());
                            boundPipeline = d.pipeline().pipeline();
                        }
                        dispatch(cb, d);
                    }
                    case Command.Copy copy -> Transfers.copy(cb, buffer(copy.src(), states), copy.srcOffset(),
                            buffer(copy.dst(), states), copy.dstOffset(), copy.bytes());
                }
            }
            boolean stagedOut = program.outputs().stream().anyMatch(o -> !o.buffer().isMapped());
            if (stagedOut) {
                Transfers.barrier(cb, WRITE_STAGES, WRITE_ACCESS, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
                for (Program.Transfer out : program.outputs()) {
                    if (!out.buffer().isMapped()) {
                        Transfers.copy(cb, out.buffer(), 0, staging, out.stagingOffset(), out.bytes());
                    }
                }
            }
            Transfers.barrier(cb, WRITE_STAGES, WRITE_ACCESS, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
        });
    }

    private void dispatch(VkCommandBuffer cb, Command.Dispatch d) {
        try (MemoryStack stack = stackPush()) {
            vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, d.pipeline().layout(), 0,
                    stack.longs(program.descriptorSets()[d.set()]), null);
            vkCmdPushConstants(cb, d.pipeline().layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, stack.ints(d.push()));
            vkCmdDispatch(cb, d.groupsX(), d.groupsY(), d.groupsZ());
        }
    }

    private static GpuBuffer buffer(Ref ref, Map<Integer, GpuBuffer> states) {
        return switch (ref) {
            case Ref.Fixed f -> f.buffer();
            case Ref.State s -> states.get(s.valueId());
        };
    }

    @Override
    public void close() {
        device.exclusive(() -> {
            if (!closed) {
                closed = true;
                program.resources().release();
                device.forgetGraph(this);
            }
        });
    }

    /** Releases without going through the device lock's bookkeeping (the device is closing). */
    void releaseOnDeviceClose() {
        if (!closed) {
            closed = true;
            program.resources().release();
        }
    }
}
