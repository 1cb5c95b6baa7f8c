package io.llmnpu.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.Shape;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Profiles as simulated devices: roofline affinities, and a Qwen1.5-1.8B-shape prefill of 1024 tokens
 * on the Snapdragon-like profile, placed and scheduled as a real run would be.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SimulatedPrefillTest {
    private PlatformProfile phone;
    private PrefillPlanner.Comparison qwen;

    @BeforeAll
    void plan() {
        phone = new ProfileLoader().builtIn("snapdragon-8gen3-like");
        // Shadows in every sixth layer (the paper keeps ~15%), 256-row chunks.
        PrefillPlanner.Prefill prefill = new PrefillPlanner.Prefill(
                SyntheticGraphs.body(SyntheticGraphs.QWEN, 256, 1024, l -> true, l -> l % 6 == 5),
                SyntheticGraphs.head(SyntheticGraphs.QWEN, 1), 1024, 256, 4, "qwen1.5-1.8b shape");
        qwen = new PrefillPlanner().compare(prefill, phone, Policies.all());
        System.out.println(qwen.report().toText());
    }

    @Test
    void rooflineAffinityFollowsTheProfile() {
        SimulatedDevice npu = new SimulatedDevice(phone.device("npu"));
        SimulatedDevice gpu = new SimulatedDevice(phone.device("gpu"));
        Value in = new Value(0, "x", DType.F32, Shape.of(256, 2048));
        Value out = new Value(1, "y", DType.F32, Shape.of(256, 2048));
        Op.QuantizedLinear q = new Op.QuantizedLinear(in, SyntheticGraphs.int8("w", 2048, 2048), 0.1f, out);
        // The paper's reference matmul: 0.9 ms on the NPU at INT8.
        assertEquals(0.9e-3, npu.affinity(q).estimatedSeconds(), 1e-6);
        assertFalse(gpu.affinity(q).isSupported(), "the profile's GPU has no INT8 path");
        Op.Linear f = new Op.Linear(in, SyntheticGraphs.weight("w", DType.F16, 2048, 2048), out);
        assertEquals(1.7e-3, gpu.affinity(f).estimatedSeconds(), 1e-6);
        Affinity slow = npu.affinity(f);
        assertEquals(252e-3, slow.estimatedSeconds(), 1e-4);
        assertEquals(DeviceKind.NPU, npu.kind());
    }

    @Test
    void int8WorkStaysOnTheNpuAndOutOfOrderBeatsInOrder() {
        Plan any = qwen.plans().getFirst();
        ChunkDag dag = any.dag();
        for (int t = 0; t < dag.graph().size(); t++) {
            ChunkDag.Piece p = dag.piece(t);
            boolean int8 = p.segment().kind() == TaskKind.INT8_LINEAR;
            assertEquals(int8, "npu".equals(dag.processors().get(p.segment().device()).name()), p.toString());
        }
        PlanReport r = qwen.report();
        double inOrder = r.row("in-order").makespanSeconds();
        for (String policy : List.of("greedy", "greedy-max-unlock", "critical-path")) {
            assertTrue(r.row(policy).makespanSeconds() < inOrder, policy + " beats in-order");
        }
        assertTrue(r.ratio(r.row("critical-path")) < 1.05, "critical path within 5% of the bound: "
                + String.format(Locale.ROOT, "%.4f", r.ratio(r.row("critical-path"))));
        assertTrue(r.row("critical-path").npuBubbleFraction() < r.row("in-order").npuBubbleFraction());
        // Paper: > 1000 tok/s at this shape; the profile's NPU does the INT8 work in about a second.
        double tps = 1024 / r.row("critical-path").makespanSeconds();
        assertTrue(tps > 700 && tps < 1400, "prefill tok/s " + tps);
    }
}
