package io.llmnpu.scheduler;

/** What a policy may look at when a device asks for work: the run so far, read-only. */
public interface SchedulerView {

    TaskGraph graph();

    CostTable costs();

    /** Current simulated time, in seconds from the start of prefill. */
    double now();

    /** Whether every dependency of {@code task} has finished and it has not started. */
    boolean isReady(int task);

    /** Ready tasks, ascending by id (a fresh array). */
    int[] readyTasks();

    boolean isStarted(int task);

    boolean isFinished(int task);

    /** The lowest task id that has not started, or -1 when all have. */
    int firstUnstarted();

    /** Dependencies of {@code task} that have not started yet. */
    int unstartedPredecessors(int task);

    /** When {@code device} finishes its current task; {@link #now()} if it is idle. */
    double freeAt(int device);

    /**
     * Whether starting {@code task} on {@code device} now would finish it no later than on any
     * other allowed device, counting only the task each device is busy with: a cheap guard that
     * keeps a free but slow device from grabbing work a busy fast one would finish sooner.
     */
    default boolean finishesSoonestOn(int task, int device) {
        CostTable costs = costs();
        double mine = now() + costs.seconds(task, device);
        for (int e = 0; e < costs.deviceCount(); e++) {
            if (e != device && costs.allowed(task, e)) {
                double theirs = Math.max(now(), freeAt(e)) + costs.seconds(task, e);
                if (theirs < mine - 1e-12 * Math.max(1, Math.abs(mine))) {
                    return false;
                }
            }
        }
        return true;
    }
}
