package io.llmnpu.backend.vulkan;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Optional;
import java.util.Properties;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Vulkan device's cost rates for this machine: read from a per-device cache file when one matches,
 * otherwise measured once ({@link KernelRateProbe}, about a second) and written there, so later starts
 * read the file. The folder is {@code ~/.cache/llmnpu/costs}, shared with the CPU backend, unless the
 * system property {@value #CACHE_PROPERTY} names another; {@code none} turns off caching and measuring
 * alike, so fixed defaults apply and estimates are the same on every machine (tests rely on that).
 * The file name carries a hash of the device key (device, driver, format version) and the key is in
 * the file too: a file that does not parse, has another key or holds nonsense rates is measured again.
 */
final class CostCalibration {
    static final String CACHE_PROPERTY = "llmnpu.costs.cache";
    /** Raise when the measurement or the file changes meaning, so old files are no longer read. */
    static final int FORMAT_VERSION = 1;

    private static final Logger LOG = LoggerFactory.getLogger(CostCalibration.class);

    private final Optional<Path> cacheDir;
    private final String deviceKey;
    private final Supplier<CostRates> measurement;

    /**
     * @param cacheDir    where cache files live; empty disables caching and measuring
     * @param deviceKey   what a cached result is valid for
     * @param measurement measures the rates on the device
     */
    CostCalibration(Optional<Path> cacheDir, String deviceKey, Supplier<CostRates> measurement) {
        this.cacheDir = cacheDir;
        this.deviceKey = deviceKey;
        this.measurement = measurement;
    }

    /** The cache folder the system property asks for; empty for {@code none}. */
    static Optional<Path> configuredCacheDir() {
        String configured = System.getProperty(CACHE_PROPERTY, "").strip();
        if (configured.equalsIgnoreCase("none")) {
            return Optional.empty();
        }
        if (!configured.isEmpty()) {
            return Optional.of(Path.of(configured));
        }
        return Optional.of(Path.of(System.getProperty("user.home"), ".cache", "llmnpu", "costs"));
    }

    static String deviceKey(DeviceInfo info) {
        return info.identity().replace('\n', ';') + ";format=" + FORMAT_VERSION;
    }

    /** The cached rates, else measured ones (then cached), else {@code defaults} when caching is off. */
    CostRates rates(CostRates defaults) {
        if (cacheDir.isEmpty()) {
            return defaults;
        }
        Path file = cacheFile();
        Optional<CostRates> cached = read(file);
        if (cached.isPresent()) {
            return cached.get();
        }
        CostRates measured = measurement.get();
        LOG.info("vulkan cost rates measured: {} GFLOP/s, {} GB/s, {} us per dispatch",
                String.format(Locale.ROOT, "%.1f", measured.flopsPerSecond() / 1e9),
                String.format(Locale.ROOT, "%.1f", measured.bytesPerSecond() / 1e9),
                String.format(Locale.ROOT, "%.1f", measured.dispatchSeconds() * 1e6));
        write(file, measured);
        return measured;
    }

    Path cacheFile() {
        return cacheDir.orElseThrow().resolve("vulkan-" + CacheFiles.sha256Hex(deviceKey).substring(0, 16) + ".properties");
    }

    private Optional<CostRates> read(Path file) {
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(in);
            if (!deviceKey.equals(p.getProperty("key"))) {
                LOG.warn("ignoring cost cache {}: it was written for another device, driver or format", file);
                return Optional.empty();
            }
            return Optional.of(new CostRates(Double.parseDouble(p.getProperty("flopsPerSecond")),
                    Double.parseDouble(p.getProperty("bytesPerSecond")),
                    Double.parseDouble(p.getProperty("dispatchSeconds")), "cached " + file));
        } catch (IOException | RuntimeException e) {
            LOG.warn("ignoring damaged cost cache {}: {}", file, e.toString());
            return Optional.empty();
        }
    }

    /** Writes through a temporary file, so a concurrent start never reads half a file. */
    private void write(Path file, CostRates rates) {
        Properties p = new Properties();
        p.setProperty("key", deviceKey);
        p.setProperty("flopsPerSecond", Double.toString(rates.flopsPerSecond()));
        p.setProperty("bytesPerSecond", Double.toString(rates.bytesPerSecond()));
        p.setProperty("dispatchSeconds", Double.toString(rates.dispatchSeconds()));
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
            try (Writer out = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                p.store(out, "llmnpu Vulkan cost rates, measured on this device");
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | UnsupportedOperationException e) {
            LOG.warn("could not cache vulkan cost rates in {} (set -D{}=none to skip calibration): {}",
                    file, CACHE_PROPERTY, e.toString());
        }
    }
}
