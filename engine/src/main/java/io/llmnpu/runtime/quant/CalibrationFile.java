package io.llmnpu.runtime.quant;

import io.llmnpu.runtime.files.AtomicFiles;
import io.llmnpu.runtime.files.TextFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes {@link CalibrationData} as the JSON sidecar {@code MODEL.calib.json}; the format is
 * described in docs/calibration.md. Derived figures (scales, importance) are written too, for people
 * reading the file; reading uses only the measured ones.
 */
public final class CalibrationFile {

    public static final int FORMAT_VERSION = 1;
    public static final String SUFFIX = ".calib.json";

    private CalibrationFile() {
    }

    /** The sidecar path of {@code model}: the model's path with {@value #SUFFIX} appended. */
    public static Path sidecarOf(Path model) {
        return model.resolveSibling(model.getFileName() + SUFFIX);
    }

    public static void write(CalibrationData data, Path file) throws IOException {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("format", "llmnpu-calibration");
        root.put("version", FORMAT_VERSION);
        root.put("model", data.model());
        root.put("model_bytes", data.modelBytes());
        root.put("dim", data.dim());
        root.put("text", data.text());
        root.put("sequences", data.sequences());
        root.put("tokens", data.tokens());
        root.put("percentile", data.percentile());
        List<Object> layers = new ArrayList<>();
        for (CalibrationData.Layer layer : data.layers()) {
            Map<String, Object> l = new LinkedHashMap<>();
            Map<String, Object> sites = new LinkedHashMap<>();
            for (LinearSite s : LinearSite.values()) {
                sites.put(s.key(), site(layer.site(s)));
            }
            l.put("inputs", sites);
            Map<String, Object> outputs = new LinkedHashMap<>();
            for (LinearLayer ll : LinearLayer.values()) {
                Float v = layer.outputAbsMax().get(ll);
                if (v != null) {
                    outputs.put(ll.key(), v);
                }
            }
            l.put("output_absmax", outputs);
            layers.add(l);
        }
        root.put("layers", layers);
        AtomicFiles.writeString(file, Json.write(root));
    }

    private static Map<String, Object> site(SiteCalibration s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("values", s.values());
        m.put("absmax", s.absMax());
        m.put("clip_value", s.clipValue());
        m.put("absmax_scale", s.absMaxScale());
        m.put("clip_scale", s.clipScale());
        m.put("importance", s.importance());
        m.put("outliers", s.outliers());
        m.put("hot_channels", s.hotChannels());
        m.put("hot_coverage", (float) s.hotCoverage());
        List<Object> channels = new ArrayList<>();
        for (SiteCalibration.ChannelOutliers c : s.channels()) {
            channels.add(List.of(c.channel(), c.count(), c.maxAbs()));
        }
        m.put("outlier_channels", channels);
        return m;
    }

    /** @throws IOException if the file cannot be read or is not a calibration file of a known version */
    public static CalibrationData read(Path file) throws IOException {
        String text = TextFiles.readUtf8(file, "calibration file");
        try {
            Map<?, ?> root = (Map<?, ?>) Json.parse(text);
            if (!"llmnpu-calibration".equals(root.get("format"))) {
                throw new IOException(file + " is not an llmnpu calibration file");
            }
            int version = num(root, "version").intValue();
            if (version != FORMAT_VERSION) {
                throw new IOException(file + " has calibration format " + version + "; this llmnpu reads "
                        + FORMAT_VERSION + ": run llmnpu calibrate again");
            }
            List<CalibrationData.Layer> layers = new ArrayList<>();
            for (Object lo : (List<?>) root.get("layers")) {
                Map<?, ?> l = (Map<?, ?>) lo;
                Map<LinearSite, SiteCalibration> sites = new EnumMap<>(LinearSite.class);
                for (Map.Entry<?, ?> e : ((Map<?, ?>) l.get("inputs")).entrySet()) {
                    sites.put(LinearSite.fromKey((String) e.getKey()), readSite((Map<?, ?>) e.getValue()));
                }
                Map<LinearLayer, Float> outputs = new EnumMap<>(LinearLayer.class);
                Object out = l.get("output_absmax");
                if (out instanceof Map<?, ?> om) {
                    for (Map.Entry<?, ?> e : om.entrySet()) {
                        float v = ((Number) e.getValue()).floatValue();
                        if (!(v >= 0) || Float.isInfinite(v)) {
                            throw new IllegalArgumentException("output_absmax " + e.getKey() + " is " + v);
                        }
                        outputs.put(LinearLayer.fromKey((String) e.getKey()), v);
                    }
                }
                layers.add(new CalibrationData.Layer(sites, outputs));
            }
            return new CalibrationData((String) root.get("model"), num(root, "model_bytes").longValue(),
                    num(root, "dim").intValue(), (String) root.get("text"), num(root, "sequences").intValue(),
                    num(root, "tokens").longValue(), num(root, "percentile").doubleValue(), layers);
        } catch (ClassCastException | NullPointerException | IllegalArgumentException e) {
            throw new IOException(file + " is not a valid calibration file: " + e.getMessage(), e);
        }
    }

    private static SiteCalibration readSite(Map<?, ?> m) {
        List<SiteCalibration.ChannelOutliers> channels = new ArrayList<>();
        for (Object o : (List<?>) m.get("outlier_channels")) {
            List<?> c = (List<?>) o;
            if (c.size() != 3) {
                throw new IllegalArgumentException("an outlier_channels entry has " + c.size()
                        + " values; each is [channel, count, max |x|]");
            }
            channels.add(new SiteCalibration.ChannelOutliers(((Number) c.get(0)).intValue(),
                    ((Number) c.get(1)).longValue(), ((Number) c.get(2)).floatValue()));
        }
        List<?> hot = (List<?>) m.get("hot_channels");
        int[] hotChannels = new int[hot.size()];
        for (int i = 0; i < hotChannels.length; i++) {
            hotChannels[i] = ((Number) hot.get(i)).intValue();
        }
        long values = num(m, "values").longValue();
        float absMax = nonNegative(m, "absmax");
        float clipValue = nonNegative(m, "clip_value");
        long outliers = num(m, "outliers").longValue();
        if (values < 0 || outliers < 0 || outliers > values) {
            throw new IllegalArgumentException("counts values " + values + " and outliers " + outliers + " are inconsistent");
        }
        for (int c : hotChannels) {
            requireChannel(c);
        }
        for (SiteCalibration.ChannelOutliers c : channels) {
            requireChannel(c.channel());
            if (c.count() < 0 || !(c.maxAbs() >= 0) || Float.isInfinite(c.maxAbs())) {
                throw new IllegalArgumentException("outlier channel " + c.channel() + " has count " + c.count()
                        + " and max " + c.maxAbs());
            }
        }
        return new SiteCalibration(values, absMax, clipValue, outliers, hotChannels, channels);
    }

    private static void requireChannel(int channel) {
        if (channel < 0) {
            throw new IllegalArgumentException("channel " + channel + " is negative");
        }
    }

    /** A finite value >= 0: an activation range. */
    private static float nonNegative(Map<?, ?> m, String key) {
        float v = num(m, key).floatValue();
        if (!(v >= 0) || Float.isInfinite(v)) {
            throw new IllegalArgumentException("field '" + key + "' is " + v + ", not a finite value >= 0");
        }
        return v;
    }

    private static Number num(Map<?, ?> m, String key) {
        Object v = m.get(key);
        if (!(v instanceof Number n)) {
            throw new IllegalArgumentException("field '" + key + "' is missing or not a number");
        }
        return n;
    }
}
