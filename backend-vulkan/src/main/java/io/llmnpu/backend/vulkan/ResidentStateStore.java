package io.llmnpu.backend.vulkan;

import io.llmnpu.api.tensor.Tensor;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Device copies of state tensors (KV caches), kept between executions and shared by every graph on
 * the device, so prefill chunks and decode steps see one cache without uploading it again. A copy is
 * made from the host tensor the first time it is bound and lives until that memory's arena closes,
 * it is forgotten, or the device closes. Executions write the rows they change back to the host
 * tensor, so the host copy stays current. Not thread-safe: the device serialises access.
 */
final class ResidentStateStore {

    private final DeviceMemory memory;
    private final Transfers transfers;
    private final Map<SegmentKey, GpuBuffer> buffers = new HashMap<>();
    private long uploadedBytes;

    ResidentStateStore(DeviceMemory memory, Transfers transfers) {
        this.memory = memory;
        this.transfers = transfers;
    }

    /** The device buffer of {@code state}; a new one starts as a full copy of the host tensor. */
    GpuBuffer resolve(Tensor state) {
        dropDead();
        SegmentKey key = SegmentKey.of(state.data(), state.byteSize());
        GpuBuffer buffer = buffers.get(key);
        if (buffer != null) {
            return buffer;
        }
        buffer = memory.allocate(state.byteSize(), DeviceMemory.Kind.DEVICE, "state " + state.name());
        try {
            transfers.upload(state.data(), buffer, 0, state.byteSize());
        } catch (RuntimeException e) {
            memory.free(buffer);
            throw e;
        }
        uploadedBytes += state.byteSize();
        buffers.put(key, buffer);
        return buffer;
    }

    /** Drops the device copy of {@code state}, so the next binding uploads the host tensor again. */
    boolean forget(Tensor state) {
        GpuBuffer buffer = buffers.remove(SegmentKey.of(state.data(), state.byteSize()));
        memory.free(buffer);
        return buffer != null;
    }

    int size() {
        return buffers.size();
    }

    long uploadedBytes() {
        return uploadedBytes;
    }

    private void dropDead() {
        for (Iterator<Map.Entry<SegmentKey, GpuBuffer>> it = buffers.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<SegmentKey, GpuBuffer> e = it.next();
            if (!e.getKey().alive()) {
                memory.free(e.getValue());
                it.remove();
            }
        }
    }

    void clear() {
        buffers.values().forEach(memory::free);
        buffers.clear();
    }
}
