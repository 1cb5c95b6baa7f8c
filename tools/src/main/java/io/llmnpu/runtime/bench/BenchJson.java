package io.llmnpu.runtime.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The report as JSON. Result fields follow llama-bench's JSON output where they mean the same thing
 * ({@code model_filename}, {@code n_prompt}, {@code samples_ns}, {@code avg_ts}, ...); {@code n_chunk},
 * {@code flops_per_run} and {@code avg_gflops} are llmnpu's additions.
 */
public final class BenchJson {
    private static final JsonFactory JSON = new JsonFactory();

    private BenchJson() {
    }

    public static String render(BenchReport report) {
        StringWriter text = new StringWriter();
        try (JsonGenerator j = JSON.createGenerator(text)) {
            j.setPrettyPrinter(new DefaultPrettyPrinter().withSeparators(Separators.createDefaultInstance()
                    .withObjectFieldValueSpacing(Separators.Spacing.AFTER)));
            write(report, j);
        } catch (IOException e) {
            throw new UncheckedIOException("writing the bench report", e);
        }
        return text.append('\n').toString();
    }

    private static void write(BenchReport report, JsonGenerator j) throws IOException {
        j.writeStartObject();
        j.writeStringField("tool", "llmnpu bench");
        j.writeStringField("date", report.started().toString());
        j.writeObjectFieldStart("machine");
        for (Map.Entry<String, String> e : report.machine().entrySet()) {
            j.writeStringField(e.getKey(), e.getValue());
        }
        j.writeEndObject();
        BenchPlan p = report.plan();
        j.writeObjectFieldStart("plan");
        j.writeArrayFieldStart("models");
        for (Path m : p.models()) {
            j.writeString(m.toString());
        }
        j.writeEndArray();
        numbers(j, "n_prompt", p.promptSizes());
        j.writeNumberField("n_gen", p.genTokens());
        j.writeNumberField("repetitions", p.repetitions());
        numbers(j, "threads", p.threads());
        numbers(j, "chunks", p.chunks());
        j.writeArrayFieldStart("backends");
        for (String b : p.backends()) {
            j.writeString(b.isEmpty() ? "default" : b);
        }
        j.writeEndArray();
        j.writeBooleanField("warmup", p.warmup());
        j.writeNumberField("seed", p.seed());
        j.writeEndObject();

        j.writeArrayFieldStart("read_bandwidth");
        for (Map.Entry<Integer, Double> e : report.bandwidth().entrySet()) {
            j.writeStartObject();
            j.writeNumberField("n_threads", e.getKey());
            number(j, "bytes_per_s", e.getValue());
            j.writeEndObject();
        }
        j.writeEndArray();

        j.writeArrayFieldStart("memory");
        for (Map.Entry<String, PeakMemory> e : report.memory().entrySet()) {
            j.writeStartObject();
            j.writeStringField("model_filename", e.getKey());
            j.writeNumberField("peak_rss_bytes", e.getValue().rssBytes());
            j.writeBooleanField("peak_rss_since_model_start", e.getValue().rssReset());
            j.writeNumberField("peak_heap_bytes", e.getValue().heapBytes());
            PeakMemory.Resident end = e.getValue().atEnd();
            if (end != null) {
                j.writeObjectFieldStart("resident_at_end");
                j.writeNumberField("anonymous_bytes", end.anonymousBytes());
                j.writeNumberField("file_bytes", end.fileBytes());
                j.writeNumberField("model_file_bytes", end.modelFileBytes());
                j.writeNumberField("heap_committed_bytes", end.heapCommittedBytes());
                j.writeEndObject();
            }
            j.writeEndObject();
        }
        j.writeEndArray();

        j.writeArrayFieldStart("results");
        for (BenchResult r : report.results()) {
            BenchModel m = r.model();
            j.writeStartObject();
            j.writeStringField("model_filename", m.file().toString());
            j.writeStringField("model_name", m.name());
            j.writeStringField("model_type", m.type());
            j.writeNumberField("model_size", m.sizeBytes());
            j.writeNumberField("model_n_params", m.parameters());
            j.writeStringField("backend", r.backend());
            j.writeNumberField("n_threads", r.threads());
            j.writeNumberField("n_chunk", r.chunk());
            j.writeStringField("test", r.test());
            j.writeNumberField("n_prompt", r.promptTokens());
            j.writeNumberField("n_gen", r.genTokens());
            j.writeArrayFieldStart("samples_ns");
            for (long ns : r.samplesNanos()) {
                j.writeNumber(ns);
            }
            j.writeEndArray();
            j.writeArrayFieldStart("samples_ts");
            for (double ts : r.samplesTokensPerSecond()) {
                number(j, ts);
            }
            j.writeEndArray();
            number(j, "avg_ns", r.meanNanos());
            number(j, "stddev_ns", r.stddevNanos());
            number(j, "avg_ts", r.meanTokensPerSecond());
            number(j, "stddev_ts", r.stddevTokensPerSecond());
            number(j, "flops_per_run", r.flopsPerRun());
            number(j, "avg_gflops", r.gflopsPerSecond());
            if (!Double.isNaN(report.boundTokensPerSecond(r))) {
                number(j, "bytes_per_token", r.model().decodeBytesPerToken(r.genTokens()));
                number(j, "bound_ts", report.boundTokensPerSecond(r));
                number(j, "pct_of_bound", report.percentOfBound(r));
            }
            j.writeEndObject();
        }
        j.writeEndArray();
        j.writeEndObject();
    }

    private static void numbers(JsonGenerator j, String name, List<Integer> values) throws IOException {
        j.writeArrayFieldStart(name);
        for (int v : values) {
            j.writeNumber(v);
        }
        j.writeEndArray();
    }

    private static void number(JsonGenerator j, String name, double v) throws IOException {
        j.writeFieldName(name);
        number(j, v);
    }

    /** A finite number; NaN and infinities, which JSON cannot hold, become null. */
    private static void number(JsonGenerator j, double v) throws IOException {
        if (Double.isFinite(v)) {
            j.writeNumber(v);
        } else {
            j.writeNull();
        }
    }
}
