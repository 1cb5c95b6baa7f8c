package io.llmnpu.runtime.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Peak memory of this process: resident set (Linux {@code VmHWM}, which counts mapped model pages,
 * native buffers and the heap alike) and Java heap (the sum of the heap pools' peaks, an upper bound
 * of the heap's peak). Both can be reset between models: the heap pools through their MX beans, the
 * resident peak through {@code /proc/self/clear_refs} where the kernel allows it.
 *
 * @param rssBytes  peak resident set, or -1 where the platform does not report it
 * @param heapBytes peak Java heap use
 * @param rssReset  whether the resident peak was reset before the measured work (otherwise it covers
 *                  the whole process so far)
 * @param atEnd     what the resident set held after the model's last test, before the model closed (null if
 *                  it was not taken): where the peak goes, since a model's copies of its weights are made
 *                  when it loads and live until it closes
 */
public record PeakMemory(long rssBytes, long heapBytes, boolean rssReset, Resident atEnd) {
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

    /**
     * The resident set by kind at one moment; -1 where the platform does not tell.
     *
     * @param anonymousBytes     memory of this process alone: the Java heap, rearranged copies of weights,
     *                           caches, native libraries' allocations (Linux {@code RssAnon})
     * @param fileBytes          pages mapped from files, the model's included ({@code RssFile})
     * @param modelFileBytes     pages of the model file's tensors, of those
     * @param heapCommittedBytes memory the Java heap has committed, of the anonymous memory (an upper bound
     *                           of its resident part)
     */
    public record Resident(long anonymousBytes, long fileBytes, long modelFileBytes, long heapCommittedBytes) {

        /** Now, with {@code modelFileBytes} as measured by the caller. */
        public static Resident now(long modelFileBytes) {
            Map<String, Long> status = status();
            return new Resident(status.getOrDefault("RssAnon:", -1L), status.getOrDefault("RssFile:", -1L),
                    modelFileBytes, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted());
        }
    }

    /** Resets both peaks; returns whether the resident peak could be reset. */
    public static boolean reset() {
        for (MemoryPoolMXBean pool : heapPools()) {
            pool.resetPeakUsage();
        }
        try {
            Files.writeString(CLEAR_REFS, "5"); // "5" resets the peak RSS (VmHWM) to the current RSS
            return true;
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return false;
        }
    }

    /** The peaks since the last reset (or process start). */
    public static PeakMemory read(boolean rssReset, Resident atEnd) {
        long heap = heapPools().stream().mapToLong(p -> p.getPeakUsage() == null ? 0 : p.getPeakUsage().getUsed()).sum();
        return new PeakMemory(status().getOrDefault("VmHWM:", -1L), heap, rssReset, atEnd);
    }

    private static List<MemoryPoolMXBean> heapPools() {
        return ManagementFactory.getMemoryPoolMXBeans().stream().filter(p -> p.getType() == MemoryType.HEAP).toList();
    }

    /** The byte counts of {@code /proc/self/status} (reported in kB), by field name with its colon; empty elsewhere. */
    private static Map<String, Long> status() {
        Map<String, Long> fields = new HashMap<>();
        try {
            for (String line : Files.readAllLines(STATUS, StandardCharsets.UTF_8)) {
                String[] parts = line.trim().split("\\s+");
                if (parts.length == 3 && parts[2].equals("kB")) {
                    fields.put(parts[0], Long.parseLong(parts[1]) * 1024);
                }
            }
        } catch (IOException | RuntimeException e) {
            return Map.of();
        }
        return fields;
    }
}
