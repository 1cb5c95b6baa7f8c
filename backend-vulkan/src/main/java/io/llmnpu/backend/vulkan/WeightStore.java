package io.llmnpu.backend.vulkan;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Weights uploaded to one device, shared by every graph that uses them: graphs over one model (one per
 * chunk size, the decode step, the LM head) upload each weight once. Counted references free a weight
 * when the last graph using it closes. A weight larger than one shader binding may see is stored as
 * row slices, each its own buffer (see {@link #rowsPerSlice}). Not thread-safe: the device serialises
 * access.
 */
final class WeightStore {
    private static final Logger LOG = LoggerFactory.getLogger(WeightStore.class);

    /** Rows {@code firstRow .. firstRow + rows} of a weight in their own buffer. */
    record Slice(GpuBuffer buffer, int firstRow, int rows, int scaleOffsetWords) {
    }

    /** A weight on the device. */
    record DeviceWeight(DType type, List<Slice> slices) {
    }

    private record Key(SegmentKey memory, DType type, Shape shape) {
    }

    private static final class Entry {
        final DeviceWeight weight;
        int users;

        Entry(DeviceWeight weight) {
            this.weight = weight;
        }
    }

    private final DeviceMemory memory;
    private final Transfers transfers;
    private final long sliceBytes;
    private final Map<Key, Entry> entries = new HashMap<>();
    private long uploadedBytes;

    /** @param sliceBytes the largest buffer a shader binding may see */
    WeightStore(DeviceMemory memory, Transfers transfers, long sliceBytes) {
        this.memory = memory;
        this.transfers = transfers;
        this.sliceBytes = sliceBytes;
    }

    /** Rows per slice for a weight of this type and row width, or 0 if one row alone is too large. */
    static long rowsPerSlice(DType type, long cols, long sliceBytes) {
        long rowBytes = WeightLayout.bytes(type, 1, cols) + 4; // rounding of a slice adds at most a word
        return sliceBytes / rowBytes;
    }

    long sliceBytes() {
        return sliceBytes;
    }

    /** The device copy of {@code weight}, uploaded now if no graph holds it yet; pair with {@link #release}. */
    DeviceWeight acquire(Tensor weight) {
        Key key = key(weight);
        Entry entry = entries.get(key);
        if (entry == null) {
            entry = new Entry(upload(weight));
            entries.put(key, entry);
        }
        entry.users++;
        return entry.weight;
    }

    void release(Tensor weight) {
        Key key = key(weight);
        Entry entry = entries.get(key);
        if (entry != null && --entry.users == 0) {
            entries.remove(key);
            free(entry.weight);
        }
    }

    private DeviceWeight upload(Tensor weight) {
        DType type = weight.dtype();
        long rows = weight.shape().rows();
        long cols = weight.shape().cols();
        long perSlice = rowsPerSlice(type, cols, sliceBytes);
        if (perSlice == 0) {
            throw new BackendException("a row of weight " + weight + " does not fit one device buffer of " + sliceBytes + " bytes");
        }
        List<Slice> slices = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            List<Transfers.Piece> staged = new ArrayList<>();
            for (long first = 0; first < rows; first += perSlice) {
                long n = Math.min(perSlice, rows - first);
                long bytes = WeightLayout.bytes(type, n, cols);
                GpuBuffer buffer = memory.allocate(bytes, DeviceMemory.Kind.DEVICE,
                        "weight " + weight.name() + (perSlice < rows ? " rows " + first + "+" + n : ""));
                slices.add(new Slice(buffer, Math.toIntExact(first), Math.toIntExact(n),
                        WeightLayout.scaleOffsetWords(type, n, cols)));
                if (buffer.isMapped()) {
                    WeightLayout.encode(weight, first, n, buffer.segment());
                } else {
                    MemorySegment host = arena.allocate(bytes, 64);
                    WeightLayout.encode(weight, first, n, host);
                    staged.add(new Transfers.Piece(host, buffer, 0, bytes));
                }
                uploadedBytes += bytes;
            }
            transfers.upload(staged);
        } catch (RuntimeException e) {
            slices.forEach(s -> memory.free(s.buffer()));
            throw e;
        }
        LOG.debug("uploaded weight {} in {} slice(s)", weight, slices.size());
        return new DeviceWeight(type, List.copyOf(slices));
    }

    private void free(DeviceWeight weight) {
        weight.slices().forEach(s -> memory.free(s.buffer()));
    }

    private static Key key(Tensor weight) {
        return new Key(SegmentKey.of(weight.data(), weight.byteSize()), weight.dtype(), weight.shape());
    }

    /** Distinct weights on the device now. */
    int size() {
        return entries.size();
    }

    /** Bytes uploaded since the store was created. */
    long uploadedBytes() {
        return uploadedBytes;
    }

    void clear() {
        entries.values().forEach(e -> free(e.weight));
        entries.clear();
    }
}
