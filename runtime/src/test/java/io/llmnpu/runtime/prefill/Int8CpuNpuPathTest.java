package io.llmnpu.runtime.prefill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.api.backend.Device;
import io.llmnpu.backend.cpu.CpuBackend;
import io.llmnpu.backend.npu.reference.NpuSettings;
import io.llmnpu.backend.npu.reference.ReferenceNpuBackend;
import io.llmnpu.runtime.api.ProgressListener;
import io.llmnpu.runtime.engine.CpuBackends;
import io.llmnpu.runtime.engine.KvCache;
import io.llmnpu.runtime.model.LoadedModel;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelLoader;
import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.Calibrator;
import io.llmnpu.runtime.quant.Int8WeightStore;
import io.llmnpu.runtime.quant.PlantedOutlierModel;
import io.llmnpu.runtime.quant.QuantConfig;
import io.llmnpu.runtime.quant.QuantMode;
import io.llmnpu.runtime.quant.QuantPlan;
import io.llmnpu.runtime.quant.QuantizedGraphBuilder;
import io.llmnpu.scheduler.Policies;
import java.nio.file.Path;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NPU path of a chunked W8A8 prefill with shadow outliers, its INT8 layers on the native CPU
 * backend's int8 units instead of the reference NPU: the last position's logits are the same bit for
 * bit, so the hybrid prefill is the same computation on faster hardware.
 */
class Int8CpuNpuPathTest {

    @TempDir
    Path dir;

    @Test
    void int8LayersOnTheCpuGiveTheReferenceNpusLogits() throws Exception {
        CpuBackends.assumeUsable("cpu-native");
        PlantedOutlierModel spec = new PlantedOutlierModel(64, 384, 3, 4, 2, 128, 2, 40f, 0.02, 7);
        Path file = spec.write(dir.resolve("planted.gguf"));
        int promptTokens = 40;
        int chunk = 16;
        int cacheRows = 64;
        BackendProvider nativeProvider = ServiceLoader.load(BackendProvider.class).stream()
                .map(ServiceLoader.Provider::get).filter(p -> p.name().equals("cpu-native")).findFirst().orElseThrow();
        try (LoadedModel model = ModelLoader.load(file, null, ProgressListener.none());
             CpuBackend cpuBackend = new CpuBackend(new BackendOptions(1));
             ReferenceNpuBackend npuRef = new ReferenceNpuBackend(new NpuSettings(1, null));
             Backend nativeCpu = nativeProvider.create(new BackendOptions(1));
             Int8WeightStore store = new Int8WeightStore()) {
            ModelConfig config = model.config();
            Device cpu = cpuBackend.devices().getFirst();
            CalibrationData calibration = new Calibrator(config, model.weights(), cpu, Calibrator.Options.DEFAULTS)
                    .run(spec.bigramSequences(3, 64, 0.8, 5), "planted", 0, "bigrams", ProgressListener.none());
            QuantPlan plan = QuantPlan.create(config, model.weights(), calibration, QuantConfig.of(QuantMode.SHADOW), store);
            QuantizedGraphBuilder builder = new QuantizedGraphBuilder(config, model.weights(), plan);
            int[] prompt = spec.bigramSequences(1, promptTokens, 0.8, 11).getFirst();
            float[] onReferenceNpu = lastLogits(config, builder, model, npuRef.devices().getFirst(), cpu, prompt,
                    chunk, cacheRows);
            float[] onCpuInt8 = lastLogits(config, builder, model, nativeCpu.devices().getFirst(), cpu, prompt,
                    chunk, cacheRows);
            assertArrayEquals(onReferenceNpu, onCpuInt8);
        }
    }

    private static float[] lastLogits(ModelConfig config, QuantizedGraphBuilder builder, LoadedModel model, Device npu,
                                      Device cpu, int[] prompt, int chunk, int cacheRows) {
        try (KvCache cache = new KvCache(config, cacheRows);
             ChunkedPrefill prefill = new ChunkedPrefill(config, rows -> builder.body(rows, cacheRows),
                     model.weights().output(), npu, cpu, cache, prompt.length, chunk)) {
            prefill.setPrompt(prompt);
            new PrefillExecutor(prefill).run(Policies.byName("in-order"), prefill.uniformCosts());
            return prefill.lastLogits();
        }
    }
}
