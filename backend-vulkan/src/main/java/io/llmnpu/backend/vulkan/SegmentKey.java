package io.llmnpu.backend.vulkan;

import java.lang.foreign.MemorySegment;

/**
 * Identifies the host memory behind a tensor, so device copies can be shared and found again. The
 * scope is part of the key: an arena closed and reallocated can hand out the same address for new
 * data; for heap memory the backing array stands in for the address.
 */
record SegmentKey(Object heapBase, long address, long byteSize, MemorySegment.Scope scope) {

    static SegmentKey of(MemorySegment segment, long byteSize) {
        return new SegmentKey(segment.heapBase().orElse(null), segment.address(), byteSize, segment.scope());
    }

    /** False once the memory's arena is closed: the device copy then belongs to nobody. */
    boolean alive() {
        return scope.isAlive();
    }
}
