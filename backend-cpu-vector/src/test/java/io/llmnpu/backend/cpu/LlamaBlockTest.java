package io.llmnpu.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** A whole transformer block as one compiled graph: against the reference, and across thread counts. */
class LlamaBlockTest {

    @Test
    void matchesReferenceChain() {
        var sizes = new LlamaBlockFixture.Sizes(5, 40, 64, 4, 2, 16, 96, 12);
        int[] tokens = {3, 17, 0, 39, 17};
        int[] positions = {0, 1, 2, 3, 4};
        try (Arena arena = Arena.ofShared(); CpuBackend backend = new CpuBackend(new BackendOptions(3))) {
            var block = new LlamaBlockFixture(arena, sizes, new Random(12));
            var got = block.run(backend, tokens, positions);
            var want = block.reference(tokens, positions);
            TestData.assertClose(LlamaBlockFixture.d(want.hidden()), got.hidden(), 1e-4, "block output");
            TestData.assertClose(LlamaBlockFixture.d(want.lastRow()), got.lastRow(), 1e-4, "last row");
            TestData.assertClose(LlamaBlockFixture.d(want.kCache()), got.kCache(), 1e-4, "key cache");
            TestData.assertClose(LlamaBlockFixture.d(want.vCache()), got.vCache(), 1e-4, "value cache");
        }
    }

    /** Each output value is computed by one thread in a fixed order, so the thread count cannot change it. */
    @Test
    void multiThreadedResultEqualsSingleThreaded() {
        var sizes = new LlamaBlockFixture.Sizes(9, 50, 256, 8, 4, 32, 512, 16);
        int[] tokens = {1, 2, 3, 5, 8, 13, 21, 34, 49};
        int[] positions = {0, 1, 2, 3, 4, 5, 6, 7, 8};
        try (Arena arena = Arena.ofShared();
             CpuBackend single = new CpuBackend(new BackendOptions(1));
             CpuBackend multi = new CpuBackend(new BackendOptions(4))) {
            var block = new LlamaBlockFixture(arena, sizes, new Random(34));
            var one = block.run(single, tokens, positions);
            var four = block.run(multi, tokens, positions);
            assertArrayEquals(one.hidden(), four.hidden(), "block output");
            assertArrayEquals(one.kCache(), four.kCache(), "key cache");
            assertArrayEquals(one.vCache(), four.vCache(), "value cache");
            assertArrayEquals(one.lastRow(), four.lastRow(), "last row");
        }
    }

    /** Linear large enough (three million multiply-adds) that every worker surely takes chunks. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0"})
    void largeLinearIsIndependentOfThreadCount(DType dtype) {
        linearOnOneAndFourThreadsAgree(dtype, 6);
    }

    /** The same through the tiled GEMM (prefill rows), whose panels the threads share out differently. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0"})
    void largeGemmIsIndependentOfThreadCount(DType dtype) {
        linearOnOneAndFourThreadsAgree(dtype, 40);
    }

    /** Decode (one row) goes through the multi-row dot products, grouped by where chunks start. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0"})
    void decodeLinearIsIndependentOfThreadCount(DType dtype) {
        linearOnOneAndFourThreadsAgree(dtype, 1);
    }

    private static void linearOnOneAndFourThreadsAgree(DType dtype, int tokens) {
        int k = 512;
        int n = 1000;
        try (Arena arena = Arena.ofShared();
             CpuBackend single = new CpuBackend(new BackendOptions(1));
             CpuBackend multi = new CpuBackend(new BackendOptions(4))) {
            Random rnd = new Random(dtype.ordinal());
            EncodedMatrix w = EncodedMatrix.random(arena, dtype, n, k, rnd);
            SubgraphBuilder b = new SubgraphBuilder("linear");
            Value x = b.input("x", DType.F32, Shape.of(tokens, k));
            Value y = b.add(new Op.Linear(x, w.tensor(), b.value("y", DType.F32, Shape.of(tokens, n)))).out();
            b.output(y);
            Tensor in = TestData.f32(arena, "x", x.shape(), TestData.floats(rnd, tokens * k, 1f));
            float[][] results = new float[2][];
            CpuBackend[] backends = {single, multi};
            for (int i = 0; i < 2; i++) {
                Tensor out = Tensor.allocate(arena, "y", DType.F32, y.shape());
                try (CompiledGraph g = backends[i].devices().getFirst().compile(b.build())) {
                    g.execute(Map.of(x, in, y, out));
                }
                results[i] = TestData.read(out);
            }
            assertArrayEquals(results[0], results[1], dtype + " linear of " + tokens + " rows on 1 and 4 threads");
        }
    }
}
