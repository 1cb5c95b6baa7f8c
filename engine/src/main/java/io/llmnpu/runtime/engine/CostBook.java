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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's one cost source, made honest by measurement: each device's own {@link Device#affinity}
 * estimates, scaled per device by a factor learned from measured task times, plus a fixed cost per task.
 * The scheduler only ever reads affinity: devices are handed to it {@linkplain #measured wrapped}, so
 * placement and the policies' cost tables see the corrected figures.
 *
 * <p>After every run the engine {@linkplain #record records} each task's measured seconds against the
 * raw estimates of its ops; a weighted least-squares fit per device gives the factor on the estimates and
 * the fixed cost of a task ({@link #launchSeconds}), which dominates small graphs and which no op's
 * estimate accounts for. One factor per device rather than per op kind: the kinds of a graph always come
 * in the same mixes, which cannot tell them apart. Factors are cached per machine and model (in {@code ~/.cache/llmnpu/costs}, next to the CPU
 * backend's rates; the system property {@value #CACHE_PROPERTY} moves the folder, and {@code none}
 * turns measuring off, leaving the devices' own estimates, which tests rely on).
 */
public final class CostBook {
    static final String CACHE_PROPERTY = "llmnpu.costs.cache";
    static final int FORMAT_VERSION = 1;
    private static final Logger LOG = LoggerFactory.getLogger(CostBook.class);
    /** How much each new task's weight keeps of the older ones': about the last few hundred tasks count. */
    private static final double DECAY = 0.995;
    /** How hard factors are held to their priors, relative to the evidence. */
    private static final double RIDGE = 0.01;
    private static final double MIN_FACTOR = 0.1;
    private static final double MAX_FACTOR = 1e5;
    /**
     * A pseudo op kind every task carries once, at one microsecond before correction: its factor learns the
     * fixed cost of one task on a device (launch, hand-off, edges), which no op's estimate accounts for.
     */
    static final String LAUNCH = "(task)";
    static final double LAUNCH_SECONDS = 1e-6;
    /** All ops of a task together: one factor per device, which many tasks of varied size pin down well. */
    static final String OPS = "(ops)";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The correction of one (device, op kind): log of the factor, and how many tasks taught it. */
    private static final class Entry {
        double logFactor;
        long samples;
    }

    /**
     * The measurements of one device as a least-squares problem in the factors: each task says
     * {@code sum over kinds of factor(k) * raw(k) = measured}, weighted by 1 / measured so that small and
     * large tasks count alike, older tasks slowly forgotten, and every factor gently held to its prior (what
     * the cache or the other devices said) so that kinds seen seldom or always together stay sensible.
     */
    private static final class Fit {
        final List<String> kinds = new ArrayList<>();
        final List<Double> priors = new ArrayList<>();
        final List<Long> samples = new ArrayList<>();
        double[][] ata = new double[0][0];
        double[] atb = new double[0];

        int index(String kind, double prior) {
            int i = kinds.indexOf(kind);
            if (i >= 0) {
                return i;
            }
            kinds.add(kind);
            priors.add(prior);
            samples.add(0L);
            int n = kinds.size();
            double[][] grown = new double[n][n];
            for (int r = 0; r < n - 1; r++) {
                System.arraycopy(ata[r], 0, grown[r], 0, n - 1);
            }
            ata = grown;
            atb = Arrays.copyOf(atb, n);
            return n - 1;
        }

        void add(Map<Integer, Double> x) {
            for (int r = 0; r < ata.length; r++) {
                atb[r] *= DECAY;
                for (int c = 0; c < ata.length; c++) {
                    ata[r][c] *= DECAY;
                }
            }
            for (Map.Entry<Integer, Double> a : x.entrySet()) {
                atb[a.getKey()] += a.getValue();
                samples.set(a.getKey(), samples.get(a.getKey()) + 1);
                for (Map.Entry<Integer, Double> b : x.entrySet()) {
                    ata[a.getKey()][b.getKey()] += a.getValue() * b.getValue();
                }
            }
        }

        /** The factors; those pushed below the minimum are pinned there and the rest solved again. */
        double[] solve() {
            int n = kinds.size();
            boolean[] pinned = new boolean[n];
            double[] f = new double[n];
            for (int round = 0; round <= n; round++) {
                double[][] a = new double[n][n + 1];
                for (int r = 0; r < n; r++) {
                    double ridge = RIDGE * ata[r][r] + 1e-300;
                    if (pinned[r] || ata[r][r] == 0) {
                        a[r][r] = 1;
                        a[r][n] = pinned[r] ? MIN_FACTOR : priors.get(r);
                        continue;
                    }
                    a[r][n] = atb[r] + ridge * priors.get(r);
                    for (int c = 0; c < n; c++) {
                        boolean fixed = pinned[c] || ata[c][c] == 0;
                        if (fixed) {
                            a[r][n] -= ata[r][c] * (pinned[c] ? MIN_FACTOR : priors.get(c));
                        } else {
                            a[r][c] = ata[r][c];
                        }
                    }
                    a[r][r] += ridge;
                }
                f = gauss(a);
                boolean again = false;
                for (int k = 0; k < n; k++) {
                    if (!pinned[k] && !(f[k] >= MIN_FACTOR)) {
                        pinned[k] = true;
                        again = true;
                    }
                }
                if (!again) {
                    break;
                }
            }
            for (int k = 0; k < n; k++) {
                f[k] = Math.clamp(Double.isFinite(f[k]) ? f[k] : priors.get(k), MIN_FACTOR, MAX_FACTOR);
            }
            return f;
        }

        private static double[] gauss(double[][] a) {
            int n = a.length;
            for (int col = 0; col < n; col++) {
                int pivot = col;
                for (int r = col + 1; r < n; r++) {
                    if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) {
                        pivot = r;
                    }
                }
                double[] t = a[col];
                a[col] = a[pivot];
                a[pivot] = t;
                if (a[col][col] == 0) {
                    continue;
                }
                for (int r = 0; r < n; r++) {
                    if (r != col) {
                        double m = a[r][col] / a[col][col];
                        for (int c = col; c <= n; c++) {
                            a[r][c] -= m * a[col][c];
                        }
                    }
                }
            }
            double[] x = new double[n];
            for (int r = 0; r < n; r++) {
                x[r] = a[r][r] == 0 ? Double.NaN : a[r][n] / a[r][r];
            }
            return x;
        }
    }

    private final Path file;
    private final boolean learning;
    private final Map<String, Map<String, Entry>> entries = new TreeMap<>();
    private final Map<String, Fit> fits = new HashMap<>();
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

    /**
     * The factor applied to {@code device}'s estimates of ops of kind {@code opKind}. A device never measured
     * at that kind gets the geometric mean of the other devices' factors for it (1 when none was measured):
     * estimates that proved optimistic on this machine are likely optimistic on its other devices too, and an
     * unmeasured device must not win work merely because nobody corrected its estimate.
     */
    public synchronized double factor(String device, String opKind) {
        opKind = opKind.equals(LAUNCH) ? LAUNCH : OPS;
        Map<String, Entry> byKind = entries.get(device);
        Entry e = byKind == null ? null : byKind.get(opKind);
        if (e != null) {
            return Math.exp(e.logFactor);
        }
        double sum = 0;
        int n = 0;
        for (Map<String, Entry> other : entries.values()) {
            Entry o = other.get(opKind);
            if (o != null) {
                sum += o.logFactor;
                n++;
            }
        }
        return n == 0 ? 1 : Math.exp(sum / n);
    }

    /** The fixed cost of one task on {@code device} as measured (0 while not learning). */
    public double launchSeconds(String device) {
        return learning ? LAUNCH_SECONDS * factor(device, LAUNCH) : 0;
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
        double ops = 0;
        for (double v : rawByKind.values()) {
            ops += v;
        }
        Map<String, Double> raw = new HashMap<>();
        raw.put(OPS, ops);
        raw.put(LAUNCH, LAUNCH_SECONDS);
        Fit fit = fits.computeIfAbsent(device, d -> new Fit());
        Map<Integer, Double> x = new HashMap<>();
        for (Map.Entry<String, Double> e : raw.entrySet()) {
            if (e.getValue() > 0 && Double.isFinite(e.getValue())) {
                x.merge(fit.index(e.getKey(), factor(device, e.getKey())), e.getValue() / measuredSeconds, Double::sum);
            }
        }
        fit.add(x);
        double[] f = fit.solve();
        Map<String, Entry> byKind = entries.computeIfAbsent(device, d -> new TreeMap<>());
        for (int k = 0; k < f.length; k++) {
            Entry entry = byKind.computeIfAbsent(fit.kinds.get(k), key -> new Entry());
            entry.logFactor = Math.log(f[k]);
            entry.samples = Math.max(entry.samples, fit.samples.get(k));
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
