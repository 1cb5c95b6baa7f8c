package io.llmnpu.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.backend.cpu.CpuBackendProvider;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.runtime.osgi.TestBundleJar;
import io.llmnpu.runtime.osgi.fake.FakeActivator;
import io.llmnpu.runtime.osgi.fake.FakeProvider;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code llmnpu backends} lists providers with their status, devices, and per-op estimates that are the devices' own. */
class BackendsCommandTest {

    /** A provider that reports it cannot run here. */
    static final class MissingDriver implements BackendProvider {
        public String name() {
            return "npu-x";
        }

        public String unavailableReason() {
            return "no NPU driver (libnpu.so not found)";
        }

        public Backend create(BackendOptions options) {
            throw new AssertionError("an unavailable provider must not be started");
        }
    }

    /** A provider that claims to run but fails to start. */
    static final class BrokenStart implements BackendProvider {
        public String name() {
            return "gpu-y";
        }

        public Backend create(BackendOptions options) {
            throw new IllegalStateException("GPU context lost");
        }
    }

    private static String run(BackendsCommand command, String... args) {
        StringWriter text = new StringWriter();
        CommandLine cli = new CommandLine(command);
        cli.setOut(new PrintWriter(text, true));
        StringWriter err = new StringWriter();
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        assertEquals(0, code, "exit code; stderr: " + err);
        return text.toString();
    }

    /** The cells of the first table line whose cells start with {@code prefix}. */
    private static List<String> row(String output, String... prefix) {
        return output.lines().map(l -> Arrays.asList(l.strip().split("\\s{2,}")))
                .filter(cells -> cells.size() >= prefix.length && cells.subList(0, prefix.length).equals(List.of(prefix)))
                .findFirst().orElseThrow(() -> new AssertionError("no row " + List.of(prefix) + " in:\n" + output));
    }

    /** "native 1.89 ms" -> seconds. */
    private static double seconds(String cell) {
        String[] parts = cell.split(" ");
        double scale = switch (parts[2]) {
            case "s" -> 1;
            case "ms" -> 1e-3;
            case "us" -> 1e-6;
            default -> throw new AssertionError("unit of " + cell);
        };
        return Double.parseDouble(parts[1]) * scale;
    }

    @Test
    void classPathModeListsProvidersDevicesAndOpEstimates() {
        BackendRegistry registry = new BackendRegistry(List.of(new CpuBackendProvider(), new MissingDriver(), new BrokenStart()));
        String out = run(new BackendsCommand(registry), "--threads", "2");

        assertEquals(List.of("cpu", "class path", "available"), row(out, "cpu"));
        assertEquals(List.of("npu-x", "class path", "unavailable: no NPU driver (libnpu.so not found)"), row(out, "npu-x"));
        assertEquals(List.of("gpu-y", "class path", "failed to start: GPU context lost"), row(out, "gpu-y"));

        List<String> device = row(out, "cpu/cpu0");
        assertEquals("CPU", device.get(1));
        assertTrue(device.get(2).endsWith("GiB") || device.get(2).endsWith("MiB"), device.toString());
        assertEquals("HOST_VISIBLE_MEMORY", device.get(3));
        // Tests run with -Dllmnpu.costs.cache=none: the CPU says its estimates use the fixed default rates.
        assertTrue(device.get(4).startsWith("cpu0 (2 threads") && device.get(4).endsWith("defaults)"), device.toString());

        // Every op kind of the vocabulary has rows, at both row counts.
        for (Class<?> kind : Op.class.getPermittedSubclasses()) {
            for (int t : BackendsCommand.ROWS) {
                List<String> cells = output(out).stream().filter(c -> c.get(0).equals(kind.getSimpleName())
                        && c.size() > 2 && c.get(2).equals(String.valueOf(t))).findFirst()
                        .orElseThrow(() -> new AssertionError("no " + kind.getSimpleName() + " row at T=" + t + ":\n" + out));
                // The CPU runs every op but the NPU's INT8 linear layer, which it refuses.
                if (kind == Op.QuantizedLinear.class) {
                    assertTrue(cells.get(3).startsWith("unsupported"), cells.toString());
                } else {
                    assertTrue(cells.get(3).startsWith("native "), cells.toString());
                }
            }
        }
        // A prefill chunk of 256 rows costs at least as much as one decode row, op by op.
        for (String[] op : new String[][] {{"Linear", "F32 2048x2048"}, {"Linear", "Q8_0 2048x2048"}, {"RmsNorm", "2048"}}) {
            double one = seconds(row(out, op[0], op[1], "1").get(3));
            double chunk = seconds(row(out, op[0], op[1], "256").get(3));
            assertTrue(chunk > one, op[0] + " " + op[1] + ": T=256 " + chunk + " vs T=1 " + one);
        }
        // One decode row is memory bound: Q8_0 weights (8.5 bits a value) beat F32 (32 bits).
        assertTrue(seconds(row(out, "Linear", "Q8_0 2048x2048", "1").get(3))
                < seconds(row(out, "Linear", "F32 2048x2048", "1").get(3)), out);
    }

    private static List<List<String>> output(String out) {
        return out.lines().map(l -> Arrays.asList(l.strip().split("\\s{2,}"))).toList();
    }

    @Test
    void estimatesAreTheDevicesOwnAtTheStatedShape() {
        String out = run(new BackendsCommand(new BackendRegistry(List.of(new CpuBackendProvider()))), "--threads", "2");
        try (Backend cpu = new CpuBackendProvider().create(new BackendOptions(2)); Arena arena = Arena.ofConfined()) {
            Device device = cpu.devices().getFirst();
            for (int t : BackendsCommand.ROWS) {
                for (DType dtype : List.of(DType.F32, DType.Q8_0)) {
                    // Built here from the shape the table states, not taken from the command.
                    Tensor w = Tensor.allocate(arena, "w", dtype, Shape.of(2048, 2048));
                    Op linear = new Op.Linear(new Value(0, "x", DType.F32, Shape.of(t, 2048)), w,
                            new Value(1, "y", DType.F32, Shape.of(t, 2048)));
                    double expected = device.affinity(linear).estimatedSeconds();
                    double printed = seconds(row(out, "Linear", dtype + " 2048x2048", String.valueOf(t)).get(3));
                    assertEquals(expected, printed, expected * 0.006, "Linear " + dtype + " T=" + t);
                }
            }
        }
    }

    @Test
    void bundlesModeListsBundlesAndWhereProvidersComeFrom(@TempDir Path dir) throws Exception {
        TestBundleJar.write(dir.resolve("fake.jar"), Map.of("Bundle-SymbolicName", "test.fake", "Bundle-Version", "1.2.3",
                "Bundle-Activator", FakeActivator.class.getName(),
                "Import-Package", "io.llmnpu.api.backend,org.osgi.framework"), FakeActivator.class, FakeProvider.class);
        TestBundleJar.write(dir.resolve("orphan.jar"), Map.of("Bundle-SymbolicName", "test.orphan",
                "Import-Package", "com.example.absent"));
        String out = run(new BackendsCommand(), "--bundles", dir.toString());

        assertTrue(out.startsWith("Backends (bundles in " + dir.toAbsolutePath().normalize() + ")"), out);
        assertEquals(List.of("fake", "test.fake 1.2.3", "unavailable: it is a test double"), row(out, "fake"));
        assertEquals(List.of("fake.jar", "test.fake", "1.2.3", "ACTIVE", "fake"), row(out, "fake.jar"));
        List<String> orphan = row(out, "orphan.jar");
        assertEquals(List.of("orphan.jar", "test.orphan", "0.0.0", "INSTALLED"), orphan.subList(0, 4));
        assertTrue(orphan.get(4).contains("com.example.absent"), orphan.toString());
        assertTrue(out.contains("Devices (by kind: NPU, GPU, CPU)\n  (none)"), out);
    }
}
