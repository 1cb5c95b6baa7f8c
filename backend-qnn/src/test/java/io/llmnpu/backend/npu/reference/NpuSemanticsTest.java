package io.llmnpu.backend.npu.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.api.backend.Capability;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** The reference NPU behaves like an NPU: INT8 ops only, static shapes, discovered as a plug-in. */
class NpuSemanticsTest {

    @Test
    void discoveredThroughServiceLoader() {
        BackendProvider provider = ServiceLoader.load(BackendProvider.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p.name().equals("npu-ref")).findFirst().orElseThrow();
        assertEquals("", provider.unavailableReason());
        try (var backend = provider.create(new BackendOptions(1))) {
            Device d = backend.devices().getFirst();
            assertEquals(DeviceKind.NPU, d.kind());
            assertTrue(d.capabilities().containsAll(java.util.Set.of(Capability.STATIC_SHAPES_ONLY, Capability.INT8_ONLY)));
        }
    }

    @Test
    void floatOpsAreUnsupported() {
        try (var backend = new ReferenceNpuBackend(new NpuSettings(1, null)); Arena arena = Arena.ofConfined()) {
            Device d = backend.devices().getFirst();
            SubgraphBuilder b = new SubgraphBuilder("float");
            Value x = b.input("x", DType.F32, Shape.of(2, 8));
            Value y = b.value("y", DType.F32, Shape.of(2, 4));
            Op linear = b.add(new Op.Linear(x, Tensor.allocate(arena, "w", DType.F32, Shape.of(4, 8)), y));
            Value z = b.value("z", DType.F32, Shape.of(2, 4));
            Op add = b.add(new Op.Add(y, y, z));
            b.output(z);
            assertEquals(Affinity.Support.UNSUPPORTED, d.affinity(linear).support());
            assertEquals(Affinity.Support.UNSUPPORTED, d.affinity(add).support());
            BackendException e = assertThrows(BackendException.class, () -> d.compile(b.build()));
            assertTrue(e.getMessage().contains("only INT8 QuantizedLinear"), e.getMessage());

            Int8Weights w = Int8Fixtures.weights(arena, "w8", 4, 8, false, new Random(1));
            Affinity a = d.affinity(new Op.QuantizedLinear(x, w, 0.1f, y));
            assertEquals(Affinity.Support.NATIVE, a.support());
            assertTrue(a.estimatedSeconds() > 0 && a.estimatedSeconds() < 1);
        }
    }

    /** A graph compiled for 4 tokens refuses 5: a new shape needs its own compile. */
    @Test
    void shapesAreStatic() {
        try (var backend = new ReferenceNpuBackend(new NpuSettings(1, null)); Arena arena = Arena.ofShared()) {
            Random rnd = new Random(2);
            Int8Weights w = Int8Fixtures.weights(arena, "w", 8, 16, true, rnd);
            Subgraph g = Int8Fixtures.singleLinear(4, w, 0.05f, 0f);
            try (CompiledGraph c = backend.devices().getFirst().compile(g)) {
                Tensor x = Int8Fixtures.floats(arena, "x", Shape.of(5, 16), rnd, 1f);
                Tensor y = Tensor.allocate(arena, "y", DType.F32, Shape.of(5, 8));
                BackendException e = assertThrows(BackendException.class,
                        () -> c.execute(Map.of(g.inputs().getFirst(), x, g.outputs().getFirst(), y)));
                assertTrue(e.getMessage().contains("static shapes"), e.getMessage());
            }
        }
    }

    @Test
    void closedBackendRefusesWork() {
        var backend = new ReferenceNpuBackend(new NpuSettings(2, null));
        try (Arena arena = Arena.ofShared()) {
            Int8Weights w = Int8Fixtures.weights(arena, "w", 8, 16, true, new Random(3));
            Subgraph g = Int8Fixtures.singleLinear(2, w, 0.05f, 0f);
            CompiledGraph c = backend.devices().getFirst().compile(g);
            backend.close();
            Tensor x = Tensor.allocate(arena, "x", DType.F32, Shape.of(2, 16));
            Tensor y = Tensor.allocate(arena, "y", DType.F32, Shape.of(2, 8));
            assertThrows(BackendException.class, () -> c.execute(Map.of(g.inputs().getFirst(), x, g.outputs().getFirst(), y)));
            assertThrows(BackendException.class, () -> backend.devices().getFirst().compile(g));
        }
    }

    @Test
    void cacheFolderComesFromPropertyEnvironmentOrHome() {
        assertEquals(Path.of("/p"), NpuSettings.cacheDirectory("/p", "/e", "/h"));
        assertEquals(Path.of("/e"), NpuSettings.cacheDirectory(null, "/e", "/h"));
        assertEquals(Path.of("/h", ".cache", "llmnpu", "npu-ref"), NpuSettings.cacheDirectory("", null, "/h"));
        assertEquals(null, NpuSettings.cacheDirectory("none", "/e", "/h"));
        assertFalse(NpuSettings.from(new BackendOptions(0)).cores() != 1, "one NPU core by default");
    }
}
