package io.llmnpu.backend.vulkan;

import io.llmnpu.api.tensor.Tensor;
import java.util.List;
import org.lwjgl.vulkan.VkCommandBuffer;

/**
 * A subgraph compiled for one device: its commands with every buffer planned and every descriptor
 * written except those of the KV caches (which follow whatever host tensor is bound), and what the
 * host does around a submission. {@link GraphCompiler} makes it, {@link VulkanCompiledGraph} runs it.
 */
record Program(List<Command> commands, List<Transfer> inputs, List<RopeTable> ropeTables, List<Transfer> outputs,
               List<CacheWrite> cacheWrites, List<TokenRange> tokenRanges, List<StateDescriptor> stateDescriptors,
               List<Integer> stateIds, GpuBuffer staging, long descriptorPool, long[] descriptorSets,
               VkCommandBuffer commandBuffer, GraphResources resources, long scratchBytes) {

    /** Where a dispatch or copy reads or writes: a buffer of the graph, or the device copy of a state value. */
    sealed interface Ref {
        /** A buffer fixed at compile time. */
        record Fixed(GpuBuffer buffer) implements Ref {
        }

        /** The resident copy of the host tensor bound to state value {@code valueId} at execution. */
        record State(int valueId) implements Ref {
        }
    }

    /** One command, run in order; {@code barrierBefore} when it touches what an earlier command wrote. */
    sealed interface Command {
        boolean barrierBefore();

        /** A compute dispatch with its descriptor set and push constants. */
        record Dispatch(Pipelines.Pipeline pipeline, int set, int[] push, int groupsX, int groupsY, int groupsZ,
                        boolean barrierBefore) implements Command {
        }

        /** A copy between two buffers (SelectRow). */
        record Copy(Ref src, long srcOffset, Ref dst, long dstOffset, long bytes, boolean barrierBefore)
                implements Command {
        }
    }

    /**
     * A host tensor of value {@code valueId} that travels to or from {@code buffer} with each execution:
     * straight through the mapping when the buffer is mapped, else through {@code staging} at
     * {@code stagingOffset} and a copy command.
     */
    record Transfer(int valueId, GpuBuffer buffer, long bytes, long stagingOffset) {
    }

    /**
     * cos and sin of every (row, pair) angle for the ropes reading {@code positionsId} with these
     * parameters; {@code factors} divides each pair's frequency (null: none).
     */
    record RopeTable(int positionsId, float theta, int rotaryDims, Tensor factors, int rows, GpuBuffer buffer,
                     long stagingOffset) {
        long bytes() {
            return Math.max(4L, (long) rows * (rotaryDims / 2) * 2 * Float.BYTES);
        }
    }

    /** Rows an attention op wrote into caches, read back from its outboxes into the host tensors. */
    record CacheWrite(int kCacheId, int vCacheId, int positionsId, int rows, int contextRows, long rowBytes,
                      GpuBuffer keysOut, GpuBuffer valuesOut) {
    }

    /** Token ids of an Embedding must index its table. */
    record TokenRange(int tokensId, int vocab) {
    }

    /** Binding {@code binding} of descriptor set {@code set} takes the resident copy of state {@code valueId}. */
    record StateDescriptor(int set, int binding, int valueId) {
    }
}
