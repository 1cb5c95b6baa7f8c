package io.llmnpu.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.function.Executable;

/** Bad bindings, bad ids and unsupported graphs fail with {@link BackendException}, and leave the graph usable. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BindingErrorsTest {
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

    @Test
    void mismatchedBindingsAreRejected() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor table = WeightCodec.random(arena, "table", DType.F32, 10, 8, new Random(1));
            SubgraphBuilder g = new SubgraphBuilder("embed");
            Value tokens = g.input("tokens", DType.I32, Shape.of(3));
            Value out = g.value("out", DType.F32, Shape.of(3, 8));
            g.add(new Op.Embedding(tokens, table, out));
            g.output(out);
            CompiledGraph compiled = cl.device.compile(g.build());
            try {
                Tensor ids = TestTensors.ints(arena, "tokens", 1, 2, 3);
                Tensor outT = TestTensors.zeros(arena, out);
                expectFailure(() -> compiled.execute(Map.of(tokens, ids)), "no tensor bound");
                expectFailure(() -> compiled.execute(null), "bindings must not be null");
                expectFailure(() -> compiled.execute(Map.of(tokens, ids,
                        out, Tensor.allocate(arena, "out", DType.F32, Shape.of(3, 9)))), "must match");
                expectFailure(() -> compiled.execute(Map.of(tokens, ids,
                        out, Tensor.allocate(arena, "out", DType.F32, Shape.of(24)))), "must match");
                expectFailure(() -> compiled.execute(Map.of(tokens, Tensor.allocate(arena, "t", DType.F32, Shape.of(3)),
                        out, outT)), "must match");
                expectFailure(() -> compiled.execute(Map.of(tokens, TestTensors.ints(arena, "t", 1, 10, 2), out, outT)),
                        "outside the vocabulary");
                expectFailure(() -> compiled.execute(Map.of(tokens, TestTensors.ints(arena, "t", -1, 0, 2), out, outT)),
                        "outside the vocabulary");

                // Still usable after the failures.
                compiled.execute(Map.of(tokens, ids, out, outT));
                float[] row2 = table.data().asSlice(2L * 8 * 4, 8 * 4).toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
                float[] got = outT.data().asSlice(8 * 4, 8 * 4).toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
                assertArrayEquals(row2, got);

                compiled.close();
                expectFailure(() -> compiled.execute(Map.of(tokens, ids, out, outT)), "closed");
            } finally {
                compiled.close(); // a second close is harmless
            }
        }
    }

    @Test
    void positionsBeyondTheCacheAndSharedCachesAreRejected() {
        try (Arena arena = Arena.ofConfined()) {
            SubgraphBuilder g = new SubgraphBuilder("attention");
            Value q = g.input("q", DType.F32, Shape.of(2, 8));
            Value k = g.input("k", DType.F32, Shape.of(2, 8));
            Value v = g.input("v", DType.F32, Shape.of(2, 8));
            Value pos = g.input("positions", DType.I32, Shape.of(2));
            Value kc = g.input("k_cache", DType.F32, Shape.of(4, 8));
            Value vc = g.input("v_cache", DType.F32, Shape.of(4, 8));
            Value out = g.value("out", DType.F32, Shape.of(2, 8));
            g.add(new Op.Attention(q, k, v, pos, kc, vc, 2, 2, 4, out));
            g.output(out);
            Random rnd = new Random(3);
            Map<Value, Tensor> b = new HashMap<>();
            b.put(q, TestTensors.randomF32(arena, "q", Shape.of(2, 8), rnd, 1));
            b.put(k, TestTensors.randomF32(arena, "k", Shape.of(2, 8), rnd, 1));
            b.put(v, TestTensors.randomF32(arena, "v", Shape.of(2, 8), rnd, 1));
            Tensor kct = Tensor.allocate(arena, "kc", DType.F32, Shape.of(4, 8));
            b.put(kc, kct);
            b.put(vc, Tensor.allocate(arena, "vc", DType.F32, Shape.of(4, 8)));
            b.put(out, TestTensors.zeros(arena, out));
            try (CompiledGraph compiled = cl.device.compile(g.build())) {
                b.put(pos, TestTensors.ints(arena, "p", 3, 4));
                expectFailure(() -> compiled.execute(b), "beyond the KV cache");
                b.put(pos, TestTensors.ints(arena, "p", 0, 1));
                Map<Value, Tensor> shared = new HashMap<>(b);
                shared.put(vc, kct);
                expectFailure(() -> compiled.execute(shared), "same memory");
                compiled.execute(b);
            }
        }
    }

    @Test
    void unsupportedGraphsDoNotCompile() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = WeightCodec.random(arena, "w", DType.F32, 4, 8, new Random(1));
            SubgraphBuilder g = new SubgraphBuilder("int8");
            Value x = g.input("x", DType.I8, Shape.of(2, 8));
            Value y = g.value("y", DType.F32, Shape.of(2, 4));
            g.add(new Op.Linear(x, w, y));
            g.output(y);
            expectFailure(() -> cl.device.compile(g.build()), "must be F32");

            SubgraphBuilder wrong = new SubgraphBuilder("wrong-width");
            Value x2 = wrong.input("x", DType.F32, Shape.of(2, 7));
            Value y2 = wrong.value("y", DType.F32, Shape.of(2, 4));
            wrong.add(new Op.Linear(x2, w, y2));
            wrong.output(y2);
            expectFailure(() -> cl.device.compile(wrong.build()), "8 columns");
        }
    }

    private static void expectFailure(Executable call, String fragment) {
        BackendException e = assertThrows(BackendException.class, call);
        assertTrue(e.getMessage().contains(fragment), "message should mention '" + fragment + "': " + e.getMessage());
    }
}
