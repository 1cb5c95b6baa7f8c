package io.llmnpu.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.api.RuntimeOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/** Every command that runs a model takes the NPU path's options the same way (one mixin). */
class NpuOptionsTest {

    @TempDir
    Path dir;

    static Stream<Arguments> commands() {
        return Stream.of(
                Arguments.of("generate", (Function<Object, RuntimeMixin>) c -> ((GenerateCommand) c).runtime, new GenerateCommand()),
                Arguments.of("chat", (Function<Object, RuntimeMixin>) c -> ((ChatCommand) c).runtime, new ChatCommand()),
                Arguments.of("serve", (Function<Object, RuntimeMixin>) c -> ((ServeCommand) c).runtime, new ServeCommand()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("commands")
    void npuCalibrationModeAndPolicyReachTheRuntimeOptions(String name, Function<Object, RuntimeMixin> mixin,
                                                            Object command) throws Exception {
        Path model = Files.writeString(dir.resolve("m.gguf"), "x");
        Path calib = dir.resolve("m.calib.json");
        new CommandLine(command).parseArgs("-m", model.toString(), "--npu", "npu-ref", "--calib", calib.toString(),
                "--npu-mode", "shadow-pruned", "--policy", "in-order");
        RuntimeOptions o = mixin.apply(command).options();
        assertEquals("npu-ref", o.npuBackend(), name);
        assertTrue(o.npuAllowed());
        assertEquals(calib, o.calibration());
        assertEquals("shadow-pruned", o.npuMode());
        assertEquals("in-order", o.policy());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("commands")
    void autoByDefaultAndOffOnRequest(String name, Function<Object, RuntimeMixin> mixin, Object command) throws Exception {
        Path model = Files.writeString(dir.resolve("m.gguf"), "x");
        new CommandLine(command).parseArgs("-m", model.toString());
        RuntimeOptions auto = mixin.apply(command).options();
        assertTrue(auto.npuAllowed(), name);
        assertNull(auto.npuBackend());
        assertNull(auto.calibration());
        new CommandLine(command).parseArgs("-m", model.toString(), "--npu", "off");
        assertFalse(mixin.apply(command).options().npuAllowed());
    }
}
