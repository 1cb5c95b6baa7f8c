package io.llmnpu.runtime.cli;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.api.backend.Capability;
import io.llmnpu.api.backend.Device;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.runtime.osgi.BackendHost;
import io.llmnpu.runtime.osgi.BundleStatus;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code llmnpu backends}: which backends and devices there are, and what each device is good at. */
@Command(name = "backends", mixinStandardHelpOptions = true,
        description = {"List backends, their devices, and each device's estimated time per op.",
            "Shows whether each backend is available (or why not), each device's kind, memory and",
            "capabilities, and for every op kind its support and estimated time at the shapes of a",
            "1B model, for 1 and 256 token rows. Backends come from the class path, or with",
            "--bundles from the OSGi bundles in a directory."})
final class BackendsCommand implements Callable<Integer> {
    /** Token rows the op table estimates for: one decode step, one prefill chunk. */
    static final int[] ROWS = {1, 256};

    @Option(names = "--bundles", paramLabel = "DIR", description = "Load backends from the OSGi bundles (jars) in DIR instead of the class path.")
    Path bundles;

    @Option(names = "--threads", defaultValue = "0", description = "Kernel threads the backends are started with; 0 = one per core (default).")
    int threads;

    @Spec
    CommandSpec spec;

    private final BackendRegistry classPathRegistry;

    BackendsCommand() {
        this(null);
    }

    /** With the providers of {@code registry} standing in for the class path's (for tests). */
    BackendsCommand(BackendRegistry registry) {
        this.classPathRegistry = registry;
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (bundles != null) {
            try (BackendHost host = BackendHost.start(bundles)) {
                report(out, host.registry(), host.bundles());
            }
        } else {
            BackendRegistry registry = classPathRegistry != null ? classPathRegistry
                    : BackendRegistry.discover(BackendsCommand.class.getClassLoader());
            report(out, registry, null);
        }
        out.flush();
        return 0;
    }

    private void report(PrintWriter out, BackendRegistry registry, List<BundleStatus> bundleStatuses) {
        Map<BackendProvider, String> status = new LinkedHashMap<>();
        List<Backend> started = new ArrayList<>();
        try {
            for (BackendProvider p : registry.providers()) {
                String why = p.unavailableReason();
                if (!why.isEmpty()) {
                    status.put(p, "unavailable: " + why);
                    continue;
                }
                try {
                    started.add(p.create(new BackendOptions(threads)));
                    status.put(p, "available");
                } catch (RuntimeException | LinkageError e) {
                    status.put(p, "failed to start: " + e.getMessage());
                }
            }
            printProviders(out, status, bundleStatuses);
            if (bundleStatuses != null) {
                printBundles(out, bundleStatuses);
            }
            List<Named> devices = started.stream()
                    .flatMap(b -> b.devices().stream().map(d -> new Named(b.name() + "/" + d.name(), d)))
                    .sorted(Comparator.comparing((Named n) -> n.device.kind()))
                    .toList();
            printDevices(out, devices);
            if (!devices.isEmpty()) {
                printOps(out, devices);
            }
        } finally {
            started.forEach(Backend::close);
        }
    }

    private record Named(String name, Device device) {
    }

    private void printProviders(PrintWriter out, Map<BackendProvider, String> status, List<BundleStatus> bundleStatuses) {
        out.println(bundleStatuses == null ? "Backends (class path)" : "Backends (bundles in " + bundles.toAbsolutePath().normalize() + ")");
        TextTable t = new TextTable("NAME", "FROM", "STATUS");
        status.forEach((p, s) -> t.row(p.name(), origin(p, bundleStatuses), s));
        if (t.isEmpty()) {
            out.println(bundleStatuses == null
                    ? "  (none: put a backend jar such as llmnpu-backend-cpu-vector on the class path)"
                    : "  (none: put a backend bundle such as llmnpu-backend-cpu-vector-bundle in the directory)");
        } else {
            t.print(out, 2);
        }
        out.println();
    }

    private static String origin(BackendProvider p, List<BundleStatus> bundleStatuses) {
        if (bundleStatuses == null) {
            return "class path";
        }
        return bundleStatuses.stream().filter(b -> b.providers().contains(p.name()))
                .map(b -> b.symbolicName() + " " + b.version()).findFirst().orElse("bundle");
    }

    private static void printBundles(PrintWriter out, List<BundleStatus> bundleStatuses) {
        out.println("Bundles");
        TextTable t = new TextTable("FILE", "BUNDLE", "VERSION", "STATE", "PROVIDERS", "PROBLEM");
        for (BundleStatus b : bundleStatuses) {
            t.row(b.file().getFileName().toString(), b.symbolicName(), b.version(), b.state(),
                    String.join(",", b.providers()), b.problem());
        }
        if (t.isEmpty()) {
            out.println("  (no jars in the directory)");
        } else {
            t.print(out, 2);
        }
        out.println();
    }

    private static void printDevices(PrintWriter out, List<Named> devices) {
        out.println("Devices (by kind: NPU, GPU, CPU)");
        TextTable t = new TextTable("DEVICE", "KIND", "MEMORY", "CAPABILITIES", "DETAILS");
        for (Named n : devices) {
            Device d = n.device;
            String caps = d.capabilities().stream().map(Capability::name).sorted().collect(Collectors.joining(", "));
            // The device's own description: for the CPU, its cost rates and whether they were measured.
            t.row(n.name, d.kind().name(), memory(d.memoryBytes()), caps.isEmpty() ? "-" : caps, d.toString());
        }
        if (t.isEmpty()) {
            out.println("  (none)");
        } else {
            t.print(out, 2);
        }
        out.println();
    }

    private static void printOps(PrintWriter out, List<Named> devices) {
        out.printf(Locale.ROOT, "Ops: support and estimated time per execution (shapes of a 1B model: dim %d, FFN %d, "
                        + "%d/%d heads of %d, vocabulary %d; T = token rows)%n", RepresentativeOps.DIM, RepresentativeOps.FFN,
                RepresentativeOps.HEADS, RepresentativeOps.KV_HEADS, RepresentativeOps.HEAD_DIM, RepresentativeOps.VOCAB);
        List<String> header = new ArrayList<>(List.of("OP", "SHAPE", "T"));
        devices.forEach(n -> header.add(n.name));
        TextTable t = new TextTable(header.toArray(String[]::new));
        try (RepresentativeOps ops = new RepresentativeOps()) {
            List<List<RepresentativeOps.Sample>> byRows = new ArrayList<>();
            for (int rows : ROWS) {
                byRows.add(ops.at(rows));
            }
            // Grouped by op, each shape at every row count in turn.
            for (int i = 0; i < byRows.getFirst().size(); i++) {
                for (List<RepresentativeOps.Sample> samples : byRows) {
                    RepresentativeOps.Sample s = samples.get(i);
                    List<String> cells = new ArrayList<>(List.of(s.kind(), s.shape(), String.valueOf(s.rows())));
                    devices.forEach(n -> cells.add(affinityCell(n.device, s)));
                    t.row(cells.toArray(String[]::new));
                }
            }
        }
        t.print(out, 2);
    }

    private static String affinityCell(Device device, RepresentativeOps.Sample sample) {
        Affinity a;
        try {
            a = device.affinity(sample.op());
        } catch (RuntimeException e) {
            return "error: " + e.getMessage();
        }
        if (!a.isSupported()) {
            return "unsupported";
        }
        return a.support().name().toLowerCase(Locale.ROOT) + " " + duration(a.estimatedSeconds());
    }

    /** Seconds with three significant digits in a fitting unit. */
    static String duration(double seconds) {
        if (Double.isInfinite(seconds) || Double.isNaN(seconds)) {
            return "?";
        }
        if (seconds >= 1) {
            return String.format(Locale.ROOT, "%.3g s", seconds);
        }
        if (seconds >= 1e-3) {
            return String.format(Locale.ROOT, "%.3g ms", seconds * 1e3);
        }
        return String.format(Locale.ROOT, "%.3g us", seconds * 1e6);
    }

    static String memory(long bytes) {
        if (bytes <= 0) {
            return "-";
        }
        return bytes >= 1L << 30
                ? String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30))
                : String.format(Locale.ROOT, "%.0f MiB", bytes / (double) (1L << 20));
    }
}
