package io.llmnpu.runtime.server;

import io.llmnpu.runtime.api.GenerationResult;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;

/**
 * The server's Prometheus metrics (served at {@code /metrics}): requests by endpoint and status,
 * prompt, cached and generated tokens, time to first token and decode speed as histograms, and
 * queue depth and busy slots as gauges.
 *
 * <p>When generation results carry a per-device busy breakdown (prefill on the NPU path), it belongs
 * here as {@code llmnpu_device_busy_seconds_total{device}}: {@link #generated} is the one place that
 * sees every result.
 */
final class ServerMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Counter promptTokens;
    private final Counter cachedTokens;
    private final Counter completionTokens;
    private final Timer timeToFirstToken;
    private final DistributionSummary decodeSpeed;

    ServerMetrics(Supplier<Number> queueDepth, Supplier<Number> busySlots, int totalSlots, List<String> devices) {
        promptTokens = Counter.builder("llmnpu.prompt.tokens").description("Prompt tokens of finished requests")
                .register(registry);
        cachedTokens = Counter.builder("llmnpu.prompt.cached.tokens")
                .description("Prompt tokens taken from a slot's cache instead of prefill").register(registry);
        completionTokens = Counter.builder("llmnpu.completion.tokens").description("Tokens generated")
                .register(registry);
        timeToFirstToken = Timer.builder("llmnpu.time.to.first.token")
                .description("From request arrival (queueing included) to the first generated token")
                .serviceLevelObjectives(ms(5), ms(10), ms(25), ms(50), ms(100), ms(250), ms(500), ms(1000),
                        ms(2500), ms(5000), ms(10000), ms(30000))
                .register(registry);
        decodeSpeed = DistributionSummary.builder("llmnpu.decode.speed").baseUnit("tokens.per.second")
                .description("Decode speed of each request")
                .serviceLevelObjectives(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
                .register(registry);
        Gauge.builder("llmnpu.queue.depth", queueDepth).description("Requests waiting for a slot").register(registry);
        Gauge.builder("llmnpu.slots.busy", busySlots).description("KV slots generating now").register(registry);
        Gauge.builder("llmnpu.slots.total", () -> totalSlots).description("KV slots (--parallel)").register(registry);
        for (String device : devices) {
            Gauge.builder("llmnpu.device.info", () -> 1).tag("device", device)
                    .description("Devices the model runs on, in fallback order").register(registry);
        }
    }

    void request(String endpoint, int status) {
        Counter.builder("llmnpu.requests").description("HTTP requests by endpoint and status")
                .tag("endpoint", endpoint).tag("status", Integer.toString(status)).register(registry).increment();
    }

    void firstToken(long nanosSinceArrival) {
        timeToFirstToken.record(Duration.ofNanos(nanosSinceArrival));
    }

    void generated(GenerationResult r) {
        promptTokens.increment(r.promptTokens());
        cachedTokens.increment(r.cachedTokens());
        completionTokens.increment(r.tokens().length);
        if (r.decodeTokensPerSecond() > 0) {
            decodeSpeed.record(r.decodeTokensPerSecond());
        }
    }

    /** The Prometheus text exposition. */
    String scrape() {
        return registry.scrape();
    }

    private static Duration ms(long millis) {
        return Duration.ofMillis(millis);
    }
}
