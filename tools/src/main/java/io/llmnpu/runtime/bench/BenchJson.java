package io.llmnpu.runtime.bench;

import java.util.Map;

/**
 * The report as JSON. Result fields follow llama-bench's JSON output where they mean the same thing
 * ({@code model_filename}, {@code n_prompt}, {@code samples_ns}, {@code avg_ts}, ...); {@code n_chunk},
 * {@code flops_per_run} and {@code avg_gflops} are llmnpu's additions.
 */
public final class BenchJson {
    private BenchJson() {
    }

    public static String render(BenchReport report) {
        JsonWriter j = new JsonWriter().beginObject();
        j.field("tool", "llmnpu bench").field("date", report.started().toString());
        j.key("machine").beginObject();
        report.machine().forEach(j::field);
        j.endObject();
        BenchPlan p = report.plan();
        j.key("plan").beginObject();
        j.key("models").beginArray();
        p.models().forEach(m -> j.string(m.toString()));
        j.endArray();
        j.key("n_prompt").beginArray();
        p.promptSizes().forEach(j::number);
        j.endArray();
        j.field("n_gen", p.genTokens()).field("repetitions", p.repetitions());
        j.key("threads").beginArray();
        p.threads().forEach(j::number);
        j.endArray();
        j.key("chunks").beginArray();
        p.chunks().forEach(j::number);
        j.endArray();
        j.key("backends").beginArray();
        p.backends().forEach(b -> j.string(b.isEmpty() ? "default" : b));
        j.endArray();
        j.key("warmup").bool(p.warmup()).field("seed", p.seed());
        j.endObject();

        j.key("read_bandwidth").beginArray();
        report.bandwidth().forEach((threads, bytesPerSecond) ->
                j.beginObject().field("n_threads", threads).field("bytes_per_s", bytesPerSecond).endObject());
        j.endArray();

        j.key("memory").beginArray();
        for (Map.Entry<String, PeakMemory> e : report.memory().entrySet()) {
            j.beginObject().field("model_filename", e.getKey())
                    .field("peak_rss_bytes", e.getValue().rssBytes())
                    .key("peak_rss_since_model_start").bool(e.getValue().rssReset())
                    .field("peak_heap_bytes", e.getValue().heapBytes())
                    .endObject();
        }
        j.endArray();

        j.key("results").beginArray();
        for (BenchResult r : report.results()) {
            BenchModel m = r.model();
            j.beginObject()
                    .field("model_filename", m.file().toString())
                    .field("model_name", m.name())
                    .field("model_type", m.type())
                    .field("model_size", m.sizeBytes())
                    .field("model_n_params", m.parameters())
                    .field("backend", r.backend())
                    .field("n_threads", r.threads())
                    .field("n_chunk", r.chunk())
                    .field("test", r.test())
                    .field("n_prompt", r.promptTokens())
                    .field("n_gen", r.genTokens());
            j.key("samples_ns").beginArray();
            for (long ns : r.samplesNanos()) {
                j.number(ns);
            }
            j.endArray();
            j.key("samples_ts").beginArray();
            for (double ts : r.samplesTokensPerSecond()) {
                j.number(ts);
            }
            j.endArray();
            j.field("avg_ns", r.meanNanos()).field("stddev_ns", r.stddevNanos())
                    .field("avg_ts", r.meanTokensPerSecond()).field("stddev_ts", r.stddevTokensPerSecond())
                    .field("flops_per_run", r.flopsPerRun()).field("avg_gflops", r.gflopsPerSecond());
            if (!Double.isNaN(report.boundTokensPerSecond(r))) {
                j.field("bytes_per_token", r.model().decodeBytesPerToken(r.genTokens()))
                        .field("bound_ts", report.boundTokensPerSecond(r))
                        .field("pct_of_bound", report.percentOfBound(r));
            }
            j.endObject();
        }
        j.endArray();
        return j.endObject().toString();
    }
}
