package io.llmnpu.scheduler;

/**
 * Decides what a free device runs next. Policies are stateless and reusable; {@link #newRun}
 * makes the per-run part (priorities computed once for a graph).
 */
public interface SchedulingPolicy {

    /** Returned by {@link Dispatcher#pick} to leave the device idle until the next event. */
    int IDLE = -1;

    /** Short name for reports and the command line. */
    String name();

    Dispatcher newRun(TaskGraph graph, CostTable costs);

    /** The decisions of one run. */
    @FunctionalInterface
    interface Dispatcher {
        /**
         * Called whenever {@code device} is idle at {@code view.now()}.
         *
         * @return a ready task that may run on {@code device}, or {@link #IDLE}
         */
        int pick(SchedulerView view, int device);
    }
}
