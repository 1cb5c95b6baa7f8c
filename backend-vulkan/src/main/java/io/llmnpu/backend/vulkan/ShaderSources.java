package io.llmnpu.backend.vulkan;

import io.llmnpu.api.backend.BackendException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The GLSL text of one shader variant: a header (version, subgroup extensions, the variant's defines),
 * then the kernel with its {@code #include "x.glsl"} lines replaced by those files. Variants differ by
 * defines (weight type {@code WT}, elementwise {@code OP}, dimensions per invocation {@code DPI}), so one
 * source file serves every weight type.
 */
final class ShaderSources {
    private static final String FOLDER = "/io/llmnpu/backend/vulkan/shaders/";
    private static final Pattern INCLUDE = Pattern.compile("(?m)^#include \"([a-z0-9_]+\\.glsl)\"\\s*$");

    private ShaderSources() {
    }

    /**
     * @param defines   the variant's defines (name to value)
     * @param subgroups whether the reductions may use subgroup operations
     */
    static String source(Kernel kernel, Map<String, Integer> defines, boolean subgroups) {
        StringBuilder text = new StringBuilder("#version 450\n");
        if (subgroups) {
            text.append("#extension GL_KHR_shader_subgroup_basic : require\n");
            text.append("#extension GL_KHR_shader_subgroup_arithmetic : require\n");
        }
        SortedMap<String, Integer> all = new TreeMap<>(defines);
        all.put("SUBGROUPS", subgroups ? 1 : 0);
        all.putIfAbsent("LWS", Kernel.LWS);
        all.forEach((k, v) -> text.append("#define ").append(k).append(' ').append(v).append('\n'));
        text.append("#line 1\n");
        Matcher m = INCLUDE.matcher(read(kernel.file()));
        StringBuilder body = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(body, Matcher.quoteReplacement(read(m.group(1)) + "\n"));
        }
        m.appendTail(body);
        return text.append(body).toString();
    }

    private static String read(String file) {
        try (InputStream in = ShaderSources.class.getResourceAsStream(FOLDER + file)) {
            if (in == null) {
                throw new BackendException("shader source " + FOLDER + file + " is missing from the backend jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new BackendException("cannot read shader source " + file, e);
        }
    }
}
