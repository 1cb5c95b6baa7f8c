package io.llmnpu.backend.cpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cost rates of a backend on this machine: read from a per-machine cache file when one matches,
 * otherwise measured once and written there. Measuring takes about a second and a half (mostly JIT warm-up), and backends are
 * created by every command, so a second start reads the file instead.
 *
 * <p>The cache directory is {@code ~/.cache/llmnpu/costs} unless the system property
 * {@value #CACHE_PROPERTY} names another; {@code none} turns off caching and measuring alike, so that
 * the fixed defaults apply and estimates are the same on every machine (tests rely on that). The file
 * name carries a hash of the machine key (CPU model, thread count, JDK version, format version), and the
 * key is stored in the file too: a file that does not parse, has another key or holds nonsense rates is
 * ignored and rewritten.
 */
public final class CostCalibration {

    static final String CACHE_PROPERTY = "llmnpu.costs.cache";
    /** Raise when the measurement or the file changes meaning, so old files are no longer read. */
    static final int FORMAT_VERSION = 1;

    private static final Logger LOG = LoggerFactory.getLogger(CostCalibration.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String kind;
    private final Optional<Path> cacheDir;
    private final String machineKey;
    private final Supplier<CostConstants> measurement;

    /** The CPU backend's own rates. */
    CostCalibration(Optional<Path> cacheDir, String machineKey, Supplier<CostConstants> measurement) {
        this("cpu", cacheDir, machineKey, measurement);
    }

    /**
     * @param kind        what is measured, a word that starts the cache file's name (e.g. {@code cpu})
     * @param cacheDir    where cache files live; empty disables caching and measuring
     * @param machineKey  what a cached result is valid for
     * @param measurement measures the rates on this machine
     */
    public CostCalibration(String kind, Optional<Path> cacheDir, String machineKey,
                           Supplier<CostConstants> measurement) {
        this.kind = kind;
        this.cacheDir = cacheDir;
        this.machineKey = machineKey;
        this.measurement = measurement;
    }

    /** The cache directory the system property asks for; empty for {@code none}. */
    public static Optional<Path> configuredCacheDir() {
        String configured = System.getProperty(CACHE_PROPERTY, "").strip();
        if (configured.equalsIgnoreCase("none")) {
            return Optional.empty();
        }
        if (!configured.isEmpty()) {
            return Optional.of(Path.of(configured));
        }
        return Optional.of(Path.of(System.getProperty("user.home"), ".cache", "llmnpu", "costs"));
    }

    /** CPU model (or architecture and processor count), threads, JDK and format version. */
    public static String machineKey(int threads) {
        return "cpu=" + cpuModel() + ";threads=" + threads + ";jdk=" + Runtime.version()
                + ";format=" + FORMAT_VERSION;
    }

    CostConstants constants(int threads) {
        return constants(CostConstants.defaults(threads));
    }

    /** The rates: cached, or measured now and cached, or {@code defaults} when caching is turned off. */
    public CostConstants constants(CostConstants defaults) {
        if (cacheDir.isEmpty()) {
            return defaults;
        }
        Path file = cacheFile();
        Optional<CostConstants> cached = read(file);
        if (cached.isPresent()) {
            return cached.get();
        }
        CostConstants measured = measurement.get();
        LOG.info("{} cost rates measured: {} GFLOP/s, {} GB/s", kind,
                String.format(Locale.ROOT, "%.1f", measured.flopsPerSecond() / 1e9),
                String.format(Locale.ROOT, "%.1f", measured.bytesPerSecond() / 1e9));
        write(file, measured);
        return measured;
    }

    Path cacheFile() {
        return cacheDir.orElseThrow().resolve(kind + "-" + hash(machineKey) + ".json");
    }

    private Optional<CostConstants> read(Path file) {
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            JsonNode root = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
            if (root == null || !root.isObject()) {
                throw new IllegalArgumentException("it is not a JSON object");
            }
            String key = root.path("key").isTextual() ? root.path("key").textValue() : null;
            double flops = root.path("flopsPerSecond").asDouble(Double.NaN);
            double bytes = root.path("bytesPerSecond").asDouble(Double.NaN);
            if (key == null) {
                throw new IllegalArgumentException("it names no machine key");
            }
            if (!machineKey.equals(key)) {
                LOG.warn("ignoring cost cache {}: it was written for another machine or format", file);
                return Optional.empty();
            }
            return Optional.of(new CostConstants(flops, bytes, "cached " + file));
        } catch (IOException | RuntimeException e) {
            LOG.warn("ignoring damaged cost cache {}: {}", file, e.getMessage());
            return Optional.empty();
        }
    }

    /** Writes through a temporary file, so a concurrent start never reads half a file. */
    private void write(Path file, CostConstants rates) {
        ObjectNode root = JSON.createObjectNode()
                .put("format", FORMAT_VERSION)
                .put("key", machineKey)
                .put("flopsPerSecond", rates.flopsPerSecond())
                .put("bytesPerSecond", rates.bytesPerSecond());
        try {
            String json = JSON.writeValueAsString(root) + "\n";
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
            Files.writeString(tmp, json, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | UnsupportedOperationException e) {
            LOG.warn("could not cache {} cost rates in {} (set -D{}=none to skip calibration): {}",
                    kind, file, CACHE_PROPERTY, e.toString());
        }
    }

    private static String cpuModel() {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        try {
            if (Files.isReadable(cpuinfo)) {
                for (String line : Files.readAllLines(cpuinfo, StandardCharsets.UTF_8)) {
                    if (line.startsWith("model name")) {
                        int colon = line.indexOf(':');
                        return line.substring(colon + 1).strip() + " x" + Runtime.getRuntime().availableProcessors();
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("cannot read {}: {}", cpuinfo, e.toString());
        }
        return System.getProperty("os.arch") + " x" + Runtime.getRuntime().availableProcessors();
    }

    private static String hash(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }
}
