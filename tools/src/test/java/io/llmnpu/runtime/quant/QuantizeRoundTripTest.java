package io.llmnpu.runtime.quant;

import io.llmnpu.api.tensor.Dequantizer;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.engine.InferenceSession;
import io.llmnpu.runtime.model.SharedModels;
import io.llmnpu.runtime.model.gguf.GgmlType;
import io.llmnpu.runtime.model.gguf.GgufFile;
import io.llmnpu.runtime.model.gguf.GgufTensorInfo;
import io.llmnpu.runtime.model.gguf.TinyLlamaGguf;
import io.llmnpu.runtime.synth.ModelShapes;
import io.llmnpu.runtime.synth.SyntheticModels;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuantizeRoundTripTest {
    @TempDir
    Path dir;

    @Test
    void f32ToQ8_0KeepsMetadataEncodesLikeGgmlAndStaysCloseToF32() throws IOException {
        Path f32 = SyntheticModels.write(dir, "f32.gguf", SyntheticModels.smallGqa(), QuantRecipe.F32, 13);
        Path q8 = dir.resolve("q8.gguf");
        AtomicLong lastDone = new AtomicLong(-1);
        AtomicLong total = new AtomicLong();
        GgufQuantizer.Report report = new GgufQuantizer(QuantRecipe.Q8_0, 2).convert(f32, q8, (stage, done, all) -> {
            assertTrue(done >= lastDone.get(), "progress only moves forward");
            lastDone.set(done);
            total.set(all);
        });
        assertEquals(1 + 7 * 2 + 1, report.converted(), "embedding, 7 matrices per layer, LM head");
        assertEquals(List.of(), report.kept());
        assertEquals(2 * 2 + 1, report.vectors(), "norms");
        assertEquals(total.get(), lastDone.get(), "progress reaches the total");
        assertTrue(report.outputBytes() < report.inputBytes() / 3);

        try (Arena arena = Arena.ofConfined()) {
            GgufFile in = GgufFile.open(f32, arena);
            GgufFile out = GgufFile.open(q8, arena);
            for (GgufTensorInfo info : in.tensorInfos()) {
                byte[] before = in.tensor(info.name()).data().toArray(ValueLayout.JAVA_BYTE);
                GgufTensorInfo converted = out.tensorInfo(info.name()).orElseThrow();
                assertEquals(info.shape(), converted.shape());
                byte[] after = out.tensor(info.name()).data().toArray(ValueLayout.JAVA_BYTE);
                if (info.shape().rank() == 1) {
                    assertEquals(GgmlType.F32, converted.type(), info.name());
                    assertArrayEquals(before, after, info.name() + " is copied unchanged");
                } else {
                    assertEquals(GgmlType.Q8_0, converted.type(), info.name());
                    assertArrayEquals(BlockQuantizer.quantizeQ8_0(in.tensor(info.name()).toFloatArray()), after, info.name());
                }
            }
            Map<String, Object> expected = new LinkedHashMap<>(in.metadata());
            expected.put("general.file_type", 7L);
            expected.put("general.quantization_version", 2L);
            assertEquals(expected, out.metadata());
            assertEquals(List.copyOf(expected.keySet()), List.copyOf(out.metadata().keySet()), "key order is kept");
        }
        Map<String, String> typesBefore = GgufMetadataScan.types(f32);
        Map<String, String> typesAfter = GgufMetadataScan.types(q8);
        typesBefore.put("general.quantization_version", "4");
        assertEquals(typesBefore, typesAfter, "stored value types (e.g. uint32 stays uint32) are kept");

        // The quantized model runs, and its logits stay close to the F32 model's. Q8_0 stores each weight
        // with at most half a step of absmax/127 of its block: about 0.8% relative RMS error per weight
        // for these values; through the layers the logits move by 1.3-1.9% (measured with different
        // seeds), so 3% is a safe bound. The logits of random weights are nearly flat, so the argmax may flip where the top
        // two are close; most positions must still agree.
        Agreement q8Agreement = compareLogits(f32, q8);
        assertTrue(q8Agreement.relativeRms() < 0.03, "Q8_0 relative RMS difference " + q8Agreement.relativeRms());
        assertTrue(q8Agreement.top1() >= 0.85, "Q8_0 argmax agreement " + q8Agreement.top1());

        // The measure can tell a coarser format apart: Q4_0 (16 levels per block) is many times further
        // off (34% measured), yet still a working model rather than noise (which would be ~140%).
        Path q4 = dir.resolve("q4.gguf");
        new GgufQuantizer(QuantRecipe.Q4_0, 2).convert(f32, q4, ProgressListener.none());
        Agreement q4Agreement = compareLogits(f32, q4);
        assertTrue(q4Agreement.relativeRms() > 5 * q8Agreement.relativeRms() && q4Agreement.relativeRms() < 0.7,
                "Q4_0 relative RMS difference " + q4Agreement.relativeRms() + " vs Q8_0 " + q8Agreement.relativeRms());
    }

    @Test
    void matricesThatAreNotWholeBlocksAreKeptAndReported() throws IOException {
        Path f32 = SyntheticModels.write(dir, "stories-f32.gguf", ModelShapes.byName("stories260k"), QuantRecipe.F32, 4);
        Path q4 = dir.resolve("stories-q4.gguf");
        GgufQuantizer.Report report = new GgufQuantizer(QuantRecipe.Q4_0, 1).convert(f32, q4, ProgressListener.none());
        assertEquals(5, report.kept().size(), "ffn_down of each of the 5 layers has rows of 172 values");
        for (GgufQuantizer.Kept k : report.kept()) {
            assertTrue(k.name().endsWith("ffn_down.weight"), k.name());
            assertEquals(GgmlType.F32, k.type());
            assertTrue(k.reason().contains("172"), k.reason());
        }
        assertEquals(1 + 6 * 5 + 1, report.converted());
        try (LlmRuntime llm = LlmRuntime.open(RuntimeOptions.of(q4).withThreads(2))) {
            assertEquals(DType.Q4_0, llm.model().weights().layers().getFirst().wq().dtype());
            assertEquals(DType.F32, llm.model().weights().layers().getFirst().wDown().dtype());
            try (InferenceSession s = llm.openSession()) {
                float[] logits = s.feed(1, 300, 301, 302);
                for (float v : logits) {
                    assertTrue(Float.isFinite(v));
                }
            }
        }
    }

    /** The real stories260K model keeps its greedy choices under Q8_0 almost everywhere. */
    @Test
    void realModelQuantizesAndStaysClose() throws IOException {
        Path real = SharedModels.file("stories260K.gguf");
        Path q8 = dir.resolve("stories260K-q8_0.gguf");
        GgufQuantizer.Report report = new GgufQuantizer(QuantRecipe.Q8_0, 2).convert(real, q8, ProgressListener.none());
        assertEquals(5, report.kept().size());
        Agreement a = compareLogits(real, q8);
        assertTrue(a.relativeRms() < 0.03, "relative RMS difference " + a.relativeRms());
        assertTrue(a.top1() >= 0.95, "argmax agreement " + a.top1());
    }

    /** A file of mixed types (Q8_0 embedding, F16 attention, Q4_0 FFN, F32 norms) converts to one type. */
    @Test
    void mixedTypesConvertAndTensorsAlreadyInTheTargetTypeAreKept() throws IOException {
        Path mixed = TinyLlamaGguf.write(dir.resolve("mixed.gguf"), "llama");
        Path q8 = dir.resolve("mixed-q8.gguf");
        GgufQuantizer.Report report = new GgufQuantizer(QuantRecipe.Q8_0, 2).convert(mixed, q8, ProgressListener.none());
        assertEquals(List.of("token_embd.weight"), report.kept().stream().map(GgufQuantizer.Kept::name).toList());
        assertEquals("already Q8_0", report.kept().getFirst().reason());
        assertEquals(7 * 2, report.converted());
        try (Arena arena = Arena.ofConfined()) {
            GgufFile in = GgufFile.open(mixed, arena);
            GgufFile out = GgufFile.open(q8, arena);
            for (GgufTensorInfo info : in.tensorInfos()) {
                var before = in.tensor(info.name());
                var after = out.tensor(info.name());
                float[] values = Dequantizer.dequantize(before.dtype(), before.data(), (int) info.shape().elements());
                byte[] expected = info.shape().rank() == 1 || info.type() == GgmlType.Q8_0
                        ? before.data().toArray(ValueLayout.JAVA_BYTE) : BlockQuantizer.quantizeQ8_0(values);
                assertArrayEquals(expected, after.data().toArray(ValueLayout.JAVA_BYTE), info.name());
            }
            assertEquals(7, out.getInt("general.file_type"), "added when the input has none");
        }
        try (LlmRuntime llm = LlmRuntime.open(RuntimeOptions.of(q8).withThreads(1));
             InferenceSession s = llm.openSession()) {
            assertEquals(64, s.feed(1, 5, 6).length);
        }
    }

    @Test
    void q8_0ToF32Dequantizes() throws IOException {
        Path q8 = SyntheticModels.write(dir, "q8.gguf", SyntheticModels.smallGqa(), QuantRecipe.Q8_0, 8);
        Path f32 = dir.resolve("back.gguf");
        new GgufQuantizer(QuantRecipe.F32, 2).convert(q8, f32, ProgressListener.none());
        try (Arena arena = Arena.ofConfined()) {
            GgufFile in = GgufFile.open(q8, arena);
            GgufFile out = GgufFile.open(f32, arena);
            assertEquals(0, out.getInt("general.file_type"));
            for (GgufTensorInfo info : in.tensorInfos()) {
                var t = in.tensor(info.name());
                float[] expected = Dequantizer.dequantize(t.dtype(), t.data(), (int) info.shape().elements());
                assertArrayEquals(expected, out.tensor(info.name()).toFloatArray(), info.name());
            }
        }
    }

    @Test
    void refusesToOverwriteItsInput() throws IOException {
        Path f32 = SyntheticModels.write(dir, "same.gguf", SyntheticModels.smallGqa(), QuantRecipe.F32, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new GgufQuantizer(QuantRecipe.Q8_0, 1).convert(f32, f32, ProgressListener.none()));
        assertTrue(e.getMessage().contains("input"), e.getMessage());
    }

    /** How close a candidate model's logits are to a reference's: worst relative RMS and argmax agreement. */
    private record Agreement(double relativeRms, double top1) {
    }

    /**
     * Feeds the same tokens (BOS, then random ids) to both models and compares each position's
     * logits: the worst RMS of the difference relative to the RMS of the reference logits, and the
     * fraction of positions whose argmax agrees.
     */
    private static Agreement compareLogits(Path reference, Path candidate) {
        try (LlmRuntime a = LlmRuntime.open(RuntimeOptions.of(reference).withThreads(2).withContextLength(256));
             LlmRuntime b = LlmRuntime.open(RuntimeOptions.of(candidate).withThreads(2).withContextLength(256));
             InferenceSession sa = a.openSession();
             InferenceSession sb = b.openSession()) {
            Random random = new Random(5);
            int agree = 0;
            int positions = 64;
            double worst = 0;
            for (int pos = 0; pos < positions; pos++) {
                int token = pos == 0 ? 1 : 3 + random.nextInt(a.model().config().vocabSize() - 3);
                float[] x = sa.feed(token);
                float[] y = sb.feed(token);
                double diff = 0;
                double norm = 0;
                for (int i = 0; i < x.length; i++) {
                    diff += (x[i] - y[i]) * (double) (x[i] - y[i]);
                    norm += x[i] * (double) x[i];
                }
                worst = Math.max(worst, Math.sqrt(diff / norm));
                agree += argmax(x) == argmax(y) ? 1 : 0;
            }
            assertTrue(worst > 0, "a quantized model cannot match exactly; the comparison is vacuous");
            return new Agreement(worst, agree / (double) positions);
        }
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }
}
