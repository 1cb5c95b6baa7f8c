package io.llmnpu.backend.cpu.onednn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.api.backend.Device;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** Discovery, the reason given where oneDNN is missing, and the description of a running backend. */
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
}
