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
