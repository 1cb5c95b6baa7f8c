package io.llmnpu.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;


import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.api.backend.Capability;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.backend.StateResidency;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.runtime.engine.ChunkPlanner;
import io.llmnpu.runtime.engine.DevicePlan;
import io.llmnpu.runtime.engine.ForwardPass;
import io.llmnpu.runtime.graph.Architectures;
import io.llmnpu.runtime.graph.ModelGraphBuilder;
import io.llmnpu.runtime.engine.KvCache;
import io.llmnpu.runtime.measure.Calibrator;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.load.ModelLoader;
import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.Int8WeightStore;
import io.llmnpu.runtime.quant.NpuRewrite;
import io.llmnpu.runtime.quant.ParagraphChunker;
import io.llmnpu.runtime.quant.QuantConfig;
import io.llmnpu.runtime.quant.QuantMode;
import io.llmnpu.tck.skip.RequiresBackend;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * One prefill over three real devices: INT8 linears on the reference NPU, attention on OpenCL (PoCL here),
 * the rest on the CPU backend, each with its own worker; its logits agree with the two-device run (NPU and
 * CPU). Then the KV cache changes hands: decode steps on the CPU alone write rows the OpenCL device keeps a
 * copy of, and a follow-up prompt on the three devices must see them (the SPI's state residency at work).
 */
@RequiresBackend("opencl")
class ThreeDevicePrefillIT {
    private static final Path SHARED = Path.of(System.getProperty("llmnpu.shared.dir", "../shared"));

    @Test
    void npuOpenClAndCpuInOnePrefillAgreeWithNpuAndCpu() throws Exception {
        Path modelFile = SHARED.resolve("models/stories260K.gguf");
        assumeTrue(Files.isRegularFile(modelFile), "stories260K.gguf not found at " + modelFile);
        BackendRegistry all = BackendRegistry.discover(getClass().getClassLoader());
        BackendProvider openclProvider = all.select("opencl"); // present: @RequiresBackend skips otherwise
        String text = Files.readString(SHARED.resolve("data/tinystories-eval.txt"), StandardCharsets.UTF_8);
        try (LoadedModel model = ModelLoader.load(modelFile, null, ProgressListener.none());
             Backend npuBackend = all.select("npu-ref").create(new BackendOptions(1));
             Backend cpuBackend = all.select("cpu").create(new BackendOptions(1));
             Backend openclBackend = openclProvider.create(BackendOptions.defaults());
             Int8WeightStore store = new Int8WeightStore()) {
            ModelConfig config = model.config();
            Device npu = npuBackend.devices().getFirst();
            Device cpu = cpuBackend.devices().getFirst();
            Device gpu = new Steered(openclBackend.devices().getFirst(), true);
            Device cpuWithoutAttention = new Steered(cpu, false);
            CalibrationData calibration = new Calibrator(config, model.weights(), cpu, Calibrator.Options.DEFAULTS)
                    .run(ParagraphChunker.DEFAULT.sequences(text, model.tokenizer(), 4), "stories260K", 0, "eval", ProgressListener.none());
            ForwardPass.NpuPath path = new ForwardPass.NpuPath(new NpuRewrite(config, model.weights(), calibration,
                    QuantConfig.npuPath(QuantMode.SHADOW), store), null);
            int[] all1 = ParagraphChunker.DEFAULT.sequences(text, model.tokenizer(), 1).getFirst();
            int[] prompt = Arrays.copyOf(all1, Math.min(all1.length, 100));
            int[] more = Arrays.copyOfRange(all1, prompt.length, Math.min(all1.length, prompt.length + 40));
            assertTrue(more.length > 20, "the paragraph goes on after the prompt");
            int cacheRows = 256;
            ModelGraphBuilder graphs = Architectures.graphs(config, model.weights());
            DevicePlan three = DevicePlan.of(npu, gpu, cpuWithoutAttention);
            DevicePlan two = DevicePlan.of(npu, cpu);
            DevicePlan cpuOnly = DevicePlan.of(cpu);
            try (KvCache cache3 = new KvCache(config, cacheRows);
                 KvCache cache2 = new KvCache(config, cacheRows);
                 ForwardPass onThree = new ForwardPass(config, graphs, three, new ChunkPlanner(32), cacheRows, path, null);
                 ForwardPass onTwo = new ForwardPass(config, graphs, two, new ChunkPlanner(32), cacheRows, path, null);
                 ForwardPass decoder = new ForwardPass(config, graphs, cpuOnly, new ChunkPlanner(32), cacheRows, null, null)) {
                ForwardPass.Result r3 = onThree.run(ForwardPass.Request.of(cache3, prompt, 0));
                ForwardPass.Result r2 = onTwo.run(ForwardPass.Request.of(cache2, prompt, 0));
                assertTrue(r3.usedNpu() && r2.usedNpu());
                Map<String, Double> busy = r3.trace().busyShares();
                assertEquals(Set.of("npu0", "opencl0", "cpu0"), busy.keySet(), "all three devices ran tasks: " + busy);
                assertEquals(4, r3.dag().chunks());
                assertClose(r2.lastLogits(), r3.lastLogits(), "three devices against two");

                // Decode on the CPU alone into both caches, then prompt again on three and on two devices.
                int position = prompt.length;
                for (int i = 0; i < 5; i++) {
                    decoder.forward(cache3, new int[] {more[i]}, position);
                    decoder.forward(cache2, new int[] {more[i]}, position);
                    position++;
                }
                int[] rest = Arrays.copyOfRange(more, 5, more.length);
                float[] after3 = onThree.forward(cache3, rest, position);
                float[] after2 = onTwo.forward(cache2, rest, position);
                assertClose(after2, after3, "OpenCL saw the rows the CPU decoded into the cache");
            }
        }
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        float scale = 0;
        for (float e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(worst <= 1e-3 * scale, what + ": largest difference " + worst + " of " + scale);
    }

    /**
     * A real device with its estimates steered so that placement gives OpenCL the attention (on PoCL it would
     * otherwise lose everything to the CPU backend) and the CPU the rest: the OpenCL side reports every other
     * op a thousand times dearer, the CPU side refuses attention. Both run their real kernels.
     */
    private record Steered(Device inner, boolean attentionOnly) implements Device {
        @Override
        public String name() {
            return inner.name();
        }

        @Override
        public DeviceKind kind() {
            return inner.kind();
        }

        @Override
        public Set<Capability> capabilities() {
            return inner.capabilities();
        }

        @Override
        public long memoryBytes() {
            return inner.memoryBytes();
        }

        @Override
        public Affinity affinity(Op op) {
            Affinity a = inner.affinity(op);
            boolean attention = op instanceof Op.Attention;
            if (!attentionOnly) {
                return attention ? Affinity.unsupported() : a;
            }
            return attention || !a.isSupported() ? a : new Affinity(a.support(), a.estimatedSeconds() * 1e3);
        }

        @Override
        public CompiledGraph compile(Subgraph graph) {
            return inner.compile(graph);
        }

        @Override
        public StateResidency stateResidency() {
            return inner.stateResidency();
        }

        @Override
        public void stateChanged(Tensor state) {
            inner.stateChanged(state);
        }
    }
}
