package io.llmnpu.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.DeviceKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every policy, on random graphs with random costs, yields a valid schedule no shorter than the lower bound. */
class SimulatorPropertyTest {
    private final Simulator simulator = new Simulator();
    private final ScheduleValidator validator = new ScheduleValidator();

    static Stream<Long> seeds() {
        return IntStream.range(0, 200).mapToObj(i -> 0x5eedL * 1_000_003L + i);
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void randomGraphsAndCosts(long seed) {
        Random random = new Random(seed);
        TaskGraph graph = RandomTaskGraphs.graph(random, 1 + random.nextInt(60), random.nextDouble() * 0.4);
        List<Processor> devices = RandomTaskGraphs.devices(random, 1 + random.nextInt(4)).stream()
                .map(DeviceProfile::processor).toList();
        CostTable costs = RandomTaskGraphs.costs(random, graph, devices, random.nextDouble() * 0.5);
        checkAllPolicies(graph, costs, "seed " + seed);
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void randomPrefillsOnRandomPlatforms(long seed) {
        if (seed % 4 != 0) {
            return;        // a quarter of the seeds: prefill graphs are larger
        }
        Random random = new Random(seed);
        int heads = 1 << random.nextInt(4);
        SyntheticGraphs.Shape5 shape = new SyntheticGraphs.Shape5(heads * (8 << random.nextInt(3)),
                16 + random.nextInt(200), 1 + random.nextInt(6), heads,
                heads >> random.nextInt(Integer.numberOfTrailingZeros(heads) + 1), 10 + random.nextInt(1000));
        int rows = 16 << random.nextInt(3);
        int chunks = 1 + random.nextInt(5);
        double int8Share = random.nextDouble();
        double shadowShare = random.nextDouble();
        PrefillPlanner.Prefill prefill = new PrefillPlanner.Prefill(
                SyntheticGraphs.body(shape, rows, rows * chunks, l -> (l * 7 + seed) % 10 < int8Share * 10,
                        l -> (l * 3 + seed) % 10 < shadowShare * 10),
                SyntheticGraphs.head(shape, 1), rows * chunks, rows, chunks, "random");
        List<DeviceProfile> devices = new ArrayList<>(RandomTaskGraphs.devices(random, 1 + random.nextInt(3)));
        devices.add(new DeviceProfile("host", DeviceKind.CPU, 5e10, 5e10, 1e10, 1e-5));   // runs everything
        ChunkDag dag = new PrefillPlanner().dag(prefill, devices);
        checkAllPolicies(dag.graph(), dag.costs(), "seed " + seed);
    }

    private void checkAllPolicies(TaskGraph graph, CostTable costs, String label) {
        LowerBound bound = LowerBounds.of(graph, costs);
        for (SchedulingPolicy policy : Policies.all()) {
            Schedule s = simulator.run(graph, costs, policy);
            List<String> problems = validator.violations(s);
            assertTrue(problems.isEmpty(), label + " " + policy.name() + ": " + problems);
            assertTrue(s.makespan() >= bound.seconds() * (1 - 1e-9),
                    label + " " + policy.name() + ": makespan " + s.makespan() + " below bound " + bound);
            for (int d = 0; d < costs.deviceCount(); d++) {
                assertEquals(s.makespan(), s.busySeconds(d) + s.idleSeconds(d), 1e-12);
            }
            if (policy instanceof InOrderPolicy) {
                for (int t = 1; t < graph.size(); t++) {
                    assertTrue(s.entry(t).start() >= s.entry(t - 1).start(), label + ": in-order started " + t + " early");
                    assertEquals(costs.bestDevice(t), s.entry(t).device(), label + ": in-order off the best device");
                }
            }
        }
    }
}
