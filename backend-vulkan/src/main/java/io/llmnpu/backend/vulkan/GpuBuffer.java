package io.llmnpu.backend.vulkan;

import java.lang.foreign.MemorySegment;

/**
 * A Vulkan buffer with its own memory. {@code mapped} is the host address of memory the host can
 * read and write directly (persistently mapped, coherent), or 0 when transfers need a staging copy.
 */
record GpuBuffer(long buffer, long memory, long bytes, long mapped, String what) {

    boolean isMapped() {
        return mapped != 0;
    }

    /** The mapped memory as a segment; only for mapped buffers. */
    MemorySegment segment() {
        if (mapped == 0) {
            throw new IllegalStateException(what + " is not mapped");
        }
        return MemorySegment.ofAddress(mapped).reinterpret(bytes);
    }

    @Override
    public String toString() {
        return what + " (" + bytes + " bytes" + (mapped != 0 ? ", mapped" : "") + ")";
    }
}
