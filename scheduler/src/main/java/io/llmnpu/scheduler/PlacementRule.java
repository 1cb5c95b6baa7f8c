package io.llmnpu.scheduler;

/**
 * Which devices each task may run on, before any policy orders the work (the "placer" of the
 * scheduler). Policies and lower bounds see the same restricted cost table, so a bound is a bound
 * on every schedule the policies could produce under that rule.
 */
public enum PlacementRule {
    /**
     * llm.npu's placement by affinity: NPU-affine subgraphs on NPUs, CPU/GPU-affine subgraphs on
     * CPUs and GPUs, each among the devices that support it. A task whose class has no device that
     * supports it may run on any device that does (no NPU: the matmuls go to the CPU or GPU).
     */
    AFFINITY {
        @Override
        public CostTable apply(TaskGraph graph, CostTable costs) {
            return costs.restrict((t, d) -> {
                AffinityClass affinity = graph.task(t).kind().affinity();
                if (affinity.includes(costs.device(d).kind())) {
                    return true;
                }
                for (int e = 0; e < costs.deviceCount(); e++) {
                    if (costs.allowed(t, e) && affinity.includes(costs.device(e).kind())) {
                        return false;    // the task's own class can run it: stay there
                    }
                }
                return true;
            });
        }
    },
    /** Any device that supports the task's arithmetic. */
    ANY_SUPPORTING {
        @Override
        public CostTable apply(TaskGraph graph, CostTable costs) {
            return costs;
        }
    };

    /** {@code costs} with the pairs this rule forbids set to +infinity. */
    public abstract CostTable apply(TaskGraph graph, CostTable costs);
}
