package io.llmnpu.backend.opencl;

import io.llmnpu.api.tensor.Tensor;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_mem;

/**
 * Device copies of state tensors (KV caches), kept between executions and shared by every graph on
 * the device, so that chunks of one size and decode steps of another see the same cache without
 * re-uploading it. A copy lives until its host memory's arena closes, it is forgotten explicitly, or
 * the device closes. Not thread-safe: the owning device serialises access.
 */
final class ResidentStateStore {

    /** A state tensor's device buffer; {@code fresh} when it was created (and fully uploaded) just now. */
    record Resident(cl_mem mem, boolean fresh) {
    }

    private final cl_context context;
    private final cl_command_queue queue;
    private final Map<SegmentKey, cl_mem> buffers = new HashMap<>();
    private long uploadedBytes;

    ResidentStateStore(cl_context context, cl_command_queue queue) {
        this.context = context;
        this.queue = queue;
    }

    /** The device buffer for {@code state}; a new one starts as a full copy of the host tensor. */
    Resident resolve(Tensor state) {
        dropDead();
        SegmentKey key = SegmentKey.of(state.data(), state.byteSize());
        cl_mem mem = buffers.get(key);
        if (mem != null) {
            return new Resident(mem, false);
        }
        mem = ClMemory.allocate(context, state.byteSize(), "state " + state.name());
        try {
            upload(state, mem, 0, state.byteSize());
        } catch (RuntimeException e) {
            ClMemory.release(mem);
            throw e;
        }
        buffers.put(key, mem);
        return new Resident(mem, true);
    }

    /** Uploads bytes [offset, offset + bytes) of the host tensor into its device copy. */
    void upload(Tensor state, cl_mem mem, long offset, long bytes) {
        ClMemory.upload(queue, state.data().asSlice(offset, bytes), mem, offset, bytes);
        uploadedBytes += bytes;
    }

    /** Drops the device copy of {@code state}, so the next binding uploads the host tensor again. */
    boolean forget(Tensor state) {
        cl_mem mem = buffers.remove(SegmentKey.of(state.data(), state.byteSize()));
        ClMemory.release(mem);
        return mem != null;
    }

    int size() {
        return buffers.size();
    }

    long uploadedBytes() {
        return uploadedBytes;
    }

    private void dropDead() {
        for (Iterator<Map.Entry<SegmentKey, cl_mem>> it = buffers.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<SegmentKey, cl_mem> e = it.next();
            if (!e.getKey().alive()) {
                ClMemory.release(e.getValue());
                it.remove();
            }
        }
    }

    void clear() {
        buffers.values().forEach(ClMemory::release);
        buffers.clear();
    }
}
