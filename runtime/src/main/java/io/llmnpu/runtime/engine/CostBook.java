package io.llmnpu.runtime.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Capability;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.backend.StateResidency;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.tensor.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's one cost source, made honest by measurement: each device's own {@link Device#affinity}
 * estimates, scaled per (device, op kind) by a factor learned from measured task times. The scheduler
 * only ever reads affinity: devices are handed to it {@linkplain #measured wrapped}, so placement and
 * the policies' cost tables see the corrected figures.
 *
 * <p>After every run the engine {@linkplain #record records} each task's measured seconds against the
 * raw estimates of its ops; the error is spread over the op kinds in proportion to their share of the
 * prediction, multiplicatively, so a device whose estimates are off by a constant converges in one
 * prompt. Factors are cached per machine and model (in {@code ~/.cache/llmnpu/costs}, next to the CPU
 * backend's rates; the system property {@value #CACHE_PROPERTY} moves the folder, and {@code none}
 * turns measuring off, leaving the devices' own estimates, which tests rely on).
 */
public final class CostBook {
    static final String CACHE_PROPERTY = "llmnpu.costs.cache";
    static final int FORMAT_VERSION = 1;
    private static final Logger LOG = LoggerFactory.getLogger(CostBook.class);
    private static final double RATE = 0.5;
    private static final double MIN_FACTOR = 1e-3;
    private static final double MAX_FACTOR = 1e3;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The correction of one (device, op kind): log of the factor, and how many tasks taught it. */
    private static final class Entry {
        double logFactor;
        long samples;
    }

    private final Path file;
    private final boolean learning;
    private final Map<String, Map<String, Entry>> entries = new TreeMap<>();
    private boolean dirty;

    private CostBook(Path file, boolean learning) {
        this.file = file;
        this.learning = learning;
    }

    /** The devices' own estimates, never corrected. */
    public static CostBook fixed() {
        return new CostBook(null, false);
    }

    /**
     * Factors for the model with content key {@code modelKey} on this machine: read from the cache when
     * there, learned from runs and written back otherwise; fixed when {@value #CACHE_PROPERTY} is {@code none}.
     */
    public static CostBook forModel(String modelKey) {
        String configured = System.getProperty(CACHE_PROPERTY, "").strip();
        if (configured.equalsIgnoreCase("none")) {
            return fixed();
        }
        Path dir = configured.isEmpty() ? Path.of(System.getProperty("user.home"), ".cache", "llmnpu", "costs")
                : Path.of(configured);
        return in(dir, modelKey);
    }

    /** Factors kept in {@code dir} for the model with content key {@code modelKey}. */
    static CostBook in(Path dir, String modelKey) {
        CostBook book = new CostBook(dir.resolve("tasks-" + ModelFingerprint.shortHash(machineKey()) + "-" + modelKey + ".json"), true);
        book.load();
        return book;
    }

    static String machineKey() {
        return "cpu=" + ModelFingerprint.cpuModel() + ";cores=" + Runtime.getRuntime().availableProcessors()
                + ";arch=" + System.getProperty("os.arch") + ";format=" + FORMAT_VERSION;
    }

    /** Whether measured times correct the estimates. */
    public boolean learning() {
        return learning;
    }

    /** The cache file, if any. */
    public Optional<Path> file() {
        return Optional.ofNullable(file);
    }

    /** {@code device} with its affinity estimates corrected by this book under the name {@code key}. */
    public Device measured(String key, Device device) {
        return learning ? new MeasuredDevice(key, device) : device;
    }

    /** The factor applied to {@code device}'s estimates of ops of kind {@code opKind} (1 when unknown). */
    public synchronized double factor(String device, String opKind) {
        Map<String, Entry> byKind = entries.get(device);
        Entry e = byKind == null ? null : byKind.get(opKind);
        return e == null ? 1 : Math.exp(e.logFactor);
    }

    /** Kind names as the book keys them. */
    static String kindOf(Op op) {
        return op.getClass().getSimpleName();
    }

    /**
     * One task ran on {@code device} for {@code measuredSeconds}; {@code rawByKind} holds the device's own
     * (uncorrected) estimates of its ops, summed by op kind.
     */
    public synchronized void record(String device, Map<String, Double> rawByKind, double measuredSeconds) {
        if (!learning || !(measuredSeconds > 0)) {
            return;
        }
        Map<String, Entry> byKind = entries.computeIfAbsent(device, d -> new TreeMap<>());
        double predicted = 0;
        for (Map.Entry<String, Double> e : rawByKind.entrySet()) {
            predicted += e.getValue() * factor(device, e.getKey());
        }
        if (!(predicted > 0) || Double.isInfinite(predicted)) {
            return;
        }
        double error = Math.log(measuredSeconds / predicted);
        for (Map.Entry<String, Double> e : rawByKind.entrySet()) {
            double share = e.getValue() * factor(device, e.getKey()) / predicted;
            if (share <= 0) {
                continue;
            }
            Entry entry = byKind.computeIfAbsent(e.getKey(), k -> new Entry());
            entry.logFactor = Math.clamp(entry.logFactor + RATE * share * error, Math.log(MIN_FACTOR), Math.log(MAX_FACTOR));
            entry.samples++;
        }
        dirty = true;
    }

    /** Writes the factors to the cache file if they changed since the last write. Failures are logged, not thrown. */
    public synchronized void save() {
        if (!learning || !dirty || file == null) {
            return;
        }
        ObjectNode root = JSON.createObjectNode();
        root.put("format", "llmnpu-task-costs");
        root.put("version", FORMAT_VERSION);
        root.put("machine", machineKey());
        ObjectNode devices = root.putObject("devices");
        entries.forEach((device, byKind) -> {
            ObjectNode d = devices.putObject(device);
            byKind.forEach((kind, e) -> {
                ObjectNode k = d.putObject(kind);
                k.put("factor", Math.exp(e.logFactor));
                k.put("samples", e.samples);
            });
        });
        try {
            Files.createDirectories(file.getParent());
            Path temp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
            try {
                Files.writeString(temp, JSON.writeValueAsString(root), StandardCharsets.UTF_8);
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(temp);
            }
            dirty = false;
        } catch (IOException | RuntimeException e) {
            LOG.warn("cannot write measured task costs to {}: {}", file, e.toString());
        }
    }

    private void load() {
        if (file == null || !Files.isRegularFile(file)) {
            return;
        }
        try {
            JsonNode root = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
            if (!"llmnpu-task-costs".equals(root.path("format").asText()) || root.path("version").asInt() != FORMAT_VERSION
                    || !machineKey().equals(root.path("machine").asText())) {
                LOG.debug("ignoring task costs {}: another format or machine", file);
                return;
            }
            for (Map.Entry<String, JsonNode> d : root.path("devices").properties()) {
                Map<String, Entry> byKind = entries.computeIfAbsent(d.getKey(), k -> new TreeMap<>());
                for (Map.Entry<String, JsonNode> k : d.getValue().properties()) {
                    double factor = k.getValue().path("factor").asDouble(Double.NaN);
                    if (factor >= MIN_FACTOR && factor <= MAX_FACTOR) {
                        Entry e = new Entry();
                        e.logFactor = Math.log(factor);
                        e.samples = k.getValue().path("samples").asLong();
                        byKind.put(k.getKey(), e);
                    }
                }
            }
            LOG.debug("read measured task costs from {}", file);
        } catch (IOException | RuntimeException e) {
            LOG.warn("ignoring unreadable task costs {}: {}", file, e.toString());
            entries.clear();
        }
    }

    /** One line per device: its factors, for logs and {@code --verbose} output. */
    public synchronized String describe() {
        StringBuilder b = new StringBuilder();
        entries.forEach((device, byKind) -> {
            b.append(device).append(':');
            byKind.forEach((kind, e) -> b.append(String.format(Locale.ROOT, " %s x%.2f (%d)", kind,
                    Math.exp(e.logFactor), e.samples)));
            b.append('\n');
        });
        return b.toString();
    }

    /** A device whose estimates this book corrects; everything else goes to the device itself. */
    final class MeasuredDevice implements Device {
        private final String key;
        private final Device inner;
        private final Map<Class<?>, String> kinds = new HashMap<>();

        MeasuredDevice(String key, Device inner) {
            this.key = key;
            this.inner = inner;
        }

        Device inner() {
            return inner;
        }

        @Override
        public String name() {
            return inner.name();
        }

        @Override
        public DeviceKind kind() {
            return inner.kind();
        }

        @Override
        public java.util.Set<Capability> capabilities() {
            return inner.capabilities();
        }

        @Override
        public long memoryBytes() {
            return inner.memoryBytes();
        }

        @Override
        public Affinity affinity(Op op) {
            Affinity a = inner.affinity(op);
            if (!a.isSupported()) {
                return a;
            }
            return new Affinity(a.support(), a.estimatedSeconds() * factor(key, kindOf(op)));
        }

        @Override
        public CompiledGraph compile(Subgraph graph) {
            return inner.compile(graph);
        }

        @Override
        public StateResidency stateResidency() {
            return inner.stateResidency();
        }

        @Override
        public void stateChanged(Tensor state) {
            inner.stateChanged(state);
        }

        @Override
        public String toString() {
            return inner.toString();
        }
    }

    /** The device a {@link #measured} wrapper stands for (the device itself otherwise). */
    static Device unwrap(Device d) {
        return d instanceof MeasuredDevice m ? m.inner() : d;
    }
}
