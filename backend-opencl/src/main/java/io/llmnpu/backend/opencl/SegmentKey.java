package io.llmnpu.backend.opencl;

import java.lang.foreign.MemorySegment;

/**
 * Identifies the host memory behind a tensor, so that device copies can be shared and reused. Two
 * tensors over the same bytes (same address and size, same owner) share a key; the scope is part of
 * the key because an arena closed and reallocated can hand out the same address for new data, and
 * for heap memory the backing array stands in for the address space.
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
