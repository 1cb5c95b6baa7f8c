package io.llmnpu.backend.cpu.onednn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.ResidentMemory;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.tck.MappedTensors;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Weights memory-mapped from a file, as models are, become packed int8 codes when a prompt graph
 * compiles; from then on the codes serve every prompt, so the file's pages must leave the resident set.
 * Prompts with outlier channels read those channels' weight columns from the file (exact float products);
 * that must not leave the pages resident either. Checked page by page through {@link ResidentMemory}.
 */
class MappedWeightResidencyTest {

    private static final int TOKENS = 32;
    private static final int K = 1024;
    private static final int N = 256;
    private static final int[] OUTLIER_CHANNELS = {5, 300, 301, 900};

    @TempDir
    Path dir;

    @Test
    void packedCodesReleaseTheFilePagesAndOutlierColumnsDoNotKeepThem() throws IOException {
        Random random = new Random(11);
        try (Arena arena = Arena.ofShared(); Backend backend = NativeBackends.open(NativeSettings.configured())) {
            float[] values = new float[N * K];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (random.nextGaussian() * 0.02);
            }
            Tensor weight = MappedTensors.mapped(BlockWeights.encode(arena, DType.Q8_0, values, N, K),
                    dir.resolve("weights.bin"), arena);
            weight.data().load();
            OptionalLong loaded = ResidentMemory.bytes(weight.data());
            Assumptions.assumeTrue(loaded.isPresent(), "this platform does not report resident pages");
            assertTrue(loaded.getAsLong() >= weight.byteSize(), "loaded: " + loaded.getAsLong() + " bytes resident");
            double[][] exact = BlockWeights.decode(weight);
            weight.data().load(); // decoding the reference read the file

            SubgraphBuilder b = new SubgraphBuilder("prompt-linear");
            Value x = b.input("x", DType.F32, Shape.of(TOKENS, K));
            Value y = b.value("y", DType.F32, Shape.of(TOKENS, N));
            b.add(new Op.Linear(x, weight, y));
            b.output(y);
            Tensor input = Tensor.allocate(arena, "x", DType.F32, Shape.of(TOKENS, K));
            double[][] in = new double[TOKENS][K];
            for (int t = 0; t < TOKENS; t++) {
                for (int c = 0; c < K; c++) {
                    in[t][c] = random.nextGaussian();
                }
                for (int c : OUTLIER_CHANNELS) {
                    in[t][c] *= 60;
                }
                for (int c = 0; c < K; c++) {
                    input.data().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (long) t * K + c, (float) in[t][c]);
                }
            }
            Tensor out = Tensor.allocate(arena, "y", DType.F32, y.shape());
            try (CompiledGraph g = backend.devices().getFirst().compile(b.build())) {
                assertEquals(0, ResidentMemory.bytes(weight.data()).orElseThrow(),
                        "the file's pages of weights packed as int8 codes stay resident");
                g.execute(Map.of(x, input, y, out));
                assertEquals(0, ResidentMemory.bytes(weight.data()).orElseThrow(),
                        "reading the outlier channels' columns left the file's pages resident");
            }
            float[] got = out.toFloatArray();
            for (int t = 0; t < TOKENS; t++) {
                double magnitude = 0;
                double[] expected = new double[N];
                for (int r = 0; r < N; r++) {
                    for (int c = 0; c < K; c++) {
                        expected[r] += exact[r][c] * in[t][c];
                        magnitude += Math.abs(exact[r][c] * in[t][c]) / N;
                    }
                }
                for (int r = 0; r < N; r++) {
                    double error = Math.abs(got[t * N + r] - expected[r]);
                    assertTrue(error < 2.5e-2 * magnitude, "token " + t + " row " + r + ": " + got[t * N + r]
                            + " against " + expected[r] + " (terms' mean magnitude " + magnitude + ")");
                }
            }
        }
    }
}
