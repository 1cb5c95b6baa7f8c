package io.llmnpu.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.BackendOptions;
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
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A weight memory-mapped from a file, as models are, is rearranged for the decode kernels when a graph
 * compiles; from then on the copy serves every product, so the file's pages must leave the process's
 * resident set (the weight would otherwise be resident twice), and running the graph must not bring
 * them back. Checked page by page through {@link ResidentMemory}; skipped where the platform does not
 * report residency.
 */
class MappedWeightResidencyTest {

    private static final int ROWS = 256;
    private static final int COLS = 1024;

    @TempDir
    Path dir;

    @Test
    void decodeCopyReleasesTheFilePagesAndRunsFromTheCopy() throws IOException {
        Assumptions.assumeTrue(InterleavedRows.supports(DType.Q8_0, ROWS, COLS),
                "this CPU's vectors do not take the interleaved layout, so no weight is copied");
        try (Arena arena = Arena.ofShared(); CpuBackend backend = new CpuBackend(new BackendOptions(2))) {
            EncodedMatrix m = EncodedMatrix.random(arena, DType.Q8_0, ROWS, COLS, new Random(7));
            Tensor weight = MappedTensors.mapped(m.tensor(), dir.resolve("weights.bin"), arena);
            weight.data().load();
            long size = weight.byteSize();
            OptionalLong before = ResidentMemory.bytes(weight.data());
            Assumptions.assumeTrue(before.isPresent(), "this platform does not report resident pages");
            assertTrue(before.getAsLong() >= size, "loaded: " + before.getAsLong() + " of " + size + " bytes resident");

            SubgraphBuilder b = new SubgraphBuilder("decode-linear");
            Value x = b.input("x", DType.F32, Shape.of(1, COLS));
            Value y = b.value("y", DType.F32, Shape.of(1, ROWS));
            b.add(new Op.Linear(x, weight, y));
            b.output(y);
            float[] in = TestData.floats(new Random(8), COLS, 1f);
            Tensor xt = TestData.f32(arena, "x", x.shape(), in);
            Tensor yt = Tensor.allocate(arena, "y", DType.F32, y.shape());
            try (CompiledGraph g = backend.devices().getFirst().compile(b.build())) {
                assertEquals(0, ResidentMemory.bytes(weight.data()).orElseThrow(),
                        "the file's pages of a weight copied for decode stay resident");
                g.execute(Map.of(x, xt, y, yt));
                assertEquals(0, ResidentMemory.bytes(weight.data()).orElseThrow(),
                        "running the graph read the weight from the file again");
            }
            double[] expected = new double[ROWS];
            for (int r = 0; r < ROWS; r++) {
                for (int c = 0; c < COLS; c++) {
                    expected[r] += m.values()[r * COLS + c] * in[c];
                }
            }
            TestData.assertClose(expected, TestData.read(yt), 1e-4, "Q8_0 decode product from the copy");
        }
    }

    /**
     * Weights read straight from the file on every run leave no pages behind: a norm's scales are copied
     * when the graph compiles, and an embedding table gives back what each lookup mapped (a fault maps
     * the folio around a row, so enough lookups would otherwise make a whole vocabulary resident).
     */
    @Test
    void normScalesAndLookedUpRowsLeaveNoFilePagesResident() throws IOException {
        int vocab = 4096;
        try (Arena arena = Arena.ofShared(); CpuBackend backend = new CpuBackend(new BackendOptions(2))) {
            EncodedMatrix table = EncodedMatrix.random(arena, DType.Q8_0, vocab, COLS, new Random(9));
            Tensor mappedTable = MappedTensors.mapped(table.tensor(), dir.resolve("table.bin"), arena);
            float[] scales = TestData.floats(new Random(10), COLS, 1f);
            Tensor norm = MappedTensors.mapped(TestData.f32(arena, "norm", Shape.of(COLS), scales),
                    dir.resolve("norm.bin"), arena);
            mappedTable.data().load();
            norm.data().load();
            Assumptions.assumeTrue(ResidentMemory.bytes(norm.data()).isPresent(),
                    "this platform does not report resident pages");

            SubgraphBuilder b = new SubgraphBuilder("embed-norm");
            Value ids = b.input("ids", DType.I32, Shape.of(3));
            Value e = b.value("e", DType.F32, Shape.of(3, COLS));
            Value y = b.value("y", DType.F32, Shape.of(3, COLS));
            b.add(new Op.Embedding(ids, mappedTable, e));
            b.add(new Op.RmsNorm(e, norm, 1e-5f, y));
            b.output(y);
            int[] tokens = {5, vocab / 2, vocab - 1};
            Tensor idt = TestData.i32(arena, "ids", tokens);
            Tensor yt = Tensor.allocate(arena, "y", DType.F32, y.shape());
            try (CompiledGraph g = backend.devices().getFirst().compile(b.build())) {
                assertEquals(0, ResidentMemory.bytes(norm.data()).orElseThrow(), "the norm's scales were copied");
                g.execute(Map.of(ids, idt, y, yt));
                assertEquals(0, ResidentMemory.bytes(norm.data()).orElseThrow(), "running read the file's scales");
                assertEquals(0, ResidentMemory.bytes(mappedTable.data()).orElseThrow(),
                        "looked-up rows left the table's pages resident");
            }
            float[] out = TestData.read(yt);
            for (int t = 0; t < tokens.length; t++) {
                double sum = 0;
                for (int c = 0; c < COLS; c++) {
                    double v = table.values()[tokens[t] * COLS + c];
                    sum += v * v;
                }
                double inv = 1 / Math.sqrt(sum / COLS + 1e-5);
                double[] expected = new double[COLS];
                float[] actual = new float[COLS];
                for (int c = 0; c < COLS; c++) {
                    expected[c] = table.values()[tokens[t] * COLS + c] * inv * scales[c];
                    actual[c] = out[t * COLS + c];
                }
                TestData.assertClose(expected, actual, 1e-4, "row " + t + " looked up and normalized");
            }
        }
    }
}
