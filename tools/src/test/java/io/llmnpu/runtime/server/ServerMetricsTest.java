package io.llmnpu.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.api.GenerationResult;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** How prompts ran reaches {@code /metrics} per device and per path: busy time, busy share, speed, TTFT. */
class ServerMetricsTest {

    @Test
    void prefillOnTheNpuPathIsBrokenDownByDevice() {
        ServerMetrics metrics = new ServerMetrics(() -> 0, () -> 0, 1, List.of("npu-ref/npu0", "cpu/cpu0"));
        Map<String, Double> busy = new LinkedHashMap<>();
        busy.put("npu-ref/npu0", 0.625);
        busy.put("cpu/cpu0", 0.5);
        metrics.generated(result(new GenerationResult.Prefill("w8a8-shadow", 250_000_000L, busy, 1), 2_000_000_000L, 64));
        metrics.generated(result(new GenerationResult.Prefill("float", 100_000_000L, Map.of("cpu/cpu0", 1.0), 0),
                1_000_000_000L, 16));
        String text = metrics.scrape();

        assertEquals(1.25, value(text, "llmnpu_device_busy_seconds_total{device=\"npu-ref/npu0\"}"), 1e-9);
        assertEquals(2.0, value(text, "llmnpu_device_busy_seconds_total{device=\"cpu/cpu0\"}"), 1e-9);
        assertEquals(0.0, value(text, "llmnpu_device_busy_share{device=\"npu-ref/npu0\"}"), 1e-9,
                "the NPU did nothing in the last prompt");
        assertEquals(1.0, value(text, "llmnpu_device_busy_share{device=\"cpu/cpu0\"}"), 1e-9);
        assertEquals(1, value(text, "llmnpu_prefill_speed_tokens_per_second_count{path=\"w8a8-shadow\"}"));
        assertEquals(32.0, value(text, "llmnpu_prefill_speed_tokens_per_second_sum{path=\"w8a8-shadow\"}"), 1e-9);
        assertEquals(0.25, value(text, "llmnpu_prefill_ttft_seconds_sum{path=\"w8a8-shadow\"}"), 1e-9);
        assertEquals(1, value(text, "llmnpu_prefill_ttft_seconds_count{path=\"float\"}"));
        assertEquals(1, value(text, "llmnpu_prefill_failovers_total"));
    }

    @Test
    void aPromptServedFromTheCacheAddsNoPrefill() {
        ServerMetrics metrics = new ServerMetrics(() -> 0, () -> 0, 1, List.of("cpu/cpu0"));
        GenerationResult cached = new GenerationResult("x", new int[] {5}, 10, 0, 0,
                GenerationResult.StopReason.LENGTH, 0, GenerationResult.Prefill.unknown());
        metrics.generated(cached);
        assertTrue(!metrics.scrape().contains("llmnpu_device_busy_seconds_total{"), metrics.scrape());
    }

    private static GenerationResult result(GenerationResult.Prefill prefill, long prefillNanos, int tokens) {
        return new GenerationResult("x", new int[] {5, 6}, tokens, prefillNanos, 1_000_000L,
                GenerationResult.StopReason.LENGTH, tokens, prefill);
    }

    private static double value(String scrape, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(scrape);
        assertTrue(m.find(), series + " in\n" + scrape);
        return Double.parseDouble(m.group(1));
    }
}
