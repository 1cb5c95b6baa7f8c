package io.llmnpu.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.Device;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.api.backend.DeviceKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Measured task times correct device estimates: per op kind, per task, remembered per machine and model. */
class CostBookTest {

    @TempDir
    Path dir;

    @Test
    void learnsFactorsAndTheTaskCostFromMeasuredTimes() {
        CostBook book = CostBook.in(dir, "model1");
        Random r = new Random(3);
        // A device whose estimates are 3x optimistic, and every task costs 40 us more; tasks of varied size and mix.
        for (int i = 0; i < 400; i++) {
            double linear = 1e-4 * (1 + r.nextInt(20));
            double norm = 1e-6 * (1 + r.nextInt(5));
            boolean withNorm = r.nextBoolean();
            Map<String, Double> raw = withNorm ? Map.of("Linear", linear, "RmsNorm", norm) : Map.of("Linear", linear);
            book.record("gpu/gpu0", raw, 40e-6 + 3 * (linear + (withNorm ? norm : 0)) * (1 + 0.05 * r.nextGaussian()));
        }
        assertEquals(3, book.factor("gpu/gpu0", "Linear"), 0.25, "within 8%: held a little to the prior");
        assertEquals(book.factor("gpu/gpu0", "Linear"), book.factor("gpu/gpu0", "RmsNorm"), 1e-12, "one factor per device");
        assertEquals(40e-6, book.launchSeconds("gpu/gpu0"), 20e-6);
        // A device never measured takes what this machine taught: its estimates are likely as optimistic.
        assertEquals(book.factor("gpu/gpu0", "Linear"), book.factor("npu/npu0", "Linear"), 1e-12);
        assertEquals(1, CostBook.in(dir, "fresh").factor("npu/npu0", "Attention"), 1e-12, "nothing known: the device's own estimate");

        book.save();
        assertTrue(book.file().isPresent() && Files.isRegularFile(book.file().get()));
        CostBook again = CostBook.in(dir, "model1");
        assertEquals(book.factor("gpu/gpu0", "Linear"), again.factor("gpu/gpu0", "Linear"), 1e-9, "read back from the cache");
        assertEquals(1, CostBook.in(dir, "model2").factor("gpu/gpu0", "Linear"), 1e-12, "another model starts afresh");
    }

    @Test
    void measuredDeviceScalesItsAffinityAndFixedBookChangesNothing() {
        Device cpu = new io.llmnpu.backend.cpu.CpuBackendProvider().create(new io.llmnpu.api.backend.BackendOptions(1))
                .devices().getFirst();
        Value in = new Value(0, "x", DType.F32, Shape.of(4, 64));
        Value out = new Value(1, "y", DType.F32, Shape.of(4, 64));
        Op.Linear op = new Op.Linear(in, Tensor.allocate(java.lang.foreign.Arena.ofAuto(), "w", DType.F32, Shape.of(64, 64)), out);
        CostBook book = CostBook.in(dir, "m");
        double raw = cpu.affinity(op).estimatedSeconds();
        book.record("cpu/cpu0", Map.of("Linear", raw), 5 * raw + CostBook.LAUNCH_SECONDS);
        Device measured = book.measured("cpu/cpu0", cpu);
        assertTrue(measured.affinity(op).estimatedSeconds() > 1.5 * raw, "slower than estimated: the affinity says so");
        assertSame(cpu, CostBook.unwrap(measured));
        CostBook fixed = CostBook.fixed();
        assertSame(cpu, fixed.measured("cpu/cpu0", cpu));
        fixed.record("cpu/cpu0", Map.of("Linear", raw), 100 * raw);
        assertEquals(1, fixed.factor("cpu/cpu0", "Linear"), 0);
        assertFalse(fixed.learning());
        assertEquals(0, fixed.launchSeconds("cpu/cpu0"));
        assertEquals(DeviceKind.CPU, measured.kind());
    }
}
