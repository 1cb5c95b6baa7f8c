package io.llmnpu.scheduler;

/**
 * The baseline without out-of-order execution: tasks start in program order (chunk by chunk, layer
 * by layer, subgraph by subgraph: ascending id), each on its fastest allowed device, and a task
 * never starts before every earlier task has started. Completion may still overlap where the
 * program allows it (a shadow task beside its NPU task), but a chunk cannot get ahead of the one
 * before it, so while the CPU/GPU runs attention the NPU waits.
 */
public final class InOrderPolicy implements SchedulingPolicy {

    @Override
    public String name() {
        return "in-order";
    }

    @Override
    public Dispatcher newRun(TaskGraph graph, CostTable costs) {
        return (view, device) -> {
            int next = view.firstUnstarted();
            if (next >= 0 && view.isReady(next) && costs.bestDevice(next) == device) {
                return next;
            }
            return IDLE;
        };
    }
}
