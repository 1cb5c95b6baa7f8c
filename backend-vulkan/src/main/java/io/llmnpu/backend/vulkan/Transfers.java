package io.llmnpu.backend.vulkan;

import static org.lwjgl.system.MemoryStack.stackPush;
import static org.lwjgl.vulkan.VK10.*;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkBufferCopy;
import org.lwjgl.vulkan.VkCommandBuffer;
import org.lwjgl.vulkan.VkMemoryBarrier;

/**
 * Copies between host memory and device buffers outside a graph's own submission (weights, the first
 * upload of a KV cache): straight through the mapping where the buffer is mapped, else through a
 * staging buffer and a copy command, in chunks so a large weight needs no staging buffer of its size.
 */
final class Transfers {
    /** Staging chunk: large enough that a weight takes few submissions, small enough to allocate anywhere. */
    static final long CHUNK_BYTES = 32L << 20;

    private final DeviceMemory memory;
    private final CommandQueue queue;

    Transfers(DeviceMemory memory, CommandQueue queue) {
        this.memory = memory;
        this.queue = queue;
    }

    /** Host bytes ({@code src} from its start) bound for {@code dst} at {@code dstOffset}. */
    record Piece(MemorySegment src, GpuBuffer dst, long dstOffset, long bytes) {
    }

    /** Copies {@code bytes} bytes from the start of {@code src} to {@code dst} at {@code dstOffset}. */
    void upload(MemorySegment src, GpuBuffer dst, long dstOffset, long bytes) {
        upload(List.of(new Piece(src, dst, dstOffset, bytes)));
    }

    /**
     * Copies every piece to its buffer. Pieces bound for unmapped buffers share staging buffers of up to
     * {@link #CHUNK_BYTES} and one submission per staging buffer (a weight in many row slices is one or
     * a few submissions, not one per slice).
     */
    void upload(List<Piece> pieces) {
        List<Piece> staged = new ArrayList<>();
        long total = 0;
        for (Piece p : pieces) {
            if (p.bytes() == 0) {
                continue;
            }
            if (p.dst().isMapped()) {
                MemorySegment.copy(p.src(), 0, p.dst().segment(), p.dstOffset(), p.bytes());
            } else {
                staged.add(p);
                total += p.bytes();
            }
        }
        if (staged.isEmpty()) {
            return;
        }
        GpuBuffer staging = memory.allocate(Math.min(total, CHUNK_BYTES), DeviceMemory.Kind.HOST, "upload staging");
        try {
            List<long[]> copies = new ArrayList<>(); // {staging offset, piece index, piece offset, bytes}
            long used = 0;
            for (int i = 0; i < staged.size(); i++) {
                Piece p = staged.get(i);
                for (long done = 0; done < p.bytes(); ) {
                    if (used == staging.bytes()) {
                        flush(staging, staged, copies);
                        used = 0;
                    }
                    long n = Math.min(p.bytes() - done, staging.bytes() - used);
                    MemorySegment.copy(p.src(), done, staging.segment(), used, n);
                    copies.add(new long[] {used, i, done, n});
                    used += n;
                    done += n;
                }
            }
            flush(staging, staged, copies);
        } finally {
            memory.free(staging);
        }
    }

    /** Runs the recorded staging copies as one submission. */
    private void flush(GpuBuffer staging, List<Piece> pieces, List<long[]> copies) {
        if (copies.isEmpty()) {
            return;
        }
        queue.runOnce(cb -> {
            for (long[] c : copies) {
                Piece p = pieces.get((int) c[1]);
                copy(cb, staging, c[0], p.dst(), p.dstOffset() + c[2], c[3]);
            }
            barrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                    VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                    VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT);
        });
        copies.clear();
    }

    /** Copies {@code bytes} bytes of {@code src} from {@code srcOffset} to the start of {@code dst}. */
    void download(GpuBuffer src, long srcOffset, MemorySegment dst, long bytes) {
        if (bytes == 0) {
            return;
        }
        if (src.isMapped()) {
            MemorySegment.copy(src.segment(), srcOffset, dst, 0, bytes);
            return;
        }
        GpuBuffer staging = memory.allocate(Math.min(bytes, CHUNK_BYTES), DeviceMemory.Kind.HOST, "download staging");
        try {
            for (long done = 0; done < bytes; done += CHUNK_BYTES) {
                long n = Math.min(CHUNK_BYTES, bytes - done);
                long at = srcOffset + done;
                queue.runOnce(cb -> {
                    copy(cb, src, at, staging, 0, n);
                    barrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                            VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
                });
                MemorySegment.copy(staging.segment(), 0, dst, done, n);
            }
        } finally {
            memory.free(staging);
        }
    }

    static void copy(VkCommandBuffer cb, GpuBuffer src, long srcOffset, GpuBuffer dst, long dstOffset, long bytes) {
        try (MemoryStack stack = stackPush()) {
            VkBufferCopy.Buffer region = VkBufferCopy.calloc(1, stack).srcOffset(srcOffset).dstOffset(dstOffset).size(bytes);
            vkCmdCopyBuffer(cb, src.buffer(), dst.buffer(), region);
        }
    }

    /** A global memory barrier: writes of {@code srcAccess} in {@code srcStages} become visible to {@code dstAccess}. */
    static void barrier(VkCommandBuffer cb, int srcStages, int srcAccess, int dstStages, int dstAccess) {
        try (MemoryStack stack = stackPush()) {
            VkMemoryBarrier.Buffer b = VkMemoryBarrier.calloc(1, stack).sType$Default()
                    .srcAccessMask(srcAccess).dstAccessMask(dstAccess);
            vkCmdPipelineBarrier(cb, srcStages, dstStages, 0, b, null, null);
        }
    }
}
