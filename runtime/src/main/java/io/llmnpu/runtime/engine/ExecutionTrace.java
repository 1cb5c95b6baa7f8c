package io.llmnpu.runtime.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * Records when each part of a hybrid graph ran, on which device and thread, so that overlap between
 * the NPU and the CPU can be seen (and tested). Thread-safe.
 */
public final class ExecutionTrace {

    /**
     * One execution of one part.
     *
     * @param stage  the stage name
     * @param device {@code npu} or {@code cpu}
     * @param thread the thread that ran it
     */
    public record Interval(String stage, String device, String thread, long startNanos, long endNanos) {
        public long nanos() {
            return endNanos - startNanos;
        }
    }

    private final List<Interval> intervals = new ArrayList<>();

    public synchronized void add(Interval interval) {
        intervals.add(interval);
    }

    public synchronized List<Interval> intervals() {
        return List.copyOf(intervals);
    }

    public synchronized void clear() {
        intervals.clear();
    }

    /** Total time during which an NPU part and a CPU part were running at once. */
    public synchronized long overlapNanos() {
        long total = 0;
        for (Interval a : intervals) {
            if (!a.device().equals("npu")) {
                continue;
            }
            for (Interval b : intervals) {
                if (b.device().equals("cpu")) {
                    total += Math.max(0, Math.min(a.endNanos(), b.endNanos()) - Math.max(a.startNanos(), b.startNanos()));
                }
            }
        }
        return total;
    }
}
