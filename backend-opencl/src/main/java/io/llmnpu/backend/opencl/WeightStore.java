package io.llmnpu.backend.opencl;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.tensor.Tensor;
import java.util.HashMap;
import java.util.Map;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_mem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Weights uploaded to one device, shared by every graph that uses them: graphs over the same model
 * (one per chunk size) upload each weight once. Counted references free a buffer when the last graph
 * using it closes. Not thread-safe: the owning device serialises access.
 */
final class WeightStore {
    private static final Logger LOG = LoggerFactory.getLogger(WeightStore.class);

    /** A weight's device buffer and the number of graphs using it. */
    private static final class Entry {
        final cl_mem mem;
        int users;

        Entry(cl_mem mem) {
            this.mem = mem;
        }
    }

    private final cl_context context;
    private final cl_command_queue queue;
    private final long maxAllocBytes;
    private final Map<SegmentKey, Entry> entries = new HashMap<>();
    private long uploadedBytes;

    WeightStore(cl_context context, cl_command_queue queue, long maxAllocBytes) {
        this.context = context;
        this.queue = queue;
        this.maxAllocBytes = maxAllocBytes;
    }

    /** The device copy of {@code weight}, uploaded now if no graph holds it yet; pair with {@link #release}. */
    cl_mem acquire(Tensor weight) {
        SegmentKey key = SegmentKey.of(weight.data(), weight.byteSize());
        Entry entry = entries.get(key);
        if (entry == null) {
            long bytes = weight.byteSize();
            if (bytes > maxAllocBytes) {
                throw new BackendException("weight " + weight + " takes " + bytes + " bytes, more than the device's"
                        + " largest buffer (" + maxAllocBytes + " bytes)");
            }
            cl_mem mem = ClMemory.allocate(context, bytes, "weight " + weight.name());
            try {
                ClMemory.upload(queue, weight.data(), mem, 0, bytes);
            } catch (RuntimeException e) {
                ClMemory.release(mem);
                throw e;
            }
            entry = new Entry(mem);
            entries.put(key, entry);
            uploadedBytes += bytes;
            LOG.debug("uploaded weight {} ({} bytes)", weight, bytes);
        }
        entry.users++;
        return entry.mem;
    }

    void release(Tensor weight) {
        SegmentKey key = SegmentKey.of(weight.data(), weight.byteSize());
        Entry entry = entries.get(key);
        if (entry != null && --entry.users == 0) {
            entries.remove(key);
            ClMemory.release(entry.mem);
        }
    }

    /** Number of distinct weights on the device now. */
    int size() {
        return entries.size();
    }

    /** Bytes uploaded since the store was created (a weight uploaded twice counts twice). */
    long uploadedBytes() {
        return uploadedBytes;
    }

    void clear() {
        entries.values().forEach(e -> ClMemory.release(e.mem));
        entries.clear();
    }
}
