package io.llmnpu.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.DeviceKind;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProfileLoaderTest {
    private final ProfileLoader loader = new ProfileLoader();

    private static final String DEVICE = """
            {"name": "n", "kind": "npu", "int8_gops": 100, "float_gflops": 0, "memory_gbps": 50,
             "task_overhead_us": 25, "_why": "comment"}""";

    @Test
    void builtInProfilesLoad() {
        for (String name : ProfileLoader.BUILT_IN) {
            PlatformProfile p = loader.builtIn(name);
            assertEquals(name, p.name());
            assertTrue(p.devices().stream().anyMatch(d -> d.kind() == DeviceKind.NPU), name + " has an NPU");
            assertTrue(p.devices().stream().anyMatch(d -> d.kind() == DeviceKind.CPU), name + " has a CPU");
        }
        PlatformProfile phone = loader.builtIn("snapdragon-8gen3-like");
        assertEquals(3, phone.devices().size());
        assertEquals(2386.09e9, phone.device("npu").int8OpsPerSecond(), 1e6);
        assertEquals(100e-6, phone.device("npu").taskOverheadSeconds(), 1e-12);
        assertEquals(76.8e9, phone.device("cpu").memoryBytesPerSecond(), 1);
    }

    @Test
    void unitsAreConvertedAndCommentsIgnored(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("p.json");
        Files.writeString(file, "{\"name\": \"t\", \"_comment\": [1, 2], \"devices\": [" + DEVICE + "]}");
        PlatformProfile p = loader.load(file);
        DeviceProfile d = p.devices().getFirst();
        assertEquals(DeviceKind.NPU, d.kind());
        assertEquals(100e9, d.int8OpsPerSecond());
        assertEquals(0, d.floatOpsPerSecond());
        assertEquals(50e9, d.memoryBytesPerSecond());
        assertEquals(25e-6, d.taskOverheadSeconds(), 1e-15);
    }

    @Test
    void badProfilesAreRejectedWithTheReason() {
        assertMessage("not valid JSON", "{\"name\": ");
        assertMessage("unknown field 'int8_tops'", "{\"name\": \"t\", \"devices\": ["
                + DEVICE.replace("int8_gops", "int8_tops") + "]}");
        assertMessage("'memory_gbps' must be a number", "{\"name\": \"t\", \"devices\": ["
                + DEVICE.replace("\"memory_gbps\": 50,", "") + "]}");
        assertMessage("kind 'tpu'", "{\"name\": \"t\", \"devices\": [" + DEVICE.replace("npu", "tpu") + "]}");
        assertMessage("must be finite and not negative", "{\"name\": \"t\", \"devices\": ["
                + DEVICE.replace("\"int8_gops\": 100", "\"int8_gops\": -1") + "]}");
        assertMessage("neither INT8 nor float", "{\"name\": \"t\", \"devices\": ["
                + DEVICE.replace("\"int8_gops\": 100", "\"int8_gops\": 0") + "]}");
        assertMessage("twice", "{\"name\": \"t\", \"devices\": [" + DEVICE + ", " + DEVICE + "]}");
        assertMessage("non-empty array", "{\"name\": \"t\", \"devices\": []}");
        assertMessage("non-empty string", "{\"devices\": [" + DEVICE + "]}");
        ProfileFormatException missing = assertThrows(ProfileFormatException.class, () -> loader.builtIn("nope"));
        assertTrue(missing.getMessage().contains("snapdragon-8gen3-like"), missing.getMessage());
    }

    private void assertMessage(String expected, String json) {
        ProfileFormatException e = assertThrows(ProfileFormatException.class, () -> loader.parse(json, "test.json"));
        assertTrue(e.getMessage().contains(expected) && e.getMessage().startsWith("test.json"), e.getMessage());
    }
}
