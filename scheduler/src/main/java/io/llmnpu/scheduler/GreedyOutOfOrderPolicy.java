package io.llmnpu.scheduler;

import io.llmnpu.api.backend.DeviceKind;

/**
 * llm.npu's online greedy out-of-order policy. When a device is free it takes, among the ready
 * tasks it may run, the one with the highest score
 * <pre>
 *   C(g) = sign(device) x sum of the run times of the tasks g's completion unlocks
 * </pre>
 * with sign +1 on a CPU or GPU and -1 on an NPU. A task is unlocked by g when g is its last
 * dependency that has not started; its run time is its time on its fastest allowed device.
 *
 * <p>Why the signs: the NPU is the bottleneck and must never starve. On the CPU/GPU, the task that
 * unlocks the most work (typically attention, whose completion releases an O+FFN block to the
 * NPU) goes first, so the CPU feeds the NPU. On the NPU, the task that unlocks the least goes first:
 * the NPU works through blocks that hand nothing to the CPU/GPU while those are busy, and a block
 * that would release CPU/GPU work waits until it is the NPU's only choice or its release costs
 * least. Ties go to the lower id (program order).
 *
 * <p>A device only takes a task it would finish no later than any other allowed device, counting
 * only what each device is busy with ({@link SchedulerView#finishesSoonestOn}); under llm.npu's
 * affinity placement every task has one class of devices anyway.
 *
 * <p>{@link #maxUnlock()} is a variant with the NPU's sign flipped to +1: every device takes the
 * task that unlocks the most. When the CPU/GPU side is itself heavily loaded (attention on a CPU
 * without a GPU), the NPU then releases CPU work early instead of late, and the CPU starves less.
 */
public final class GreedyOutOfOrderPolicy implements SchedulingPolicy {
    private final String name;
    private final double npuSign;

    /** The policy as llm.npu describes it (negative score on the NPU). */
    public GreedyOutOfOrderPolicy() {
        this("greedy", -1);
    }

    private GreedyOutOfOrderPolicy(String name, double npuSign) {
        this.name = name;
        this.npuSign = npuSign;
    }

    /** The variant where the NPU, too, takes the task that unlocks the most work. */
    public static GreedyOutOfOrderPolicy maxUnlock() {
        return new GreedyOutOfOrderPolicy("greedy-max-unlock", 1);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Dispatcher newRun(TaskGraph graph, CostTable costs) {
        return (view, device) -> {
            double sign = costs.device(device).kind() == DeviceKind.NPU ? npuSign : 1;
            int best = IDLE;
            double bestScore = Double.NEGATIVE_INFINITY;
            for (int task : view.readyTasks()) {
                if (!costs.allowed(task, device) || !view.finishesSoonestOn(task, device)) {
                    continue;
                }
                double score = sign * unlockedSeconds(view, graph, costs, task);
                if (score > bestScore) {
                    bestScore = score;
                    best = task;
                }
            }
            return best;
        };
    }

    /** Sum of the fastest run times of the tasks that wait for {@code task} and for nothing else unstarted. */
    static double unlockedSeconds(SchedulerView view, TaskGraph graph, CostTable costs, int task) {
        double sum = 0;
        for (int s : graph.successorsView(task)) {
            if (view.unstartedPredecessors(s) == 1) {
                sum += costs.minSeconds(s);
            }
        }
        return sum;
    }
}
