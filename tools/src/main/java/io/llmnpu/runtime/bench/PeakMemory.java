package io.llmnpu.runtime.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

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
 */
public record PeakMemory(long rssBytes, long heapBytes, boolean rssReset) {
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

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
    public static PeakMemory read(boolean rssReset) {
        long heap = heapPools().stream().mapToLong(p -> p.getPeakUsage() == null ? 0 : p.getPeakUsage().getUsed()).sum();
        return new PeakMemory(vmHwm(), heap, rssReset);
    }

    private static List<MemoryPoolMXBean> heapPools() {
        return ManagementFactory.getMemoryPoolMXBeans().stream().filter(p -> p.getType() == MemoryType.HEAP).toList();
    }

    private static long vmHwm() {
        try {
            for (String line : Files.readAllLines(STATUS, StandardCharsets.UTF_8)) {
                if (line.startsWith("VmHWM:")) {
                    String[] parts = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024; // reported in kB
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
