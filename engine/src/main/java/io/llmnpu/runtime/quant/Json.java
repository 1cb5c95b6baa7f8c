package io.llmnpu.runtime.quant;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * llmnpu's sidecar and report files (calibration data, evaluation reports) through Jackson, configured
 * once: maps, lists, strings, numbers, booleans, null and primitive arrays, pretty-printed with arrays
 * on one line (a calibration file holds thousands of short number lists); numbers JSON cannot hold
 * (NaN, infinities) are written as null. {@link #parse} gives back {@link LinkedHashMap}, {@link ArrayList},
 * {@link String}, {@link Double} (every number), {@link Boolean} and null.
 */
public final class Json {

    private static final ObjectMapper MAPPER = new ObjectMapper()
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .registerModule(new SimpleModule("llmnpu-finite-numbers")
                    .addSerializer(Float.class, new FiniteOrNull<>())
                    .addSerializer(float.class, new FiniteOrNull<>())
                    .addSerializer(Double.class, new FiniteOrNull<>())
                    .addSerializer(double.class, new FiniteOrNull<>())
                    .addSerializer(float[].class, new FloatsFiniteOrNull()));
    private static final ObjectWriter WRITER = MAPPER.writer(new DefaultPrettyPrinter()
            .withSeparators(Separators.createDefaultInstance()
                    .withObjectFieldValueSpacing(Separators.Spacing.AFTER))
            .withObjectIndenter(new DefaultIndenter("  ", "\n"))
            .withArrayIndenter(DefaultPrettyPrinter.FixedSpaceIndenter.instance));

    private Json() {
    }

    public static String write(Object value) {
        try {
            return WRITER.writeValueAsString(value) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write " + value.getClass().getSimpleName() + " as JSON: "
                    + e.getOriginalMessage(), e);
        }
    }

    /** @throws IllegalArgumentException with the line of the first syntax error */
    public static Object parse(String text) {
        try {
            return numbersAsDoubles(MAPPER.readValue(text, Object.class));
        } catch (JsonProcessingException e) {
            int line = e.getLocation() == null ? 0 : e.getLocation().getLineNr();
            throw new IllegalArgumentException("JSON line " + line + ": " + e.getOriginalMessage(), e);
        }
    }

    /** One number type for readers, whatever digits the writer used ({@code 3} or {@code 3.0}). */
    private static Object numbersAsDoubles(Object v) {
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put((String) k, numbersAsDoubles(x)));
            return out;
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>(l.size());
            l.forEach(x -> out.add(numbersAsDoubles(x)));
            return out;
        }
        return v;
    }

    private static final class FiniteOrNull<T extends Number> extends JsonSerializer<T> {
        @Override
        public void serialize(T value, JsonGenerator gen, SerializerProvider serializers) throws IOException {
            writeFiniteOrNull(value, gen);
        }
    }

    private static final class FloatsFiniteOrNull extends JsonSerializer<float[]> {
        @Override
        public void serialize(float[] values, JsonGenerator gen, SerializerProvider serializers) throws IOException {
            gen.writeStartArray(values, values.length);
            for (float v : values) {
                writeFiniteOrNull(v, gen);
            }
            gen.writeEndArray();
        }
    }

    private static void writeFiniteOrNull(Number value, JsonGenerator gen) throws IOException {
        double d = value.doubleValue();
        if (!Double.isFinite(d)) {
            gen.writeNull();
        } else if (value instanceof Float f) {
            gen.writeNumber(f);
        } else {
            gen.writeNumber(d);
        }
    }
}
