package io.llmnpu.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.api.backend.Capability;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** Discovery through ServiceLoader, the device's description, affinity estimates and shutdown. */
class CpuBackendTest {

    private static BackendProvider cpuProvider() {
        List<BackendProvider> cpu = ServiceLoader.load(BackendProvider.class).stream()
                .map(ServiceLoader.Provider::get).filter(p -> p.name().equals("cpu")).toList();
        assertEquals(1, cpu.size(), "exactly one provider named cpu");
        return cpu.getFirst();
    }

    @Test
    void foundByServiceLoaderAndDescribesItsDevice() {
        BackendProvider provider = cpuProvider();
        assertEquals("", provider.unavailableReason(), "tests run with the Vector API module");
        try (Backend backend = provider.create(new BackendOptions(2))) {
            assertEquals("cpu", backend.name());
            assertEquals(1, backend.devices().size());
            Device d = backend.devices().getFirst();
            assertEquals("cpu0", d.name());
            assertEquals(DeviceKind.CPU, d.kind());
            assertEquals(java.util.Set.of(Capability.HOST_VISIBLE_MEMORY), d.capabilities());
            assertTrue(d.memoryBytes() > 64L << 20, "memory " + d.memoryBytes());
        }
    }

    @Test
    void defaultThreadCountIsOnePerCore() {
        try (CpuBackend backend = new CpuBackend(BackendOptions.defaults())) {
            assertEquals(Runtime.getRuntime().availableProcessors(), backend.threads());
        }
    }

    @Test
    void closeStopsItsThreads() {
        CpuBackend backend = (CpuBackend) cpuProvider().create(new BackendOptions(3));
        List<Thread> threads = backend.pool().threads();
        assertEquals(2, threads.size());
        threads.forEach(t -> assertTrue(t.isAlive() && t.getName().startsWith("llmnpu-cpu-"), t.toString()));
        backend.close();
        threads.forEach(t -> assertFalse(t.isAlive(), t + " must have stopped"));
    }

    @Test
    void affinityFollowsWorkAndWeightBytes() {
        try (Arena arena = Arena.ofShared(); CpuBackend backend = new CpuBackend(new BackendOptions(4))) {
            Device d = backend.devices().getFirst();
            Value x1 = new Value(0, "x", DType.F32, Shape.of(1, 4096));
            Value y1 = new Value(1, "y", DType.F32, Shape.of(1, 4096));
            Value x64 = new Value(2, "x", DType.F32, Shape.of(64, 4096));
            Value y64 = new Value(3, "y", DType.F32, Shape.of(64, 4096));
            Tensor f32 = Tensor.allocate(arena, "w", DType.F32, Shape.of(4096, 4096));
            Tensor q8 = Tensor.allocate(arena, "w", DType.Q8_0, Shape.of(4096, 4096));
            Affinity decodeF32 = d.affinity(new Op.Linear(x1, f32, y1));
            Affinity decodeQ8 = d.affinity(new Op.Linear(x1, q8, y1));
            Affinity prefillQ8 = d.affinity(new Op.Linear(x64, q8, y64));
            assertEquals(Affinity.Support.NATIVE, decodeF32.support());
            assertTrue(decodeQ8.estimatedSeconds() > 0 && Double.isFinite(decodeQ8.estimatedSeconds()));
            assertTrue(decodeQ8.estimatedSeconds() < decodeF32.estimatedSeconds(), "decode is bound by weight bytes");
            assertTrue(prefillQ8.estimatedSeconds() > 4 * decodeQ8.estimatedSeconds(), "prefill is bound by FLOPs");
            Tensor i8 = Tensor.allocate(arena, "w", DType.I8, Shape.of(16, 4096));
            assertFalse(d.affinity(new Op.Linear(x1, i8, new Value(4, "y", DType.F32, Shape.of(1, 16))))
                    .isSupported());
        }
    }
}
