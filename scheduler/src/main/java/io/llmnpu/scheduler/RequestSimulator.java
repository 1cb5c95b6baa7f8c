package io.llmnpu.scheduler;

import io.llmnpu.api.graph.Subgraph;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * End-to-end latency and energy of one request (a prompt of N tokens, then M generated tokens) on a
 * platform profile, in simulation: prefill is the chunked task DAG scheduled by a policy over the
 * devices allowed to prefill; decode is M - 1 one-row steps over the devices allowed to decode (the
 * first token comes from prefill's logits). Energy counts every device of the platform for the whole
 * request: active power while it runs a task, idle power otherwise.
 */
public final class RequestSimulator {
    private final PrefillPlanner planner = new PrefillPlanner();
    private final SubgraphPlacer placer = new SubgraphPlacer();
    private final Simulator simulator = new Simulator();

    /**
     * One way to serve the request.
     *
     * @param name           e.g. {@code NPU + GPU/CPU}
     * @param prefill        the prefill graphs (float, or rewritten for an INT8 NPU)
     * @param decodeBody     the one-row body graph of a decode step
     * @param decodeHead     the one-row LM head
     * @param prefillDevices names of the platform's devices prefill may use
     * @param decodeDevices  names of the platform's devices decode may use
     */
    public record Configuration(String name, PrefillPlanner.Prefill prefill, Subgraph decodeBody, Subgraph decodeHead,
                                List<String> prefillDevices, List<String> decodeDevices) {
    }

    /**
     * What the request costs in one configuration.
     *
     * @param ttftSeconds     time to first token: the prefill's makespan
     * @param decodeSeconds   one decode step
     * @param totalSeconds    TTFT plus M - 1 decode steps
     * @param energyJoules    energy of all devices over the request; NaN if a profile lacks power figures
     * @param busySeconds     per device of the platform, seconds it ran tasks
     */
    public record Estimate(String configuration, int promptTokens, int outputTokens, double ttftSeconds,
                           double decodeSeconds, double totalSeconds, double energyJoules,
                           Map<String, Double> busySeconds) {
        public double prefillTokensPerSecond() {
            return promptTokens / ttftSeconds;
        }

        public double decodeTokensPerSecond() {
            return 1 / decodeSeconds;
        }

        public double joulesPerToken() {
            return energyJoules / (promptTokens + outputTokens);
        }
    }

    public Estimate estimate(Configuration c, PlatformProfile platform, int outputTokens, SchedulingPolicy policy) {
        if (outputTokens < 1) {
            throw new IllegalArgumentException("a request generates at least one token, got " + outputTokens);
        }
        List<DeviceProfile> prefillDevices = pick(platform, c.prefillDevices());
        List<DeviceProfile> decodeDevices = pick(platform, c.decodeDevices());
        ChunkDag prefillDag = planner.dag(c.prefill(), prefillDevices);
        Schedule prefill = simulator.run(prefillDag.graph(), prefillDag.costs(), policy);
        List<Placement.Candidate> decodeCandidates = PrefillPlanner.candidates(decodeDevices);
        ChunkDag step = ChunkDag.build(placer.place(c.decodeBody(), decodeCandidates), 1,
                placer.place(c.decodeHead(), decodeCandidates), ChunkDag.Heads.LAST_CHUNK);
        Schedule decode = simulator.run(step.graph(), step.costs(), policy);
        int steps = outputTokens - 1;
        double total = prefill.makespan() + steps * decode.makespan();
        Map<String, Double> busy = new LinkedHashMap<>();
        double energy = 0;
        for (DeviceProfile d : platform.devices()) {
            double seconds = busyOn(prefill, prefillDevices, d) + steps * busyOn(decode, decodeDevices, d);
            busy.put(d.name(), seconds);
            energy += seconds * d.activeWatts() + (total - seconds) * d.idleWatts();
        }
        return new Estimate(c.name(), c.prefill().promptTokens(), outputTokens, prefill.makespan(), decode.makespan(),
                total, energy, busy);
    }

    private static double busyOn(Schedule s, List<DeviceProfile> lanes, DeviceProfile d) {
        int lane = lanes.indexOf(d);
        return lane < 0 ? 0 : s.busySeconds(lane);
    }

    private static List<DeviceProfile> pick(PlatformProfile platform, List<String> names) {
        if (names.isEmpty()) {
            throw new IllegalArgumentException("a configuration needs at least one device");
        }
        return names.stream().map(platform::device).toList();
    }
}
