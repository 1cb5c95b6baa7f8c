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
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The server's Prometheus metrics (served at {@code /metrics}): requests by endpoint and status,
 * prompt, cached and generated tokens, time to first token and decode speed as histograms, and
 * queue depth and busy slots as gauges.
 *
 * <p>How prompts ran, per device: {@code llmnpu_device_busy_seconds_total{device}} (time each device
 * spent on prompts), {@code llmnpu_device_busy_share{device}} (its busy share of the last prompt's prefill),
 * {@code llmnpu_prefill_speed_tokens_per_second{path}} and {@code llmnpu_prefill_ttft_seconds{path}} (the
 * engine's time to first token, queueing excluded), by path ({@code float} or the NPU path such as
 * {@code w8a8-shadow}), and {@code llmnpu_prefill_failovers_total} (devices that failed or left mid-prompt).
 * {@link #generated} is the one place that sees every result.
 */
final class ServerMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Counter promptTokens;
    private final Counter cachedTokens;
    private final Counter completionTokens;
    private final Timer timeToFirstToken;
    private final DistributionSummary decodeSpeed;
    private final Counter failovers;
    /** Each device's busy share of the last prompt, as the bits of a double (gauges read it). */
    private final Map<String, AtomicLong> lastShare = new ConcurrentHashMap<>();

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
        failovers = Counter.builder("llmnpu.prefill.failovers")
                .description("Devices that failed or left while a prompt ran (the prompt finished on the others)")
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
        GenerationResult.Prefill prefill = r.prefill();
        if (r.prefilledTokens() == 0 || prefill.deviceBusy().isEmpty()) {
            return;                       // nothing ran through prefill (the whole prompt came from the cache)
        }
        String path = prefill.path();
        DistributionSummary.builder("llmnpu.prefill.speed").baseUnit("tokens.per.second").tag("path", path)
                .description("Prompt tokens per second through prefill, by path (float or the NPU path)")
                .serviceLevelObjectives(10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)
                .register(registry).record(r.prefillTokensPerSecond());
        Timer.builder("llmnpu.prefill.ttft").tag("path", path)
                .description("The engine's time to first token (queueing excluded), by path")
                .register(registry).record(Duration.ofNanos(prefill.ttftNanos()));
        failovers.increment(prefill.failovers());
        double seconds = r.prefillNanos() * 1e-9;
        prefill.deviceBusy().forEach((device, share) -> {
            Counter.builder("llmnpu.device.busy").baseUnit("seconds").tag("device", device)
                    .description("Time each device was busy running prompts").register(registry)
                    .increment(share * seconds);
            lastShare.computeIfAbsent(device, d -> {
                AtomicLong bits = new AtomicLong();
                Gauge.builder("llmnpu.device.busy.share", bits, b -> Double.longBitsToDouble(b.get())).tag("device", d)
                        .description("Each device's busy share of the last prompt's prefill").register(registry);
                return bits;
            }).set(Double.doubleToLongBits(share));
        });
        lastShare.forEach((device, bits) -> {
            if (!prefill.deviceBusy().containsKey(device)) {
                bits.set(Double.doubleToLongBits(0));
            }
        });
    }

    /** The Prometheus text exposition. */
    String scrape() {
        return registry.scrape();
    }

    private static Duration ms(long millis) {
        return Duration.ofMillis(millis);
    }
}
