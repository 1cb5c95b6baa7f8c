package io.llmnpu.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.api.backend.Device;
import io.llmnpu.backend.cpu.CpuBackend;
import io.llmnpu.backend.npu.reference.NpuSettings;
import io.llmnpu.backend.npu.reference.ReferenceNpuBackend;
import io.llmnpu.runtime.api.ProgressListener;
import io.llmnpu.runtime.graph.Architectures;
import io.llmnpu.runtime.measure.Calibrator;
import io.llmnpu.runtime.model.LoadedModel;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelLoader;
import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.Int8WeightStore;
import io.llmnpu.runtime.quant.NpuRewrite;
import io.llmnpu.runtime.quant.PlantedOutlierModel;
import io.llmnpu.runtime.quant.QuantConfig;
import io.llmnpu.runtime.quant.QuantMode;
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
            NpuRewrite rewrite = new NpuRewrite(config, model.weights(), calibration, QuantConfig.of(QuantMode.SHADOW), store);
            int[] prompt = spec.bigramSequences(1, 40, 0.8, 11).getFirst();
            float[] onReferenceNpu = lastLogits(model, rewrite, DevicePlan.of(npuRef.devices().getFirst(), cpu), "npu-ref",
                    prompt, cacheRows);
            float[] onCpuInt8 = lastLogits(model, rewrite, DevicePlan.of(nativeCpu.devices().getFirst(), cpu), "cpu-native",
                    prompt, cacheRows);
            assertArrayEquals(onReferenceNpu, onCpuInt8);
        }
    }

    private static float[] lastLogits(LoadedModel model, NpuRewrite rewrite, DevicePlan plan, String int8Backend,
                                      int[] prompt, int cacheRows) {
        ModelConfig config = model.config();
        try (KvCache cache = new KvCache(config, cacheRows);
             ForwardPass pass = new ForwardPass(config, Architectures.graphs(config, model.weights()), plan,
                     new ChunkPlanner(16), cacheRows, new ForwardPass.NpuPath(rewrite, int8Backend),
                     Policies.byName("in-order"))) {
            ForwardPass.Result r = pass.run(ForwardPass.Request.of(cache, prompt, 0));
            assertTrue(r.usedNpu(), int8Backend + " ran the INT8 layers: " + r.path());
            return r.lastLogits();
        }
    }
}
