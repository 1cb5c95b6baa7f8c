package io.llmnpu.backend.opencl;

import static io.llmnpu.backend.opencl.TestTensors.assertCloseToRowScale;
import static io.llmnpu.backend.opencl.TestTensors.rows;

import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A transformer block run three ways over the same tokens: one prefill of all rows, token by token
 * (T = 1 at positions 0, 1, 2, ...), and in padded chunks followed by decode steps. All must agree
 * with each other and with the double-precision block, outputs and KV caches alike.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DecodeMatchesPrefillTest {
    private static final int TOKENS = 7;
    private static final int CONTEXT = 12;

    private OpenClTestDevice cl;

    @BeforeAll
    void open() {
        cl = OpenClTestDevice.open();
    }

    @AfterAll
    void close() {
        if (cl != null) {
            cl.close();
        }
    }

    @ParameterizedTest
    @EnumSource(RopeStyle.class)
    void prefillDecodeAndChunksAgree(RopeStyle style) {
        Random rnd = new Random(42 + style.ordinal());
        try (Arena arena = Arena.ofConfined()) {
            TinyBlock block = new TinyBlock(arena, rnd, style);
            Tensor x = TestTensors.randomF32(arena, "x", Shape.of(TOKENS, TinyBlock.DIM), rnd, 1);
            Shape cacheShape = Shape.of(CONTEXT, TinyBlock.KV_DIM);

            double[][] refK = new double[CONTEXT][TinyBlock.KV_DIM];
            double[][] refV = new double[CONTEXT][TinyBlock.KV_DIM];
            int[] allPositions = new int[TOKENS];
            for (int i = 0; i < TOKENS; i++) {
                allPositions[i] = i;
            }
            double[][] expected = block.reference(rows(x), allPositions, refK, refV);

            // One prefill of all rows (GEMM path).
            Tensor kPrefill = Tensor.allocate(arena, "k", DType.F32, cacheShape);
            Tensor vPrefill = Tensor.allocate(arena, "v", DType.F32, cacheShape);
            Tensor outPrefill = Tensor.allocate(arena, "out", DType.F32, Shape.of(TOKENS, TinyBlock.DIM));
            TinyBlock.Graph prefill = block.graph(TOKENS, CONTEXT);
            try (CompiledGraph g = cl.device.compile(prefill.graph())) {
                g.execute(prefill.bind(x, TestTensors.ints(arena, "p", allPositions), kPrefill, vPrefill, outPrefill));
            }
            assertCloseToRowScale(expected, rows(outPrefill), 2e-5, style + " prefill vs reference");
            assertCloseToRowScale(refK, rows(kPrefill), 2e-5, "prefill key cache");
            assertCloseToRowScale(refV, rows(vPrefill), 2e-5, "prefill value cache");

            // Token by token (GEMV path), one compiled graph, caches resident between steps.
            Tensor kDecode = Tensor.allocate(arena, "k", DType.F32, cacheShape);
            Tensor vDecode = Tensor.allocate(arena, "v", DType.F32, cacheShape);
            double[][] decoded = new double[TOKENS][];
            TinyBlock.Graph step = block.graph(1, CONTEXT);
            try (CompiledGraph g = cl.device.compile(step.graph())) {
                Tensor xRow = Tensor.allocate(arena, "x", DType.F32, Shape.of(1, TinyBlock.DIM));
                Tensor outRow = Tensor.allocate(arena, "out", DType.F32, Shape.of(1, TinyBlock.DIM));
                Tensor pos = Tensor.allocate(arena, "p", DType.I32, Shape.of(1));
                for (int i = 0; i < TOKENS; i++) {
                    copyRow(x, i, xRow, 0);
                    pos.setInt(0, i);
                    g.execute(step.bind(xRow, pos, kDecode, vDecode, outRow));
                    decoded[i] = rows(outRow)[0];
                }
            }
            assertCloseToRowScale(rows(outPrefill), decoded, 2e-5, style + " decode vs prefill");
            assertCloseToRowScale(rows(kPrefill), rows(kDecode), 2e-5, "decode key cache");
            assertCloseToRowScale(rows(vPrefill), rows(vDecode), 2e-5, "decode value cache");

            // A chunk of 4 (GEMM), a padded chunk of 4 holding 2 tokens, then decode steps: three graphs
            // of two sizes sharing one resident cache.
            Tensor kChunk = Tensor.allocate(arena, "k", DType.F32, cacheShape);
            Tensor vChunk = Tensor.allocate(arena, "v", DType.F32, cacheShape);
            double[][] chunked = new double[TOKENS][];
            TinyBlock.Graph chunk = block.graph(4, CONTEXT);
            try (CompiledGraph g4 = cl.device.compile(chunk.graph()); CompiledGraph g1 = cl.device.compile(step.graph())) {
                Tensor xChunk = Tensor.allocate(arena, "x", DType.F32, Shape.of(4, TinyBlock.DIM));
                Tensor outChunk = Tensor.allocate(arena, "out", DType.F32, Shape.of(4, TinyBlock.DIM));
                int[][] plan = {{0, 1, 2, 3}, {4, 5, -1, -1}};
                for (int[] positions : plan) {
                    for (int r = 0; r < 4; r++) {
                        copyRow(x, Math.max(positions[r], 0), xChunk, r);
                    }
                    g4.execute(chunk.bind(xChunk, TestTensors.ints(arena, "p", positions), kChunk, vChunk, outChunk));
                    double[][] out = rows(outChunk);
                    for (int r = 0; r < 4; r++) {
                        if (positions[r] >= 0) {
                            chunked[positions[r]] = out[r];
                        }
                    }
                }
                Tensor xRow = Tensor.allocate(arena, "x", DType.F32, Shape.of(1, TinyBlock.DIM));
                Tensor outRow = Tensor.allocate(arena, "out", DType.F32, Shape.of(1, TinyBlock.DIM));
                copyRow(x, 6, xRow, 0);
                g1.execute(step.bind(xRow, TestTensors.ints(arena, "p", 6), kChunk, vChunk, outRow));
                chunked[6] = rows(outRow)[0];
            }
            assertCloseToRowScale(rows(outPrefill), chunked, 2e-5, style + " chunks + decode vs prefill");
            assertCloseToRowScale(rows(kPrefill), rows(kChunk), 2e-5, "chunked key cache");
            assertCloseToRowScale(rows(vPrefill), rows(vChunk), 2e-5, "chunked value cache");
        }
    }

    private static void copyRow(Tensor from, int fromRow, Tensor to, int toRow) {
        long rowBytes = (long) from.shape().cols() * Float.BYTES;
        MemorySegment.copy(from.data(), fromRow * rowBytes, to.data(), toRow * rowBytes, rowBytes);
    }
}
