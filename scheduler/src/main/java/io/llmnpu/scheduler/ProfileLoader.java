package io.llmnpu.scheduler;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.llmnpu.api.backend.DeviceKind;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads platform profiles from JSON. Units are the ones people quote: GOP/s, GFLOP/s, GB/s (10^9),
 * microseconds and watts (the two power figures are optional: without them energy is not reported).
 * Any field whose name starts with {@code _} is a comment and ignored; any other unknown field is an
 * error, so that a misspelt figure is not silently replaced by nothing.
 *
 * <pre>{@code
 * { "name": "my-phone", "description": "...",
 *   "devices": [ { "name": "npu", "kind": "NPU", "int8_gops": 2386, "float_gflops": 0,
 *                  "memory_gbps": 76.8, "task_overhead_us": 100, "active_watts": 1.5, "idle_watts": 0.05 } ] }
 * }</pre>
 */
public final class ProfileLoader {
    /** Profiles shipped with llmnpu, loadable by name. */
    public static final List<String> BUILT_IN = List.of("snapdragon-8gen3-like", "this-machine-example");

    private static final String RESOURCE_DIR = "/io/llmnpu/scheduler/profiles/";
    private static final Set<String> PLATFORM_FIELDS = Set.of("name", "description", "devices");
    private static final Set<String> DEVICE_FIELDS = Set.of("name", "kind", "int8_gops", "float_gflops",
            "memory_gbps", "task_overhead_us", "active_watts", "idle_watts");
    private static final double GIGA = 1e9;
    private static final double MICRO = 1e-6;

    private final ObjectMapper json = new ObjectMapper();

    /** A shipped profile, by name (see {@link #BUILT_IN}). */
    public PlatformProfile builtIn(String name) {
        try (InputStream in = ProfileLoader.class.getResourceAsStream(RESOURCE_DIR + name + ".json")) {
            if (in == null) {
                throw new ProfileFormatException("no built-in profile '" + name + "'; built-in profiles are " + BUILT_IN);
            }
            return parse(json.readTree(in), "built-in profile " + name);
        } catch (JsonProcessingException e) {
            throw new ProfileFormatException("built-in profile " + name + " is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read built-in profile " + name, e);
        }
    }

    /** A profile file. */
    public PlatformProfile load(Path file) {
        try {
            return parse(json.readTree(Files.readString(file)), file.toString());
        } catch (JsonProcessingException e) {
            throw new ProfileFormatException(file + " is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read profile " + file, e);
        }
    }

    /** A profile given as JSON text; {@code origin} names it in error messages. */
    public PlatformProfile parse(String jsonText, String origin) {
        try {
            return parse(json.readTree(jsonText), origin);
        } catch (JsonProcessingException e) {
            throw new ProfileFormatException(origin + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    private PlatformProfile parse(JsonNode root, String origin) {
        if (root == null || !root.isObject()) {
            throw new ProfileFormatException(origin + ": a profile is a JSON object with name and devices");
        }
        checkFields(root, PLATFORM_FIELDS, origin);
        String name = text(root, "name", origin);
        String description = root.has("description") ? text(root, "description", origin) : "";
        JsonNode devices = root.get("devices");
        if (devices == null || !devices.isArray() || devices.isEmpty()) {
            throw new ProfileFormatException(origin + ": 'devices' must be a non-empty array");
        }
        List<DeviceProfile> list = new ArrayList<>();
        for (int i = 0; i < devices.size(); i++) {
            list.add(device(devices.get(i), origin + " device #" + i));
        }
        try {
            return new PlatformProfile(name, description, list);
        } catch (IllegalArgumentException e) {
            throw new ProfileFormatException(origin + ": " + e.getMessage(), e);
        }
    }

    private DeviceProfile device(JsonNode node, String where) {
        if (!node.isObject()) {
            throw new ProfileFormatException(where + " is not a JSON object");
        }
        checkFields(node, DEVICE_FIELDS, where);
        String name = text(node, "name", where);
        String where2 = where + " (" + name + ")";
        String kindText = text(node, "kind", where2);
        DeviceKind kind;
        try {
            kind = DeviceKind.valueOf(kindText.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ProfileFormatException(where2 + ": kind '" + kindText + "' is not one of NPU, GPU, CPU", e);
        }
        try {
            return new DeviceProfile(name, kind,
                    number(node, "int8_gops", where2) * GIGA,
                    number(node, "float_gflops", where2) * GIGA,
                    number(node, "memory_gbps", where2) * GIGA,
                    number(node, "task_overhead_us", where2) * MICRO,
                    optionalNumber(node, "active_watts", where2),
                    optionalNumber(node, "idle_watts", where2));
        } catch (IllegalArgumentException e) {
            throw new ProfileFormatException(where2 + ": " + e.getMessage(), e);
        }
    }

    private static void checkFields(JsonNode node, Set<String> known, String where) {
        for (Map.Entry<String, JsonNode> entry : node.properties()) {
            String field = entry.getKey();
            if (!field.startsWith("_") && !known.contains(field)) {
                throw new ProfileFormatException(where + ": unknown field '" + field + "' (known: "
                        + known.stream().sorted().toList() + "; prefix comments with _)");
            }
        }
    }

    private static String text(JsonNode node, String field, String where) {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual() || v.asText().isBlank()) {
            throw new ProfileFormatException(where + ": '" + field + "' must be a non-empty string");
        }
        return v.asText();
    }

    private static double optionalNumber(JsonNode node, String field, String where) {
        return node.has(field) ? number(node, field, where) : Double.NaN;
    }

    private static double number(JsonNode node, String field, String where) {
        JsonNode v = node.get(field);
        if (v == null || !v.isNumber()) {
            throw new ProfileFormatException(where + ": '" + field + "' must be a number"
                    + (v == null ? " and is missing" : ", got " + v));
        }
        return v.asDouble();
    }
}
