package io.llmnpu.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.DeviceKind;
import java.util.List;
import org.junit.jupiter.api.Test;

class CostEstimatorTest {
    /** The matmul the profile's figures are quoted for: 256 x 2048 x 2048, 2 operations per multiply-add. */
    private static final Workload REFERENCE_MATMUL = new Workload(2.0 * 256 * 2048 * 2048, 0);
    private final CostEstimator estimator = new CostEstimator();
    private final PlatformProfile phone = new ProfileLoader().builtIn("snapdragon-8gen3-like");

    private double ms(Workload w, Arithmetic a, String device) {
        DeviceProfile d = phone.device(device);
        return (estimator.seconds(w, a, d) - d.taskOverheadSeconds()) * 1e3;
    }

    @Test
    void phoneProfileReproducesTheMatmulLatenciesOfTheDesign() {
        // ARCHITECTURE.md section 1: NPU INT8 0.9 ms, CPU INT8 4.2 ms, GPU FP16 1.7 ms, NPU FP16 252 ms.
        assertEquals(0.9, ms(REFERENCE_MATMUL, Arithmetic.INT8_MATMUL, "npu"), 0.001);
        assertEquals(4.2, ms(REFERENCE_MATMUL, Arithmetic.INT8_MATMUL, "cpu"), 0.001);
        assertEquals(1.7, ms(REFERENCE_MATMUL, Arithmetic.FLOAT, "gpu"), 0.001);
        assertEquals(252, ms(REFERENCE_MATMUL, Arithmetic.FLOAT, "npu"), 0.1);
        assertEquals(Double.POSITIVE_INFINITY,
                estimator.seconds(REFERENCE_MATMUL, Arithmetic.INT8_MATMUL, phone.device("gpu")));
    }

    @Test
    void rooflineTakesTheSlowerOfComputeAndMemoryPlusOverhead() {
        DeviceProfile d = new DeviceProfile("x", DeviceKind.CPU, 1e12, 5e11, 1e10, 2e-5);
        // compute bound: 1e9 ops at 1e12/s = 1 ms; 1e6 bytes at 1e10/s = 0.1 ms
        assertEquals(1e-3 + 2e-5, estimator.seconds(new Workload(1e9, 1e6), Arithmetic.INT8_MATMUL, d), 1e-12);
        // memory bound: 1e6 ops = 1 us; 1e8 bytes = 10 ms
        assertEquals(1e-2 + 2e-5, estimator.seconds(new Workload(1e6, 1e8), Arithmetic.INT8_MATMUL, d), 1e-12);
        // float at half the rate
        assertEquals(2e-3 + 2e-5, estimator.seconds(new Workload(1e9, 0), Arithmetic.FLOAT, d), 1e-12);
    }

    @Test
    void int8OnlyDeviceCannotRunFloatWork() {
        PlatformProfile machine = new ProfileLoader().builtIn("this-machine-example");
        DeviceProfile npu = machine.device("ref-npu");
        assertEquals(Double.POSITIVE_INFINITY, estimator.seconds(new Workload(1, 1), Arithmetic.FLOAT, npu));
        // 2.147e9 INT8 operations at the measured 65.5 GOP/s of one core
        assertEquals(2.0 * 256 * 2048 * 2048 / 65.5e9 * 1e3,
                (estimator.seconds(REFERENCE_MATMUL, Arithmetic.INT8_MATMUL, npu) - npu.taskOverheadSeconds()) * 1e3, 1e-9);
    }

    @Test
    void affinityPlacementKeepsMatmulsOnTheNpuAndFloatWorkOnCpuAndGpu() {
        PrefillDag dag = PrefillDag.build(ModelShape.QWEN1_5_1_8B, 512, 256, ShadowOutliers.allLayers(10));
        CostTable supported = estimator.estimate(dag.graph(), phone);
        CostTable placed = PlacementRule.AFFINITY.apply(dag.graph(), supported);
        int npu = 0;
        int gpu = 1;
        int cpu = 2;
        for (Task t : dag.graph().tasks()) {
            boolean matmul = t.kind().affinity() == AffinityClass.NPU;
            assertEquals(matmul, placed.allowed(t.id(), npu), t.describe());
            assertEquals(!matmul, placed.allowed(t.id(), gpu), t.describe());
            assertEquals(!matmul, placed.allowed(t.id(), cpu), t.describe());
            // unrestricted: the CPU runs everything, the NPU even float (slowly), the GPU no INT8
            assertTrue(supported.allowed(t.id(), cpu));
            assertTrue(supported.allowed(t.id(), npu));
            assertEquals(!matmul, supported.allowed(t.id(), gpu));
        }
    }

    @Test
    void withoutAnNpuTheMatmulsFallBackToDevicesThatSupportThem() {
        PlatformProfile noNpu = new PlatformProfile("no-npu", "", List.of(phone.device("gpu"), phone.device("cpu")));
        PrefillDag dag = PrefillDag.build(ModelShape.QWEN1_5_1_8B, 256, 256, ShadowOutliers.none());
        CostTable placed = PlacementRule.AFFINITY.apply(dag.graph(), estimator.estimate(dag.graph(), noNpu));
        int qkv = dag.id(0, 0, TaskKind.QKV);
        assertFalse(placed.allowed(qkv, 0), "the GPU has no INT8 path");
        assertTrue(placed.allowed(qkv, 1));
        int att = dag.id(0, 0, TaskKind.ATTENTION);
        assertTrue(placed.allowed(att, 0) && placed.allowed(att, 1));
        assertEquals(0, placed.bestDevice(att), "attention is faster on the GPU");
    }
}
