package io.llmnpu.backend.cpu.onednn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.backend.cpu.CpuBackend;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** Discovery, the reason given where oneDNN is missing, the description of a running backend, its ranking. */
class NativeCpuBackendProviderTest {

    @Test
    void foundByServiceLoaderUnderItsName() {
        List<BackendProvider> found = ServiceLoader.load(BackendProvider.class).stream()
                .map(ServiceLoader.Provider::get).filter(p -> p.name().equals("cpu-native")).toList();
        assertEquals(1, found.size());
        assertEquals(NativeCpuBackendProvider.class, found.getFirst().getClass());
    }

    @Test
    void missingLibraryIsAReasonNotACrash() {
        NativeCpuBackendProvider provider = new NativeCpuBackendProvider(
                NativeSettings.configured().withLibrary("libdnnl-absent.so.2"));
        String reason = provider.unavailableReason();
        assertTrue(reason.contains("libdnnl-absent.so.2") && reason.contains("apt-get install libdnnl2")
                && reason.contains(NativeSettings.LIBRARY_PROPERTY), reason);
        BackendException e = assertThrows(BackendException.class, () -> provider.create(new BackendOptions(1)));
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }

    @Test
    void runningBackendNamesItsLibraryAndKeepsTheCpuDeviceName() {
        try (Backend backend = NativeBackends.open(NativeSettings.configured())) {
            assertEquals("cpu-native", backend.name());
            Device device = backend.devices().getFirst();
            assertEquals("cpu0", device.name());
            assertTrue(device.toString().contains("oneDNN 2.") && device.toString().contains("int8"), device.toString());
        }
    }

    /**
     * Devices are ranked by estimated time, not by name: at prefill rows a block-quantized Linear of
     * TinyLlama's width costs cpu-native less than the Vector API backend (so a quantized model's prompt
     * goes to it), while a decode row, which runs the same Vector API kernels on both, costs the same.
     */
    @Test
    void pricesPrefillProductsBelowTheVectorApiBackendAndDecodeRowsAlike() {
        try (Arena arena = Arena.ofShared();
             Backend nativeCpu = NativeBackends.open(NativeSettings.configured());
             Backend cpu = new CpuBackend(new BackendOptions(2))) {
            for (DType type : new DType[] {DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q6_K}) {
                Tensor w = Tensor.allocate(arena, "w", type, Shape.of(2048, 2048));
                Op prefill = linear(w, 256);
                double onNative = nativeCpu.devices().getFirst().affinity(prefill).estimatedSeconds();
                double onCpu = cpu.devices().getFirst().affinity(prefill).estimatedSeconds();
                assertTrue(onNative < onCpu, type + " at 256 rows: cpu-native " + onNative + " s, cpu " + onCpu + " s");
                Op decode = linear(w, 1);
                assertEquals(cpu.devices().getFirst().affinity(decode).estimatedSeconds(),
                        nativeCpu.devices().getFirst().affinity(decode).estimatedSeconds(), 1e-12, type + " at 1 row");
            }
        }
    }

    private static Op linear(Tensor w, int rows) {
        SubgraphBuilder b = new SubgraphBuilder("linear");
        Value in = b.input("x", DType.F32, Shape.of(rows, 2048));
        return new Op.Linear(in, w, b.value("y", DType.F32, Shape.of(rows, 2048)));
    }
}
