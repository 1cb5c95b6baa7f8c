package io.llmnpu.backend.cpu;

import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives back the pages of a memory-mapped weight once a kernel has copied it into the layout it reads
 * (rearranged rows, int8 codes): from then on the copy serves every product, so the file's pages would
 * only double the weight's share of the resident set. {@link MemorySegment#unload()} drops them from this
 * process (clean file pages: nothing is written back, the page cache may keep them); a later read of the
 * weight (a rare path, such as an outlier channel's column) faults them in again from the file and should
 * release them again when done.
 */
public final class MappedPages {

    private static final Logger LOG = LoggerFactory.getLogger(MappedPages.class);

    private MappedPages() {
    }

    /**
     * The span {@link #releaseAround} gives back around a read: a read fault maps the page-cache folio
     * around the page (and neighbours already cached), up to a PMD's 2 MiB on file systems with large folios.
     */
    static final long FAULT_SPAN = 2L << 20;

    /**
     * Gives back the pages that reading {@code length} bytes at {@code offset} of the mapped {@code weight}
     * may have mapped: the {@link #FAULT_SPAN}-aligned window around them, within the weight. For weights
     * read a little at a time straight from the file (an embedding table's rows), which would otherwise
     * end up resident whole; does nothing for memory that is not mapped.
     */
    public static void releaseAround(MemorySegment weight, long offset, long length) {
        if (!weight.isMapped()) {
            return;
        }
        long base = weight.address();
        long from = Math.max(base, (base + offset) & -FAULT_SPAN);
        long to = Math.min(base + weight.byteSize(), (base + offset + length + FAULT_SPAN - 1) & -FAULT_SPAN);
        if (to > from) {
            release(weight.asSlice(from - base, to - from));
        }
    }

    /** Releases {@code weight}'s pages if it is mapped from a file; other memory is left alone. */
    public static void release(MemorySegment weight) {
        if (!weight.isMapped()) {
            return;
        }
        try {
            weight.unload();
        } catch (UncheckedIOException | UnsupportedOperationException e) {
            // Only residency is lost, never data: the weight still reads the same from the file.
            LOG.debug("cannot release the pages of a mapped weight: {}", e.toString());
        }
    }
}
