package io.llmnpu.api.tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.OptionalLong;

/**
 * How much of a piece of memory this process holds in RAM now: the pages of a memory-mapped weight that
 * count in its resident set. Linux only ({@code /proc/self/pagemap}, whose present bit any process may read
 * about itself); empty elsewhere. Unlike {@link MemorySegment#isLoaded()}, which asks whether the pages are
 * in the page cache, this says whether they are mapped into this process, which is what its resident set
 * (and a user's memory figure) counts.
 */
public final class ResidentMemory {

    private static final Path PAGEMAP = Path.of("/proc/self/pagemap");
    private static final Path SMAPS = Path.of("/proc/self/smaps");
    private static final long PRESENT = 1L << 63;
    /** Page table entries read per call. */
    private static final int BATCH = 8192;

    private ResidentMemory() {
    }

    /**
     * Bytes of {@code segment}'s pages that are resident in this process (whole pages, so up to a page
     * more at either end), or empty where the platform does not tell.
     */
    public static OptionalLong bytes(MemorySegment segment) {
        if (segment.byteSize() == 0 || !segment.isNative()) {
            return OptionalLong.of(0);
        }
        long page = pageSize();
        if (page <= 0 || !Files.isReadable(PAGEMAP)) {
            return OptionalLong.empty();
        }
        long first = segment.address() / page;
        long last = (segment.address() + segment.byteSize() - 1) / page;
        long present = 0;
        ByteBuffer entries = ByteBuffer.allocate(BATCH * Long.BYTES).order(ByteOrder.nativeOrder());
        try (FileChannel pagemap = FileChannel.open(PAGEMAP, StandardOpenOption.READ)) {
            for (long p = first; p <= last; p += BATCH) {
                int count = (int) Math.min(BATCH, last - p + 1);
                entries.clear().limit(count * Long.BYTES);
                long at = p * Long.BYTES;
                while (entries.hasRemaining()) {
                    int read = pagemap.read(entries, at + entries.position());
                    if (read <= 0) {
                        return OptionalLong.empty();
                    }
                }
                for (int i = 0; i < count; i++) {
                    if ((entries.getLong(i * Long.BYTES) & PRESENT) != 0) {
                        present++;
                    }
                }
            }
        } catch (IOException | SecurityException | UnsupportedOperationException e) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(present * page);
    }

    /** The kernel's page size for ordinary mappings, from the first mapping in smaps; -1 if unknown. */
    private static long pageSize() {
        try (var lines = Files.lines(SMAPS)) {
            return lines.filter(l -> l.startsWith("KernelPageSize:")).findFirst()
                    .map(l -> Long.parseLong(l.substring(l.indexOf(':') + 1).trim().split("\\s+")[0]) * 1024)
                    .orElse(-1L);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
