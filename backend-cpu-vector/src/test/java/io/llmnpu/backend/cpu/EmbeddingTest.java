package io.llmnpu.backend.cpu;

import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Embedding rows of every table dtype against the independently decoded table. */
class EmbeddingTest {

    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(new BackendOptions(2));
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0"})
    void looksUpDecodedRows(DType dtype) {
        Random rnd = new Random(31 + dtype.ordinal());
        int vocab = 57;
        int dim = dtype.isQuantized() ? 96 : 45;
        int[] tokens = {0, vocab - 1, rnd.nextInt(vocab), rnd.nextInt(vocab), 3, 3};
        try (Arena arena = Arena.ofShared()) {
            EncodedMatrix table = EncodedMatrix.random(arena, dtype, vocab, dim, rnd);
            Map<String, Tensor> t = Map.of(
                    "tokens", TestData.i32(arena, "tokens", tokens),
                    "x", Tensor.allocate(arena, "x", DType.F32, Shape.of(tokens.length, dim)));
            SingleOpGraphs.run(backend, b -> new Op.Embedding(b.input("tokens", DType.I32, Shape.of(tokens.length)),
                    table.tensor(), b.value("x", DType.F32, Shape.of(tokens.length, dim))), t);
            TestData.assertClose(Reference.embedding(table.values(), dim, tokens), TestData.read(t.get("x")),
                    1e-7, dtype + " embedding");
        }
    }
}
