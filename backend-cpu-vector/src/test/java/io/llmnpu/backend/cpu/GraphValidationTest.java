package io.llmnpu.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Inconsistent graphs fail at compile time and bad bindings or data at execution, with clear messages. */
class GraphValidationTest {

    private static CpuBackend backend;
    private static Device device;
    private Arena arena;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(new BackendOptions(2));
        device = backend.devices().getFirst();
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    @BeforeEach
    void openArena() {
        arena = Arena.ofShared();
    }

    @AfterEach
    void closeArena() {
        arena.close();
    }

    private static void assertFails(Executable e, String... fragments) {
        BackendException ex = assertThrows(BackendException.class, e);
        for (String f : fragments) {
            assertTrue(ex.getMessage().contains(f), "message '" + ex.getMessage() + "' should mention '" + f + "'");
        }
    }

    private Tensor weight(DType dtype, int rows, int cols) {
        return Tensor.allocate(arena, "w", dtype, Shape.of(rows, cols));
    }

    // ---- compile time -------------------------------------------------------------------------------

    @Test
    void linearWidthMismatchNamesOpAndValue() {
        SubgraphBuilder b = new SubgraphBuilder("g");
        Value x = b.input("x", DType.F32, Shape.of(2, 10));
        Value y = b.add(new Op.Linear(x, weight(DType.F32, 4, 12), b.value("y", DType.F32, Shape.of(2, 4)))).out();
        b.output(y);
        assertFails(() -> device.compile(b.build()), "graph g", "Linear", "%0:x", "10 columns", "expects 12");
    }

    @Test
    void linearOutputShapeMismatch() {
        SubgraphBuilder b = new SubgraphBuilder("g");
        Value x = b.input("x", DType.F32, Shape.of(2, 12));
        b.output(b.add(new Op.Linear(x, weight(DType.F32, 4, 12), b.value("y", DType.F32, Shape.of(3, 4)))).out());
        assertFails(() -> device.compile(b.build()), "Linear", "y", "must be [2, 4]");
    }

    @Test
    void unreadableWeightDtypeIsUnsupported() {
        SubgraphBuilder b = new SubgraphBuilder("g");
        Value x = b.input("x", DType.F32, Shape.of(1, 8));
        Op op = b.add(new Op.Linear(x, weight(DType.I8, 4, 8), b.value("y", DType.F32, Shape.of(1, 4))));
        b.output(op.outputs().getFirst());
        assertEquals(Affinity.Support.UNSUPPORTED, device.affinity(op).support());
        assertFails(() -> device.compile(b.build()), "cannot read weights of dtype I8");
    }

    @Test
    void heapWeightsOtherThanBytesAreRejected() {
        Tensor w = new Tensor("w", DType.F32, Shape.of(2, 4), MemorySegment.ofArray(new float[8]));
        SubgraphBuilder b = new SubgraphBuilder("g");
        Value x = b.input("x", DType.F32, Shape.of(1, 4));
        b.output(b.add(new Op.Linear(x, w, b.value("y", DType.F32, Shape.of(1, 2)))).out());
        assertFails(() -> device.compile(b.build()), "float[]", "off-heap");
    }

    @Test
    void ropeNeedsEvenRotaryDims() {
        SubgraphBuilder b = new SubgraphBuilder("g");
        Value x = b.input("x", DType.F32, Shape.of(2, 16));
        Value pos = b.input("pos", DType.I32, Shape.of(2));
        b.output(b.add(new Op.Rope(x, pos, 8, 5, 10000f, RopeStyle.NEOX, b.value("y", DType.F32, x.shape()))).out());
        assertFails(() -> device.compile(b.build()), "Rope", "rotaryDims", "5");
    }

    @Test
    void ropePositionsMustBeI32PerRow() {
        SubgraphBuilder b = new SubgraphBuilder("g");
        Value x = b.input("x", DType.F32, Shape.of(2, 16));
        Value pos = b.input("pos", DType.I32, Shape.of(3));
        b.output(b.add(new Op.Rope(x, pos, 8, 8, 10000f, RopeStyle.NEOX, b.value("y", DType.F32, x.shape()))).out());
        assertFails(() -> device.compile(b.build()), "positions", "%1:pos", "one position per row");
    }

    @Test
    void attentionHeadsMustBeMultipleOfKvHeads() {
        SubgraphBuilder b = new SubgraphBuilder("g");
        Value q = b.input("q", DType.F32, Shape.of(1, 24));
        Value k = b.input("k", DType.F32, Shape.of(1, 16));
        Value v = b.input("v", DType.F32, Shape.of(1, 16));
        Value pos = b.input("pos", DType.I32, Shape.of(1));
        Value kc = b.input("kc", DType.F32, Shape.of(4, 16));
        Value vc = b.input("vc", DType.F32, Shape.of(4, 16));
        b.output(b.add(new Op.Attention(q, k, v, pos, kc, vc, 3, 2, 8, b.value("o", DType.F32, q.shape()))).out());
        assertFails(() -> device.compile(b.build()), "Attention", "kvHeads");
    }

    @Test
    void attentionCacheWidthMustMatch() {
        SubgraphBuilder b = new SubgraphBuilder("g");
        Value q = b.input("q", DType.F32, Shape.of(1, 32));
        Value k = b.input("k", DType.F32, Shape.of(1, 16));
        Value v = b.input("v", DType.F32, Shape.of(1, 16));
        Value pos = b.input("pos", DType.I32, Shape.of(1));
        Value kc = b.input("kc", DType.F32, Shape.of(4, 32));
        Value vc = b.input("vc", DType.F32, Shape.of(4, 32));
        b.output(b.add(new Op.Attention(q, k, v, pos, kc, vc, 4, 2, 8, b.value("o", DType.F32, q.shape()))).out());
        assertFails(() -> device.compile(b.build()), "key cache", "kc", "[contextLength, 16]");
    }

    @Test
    void elementwiseShapesMustAgree() {
        SubgraphBuilder b = new SubgraphBuilder("g");
        Value a = b.input("a", DType.F32, Shape.of(2, 8));
        Value c = b.input("c", DType.F32, Shape.of(2, 9));
        b.output(b.add(new Op.Add(a, c, b.value("o", DType.F32, a.shape()))).out());
        assertFails(() -> device.compile(b.build()), "Add", "%1:c", "shape of %0:a");
    }

    @Test
    void selectRowOutsideInput() {
        SubgraphBuilder b = new SubgraphBuilder("g");
        Value a = b.input("a", DType.F32, Shape.of(3, 8));
        b.output(b.add(new Op.SelectRow(a, 3, b.value("o", DType.F32, Shape.of(1, 8)))).out());
        assertFails(() -> device.compile(b.build()), "SelectRow", "row 3", "3 rows");
    }

    // ---- execution time -----------------------------------------------------------------------------

    /** x [2, 4] -> Linear -> y [2, 3]: a graph to bind things to. */
    private record LinearGraph(Subgraph graph, Value x, Value y) {
    }

    private LinearGraph linearGraph() {
        SubgraphBuilder b = new SubgraphBuilder("lin");
        Value x = b.input("x", DType.F32, Shape.of(2, 4));
        Value y = b.add(new Op.Linear(x, weight(DType.F32, 3, 4), b.value("y", DType.F32, Shape.of(2, 3)))).out();
        b.output(y);
        return new LinearGraph(b.build(), x, y);
    }

    @Test
    void missingBinding() {
        LinearGraph g = linearGraph();
        try (CompiledGraph c = device.compile(g.graph())) {
            Tensor x = Tensor.allocate(arena, "x", DType.F32, Shape.of(2, 4));
            assertFails(() -> c.execute(Map.of(g.x(), x)), "graph lin", "no tensor bound for output", "%1:y");
        }
    }

    @Test
    void bindingWithWrongShapeOrDtype() {
        LinearGraph g = linearGraph();
        try (CompiledGraph c = device.compile(g.graph())) {
            Tensor y = Tensor.allocate(arena, "y", DType.F32, Shape.of(2, 3));
            Tensor wrongShape = Tensor.allocate(arena, "xs", DType.F32, Shape.of(4, 2));
            assertFails(() -> c.execute(Map.of(g.x(), wrongShape, g.y(), y)), "input", "%0:x", "xs:F32[4, 2]");
            Tensor wrongType = Tensor.allocate(arena, "xt", DType.I32, Shape.of(2, 4));
            assertFails(() -> c.execute(Map.of(g.x(), wrongType, g.y(), y)), "input", "%0:x", "xt:I32[2, 4]");
        }
    }

    @Test
    void readOnlyOutput() {
        LinearGraph g = linearGraph();
        try (CompiledGraph c = device.compile(g.graph())) {
            Tensor x = Tensor.allocate(arena, "x", DType.F32, Shape.of(2, 4));
            Tensor y = Tensor.allocate(arena, "y", DType.F32, Shape.of(2, 3));
            Tensor readOnly = new Tensor("y", DType.F32, y.shape(), y.data().asReadOnly());
            assertFails(() -> c.execute(Map.of(g.x(), x, g.y(), readOnly)), "output", "read-only");
        }
    }

    @Test
    void unknownTokenIds() {
        SubgraphBuilder b = new SubgraphBuilder("emb");
        Value ids = b.input("ids", DType.I32, Shape.of(3));
        Value x = b.add(new Op.Embedding(ids, weight(DType.F32, 10, 4), b.value("x", DType.F32, Shape.of(3, 4))))
                .out();
        b.output(x);
        try (CompiledGraph c = device.compile(b.build())) {
            Tensor out = Tensor.allocate(arena, "x", DType.F32, x.shape());
            assertFails(() -> c.execute(Map.of(ids, TestData.i32(arena, "ids", 1, 10, 2), x, out)),
                    "Embedding", "token id 10", "row 1", "10 tokens");
            assertFails(() -> c.execute(Map.of(ids, TestData.i32(arena, "ids", -3, 0, 0), x, out)),
                    "token id -3");
        }
    }

    @Test
    void positionBeyondTheCacheLeavesItUntouched() {
        SubgraphBuilder b = new SubgraphBuilder("att");
        Value q = b.input("q", DType.F32, Shape.of(2, 8));
        Value k = b.input("k", DType.F32, Shape.of(2, 8));
        Value v = b.input("v", DType.F32, Shape.of(2, 8));
        Value pos = b.input("pos", DType.I32, Shape.of(2));
        Value kc = b.input("kc", DType.F32, Shape.of(4, 8));
        Value vc = b.input("vc", DType.F32, Shape.of(4, 8));
        Value o = b.add(new Op.Attention(q, k, v, pos, kc, vc, 1, 1, 8, b.value("o", DType.F32, q.shape()))).out();
        b.output(o);
        Random rnd = new Random(1);
        try (CompiledGraph c = device.compile(b.build())) {
            Tensor kCache = Tensor.allocate(arena, "kc", DType.F32, kc.shape());
            Map<Value, Tensor> bind = new HashMap<>();
            bind.put(q, TestData.f32(arena, "q", q.shape(), TestData.floats(rnd, 16, 1)));
            bind.put(k, TestData.f32(arena, "k", k.shape(), TestData.floats(rnd, 16, 1)));
            bind.put(v, TestData.f32(arena, "v", v.shape(), TestData.floats(rnd, 16, 1)));
            bind.put(pos, TestData.i32(arena, "pos", 3, 4));
            bind.put(kc, kCache);
            bind.put(vc, Tensor.allocate(arena, "vc", DType.F32, vc.shape()));
            bind.put(o, Tensor.allocate(arena, "o", DType.F32, o.shape()));
            assertFails(() -> c.execute(bind), "Attention", "position 4", "4 positions");
            assertArrayEquals(new float[32], TestData.read(kCache), "the valid row must not have been written either");
        }
    }

    @Test
    void closedGraphAndClosedBackend() {
        LinearGraph g = linearGraph();
        Tensor x = Tensor.allocate(arena, "x", DType.F32, Shape.of(2, 4));
        Tensor y = Tensor.allocate(arena, "y", DType.F32, Shape.of(2, 3));
        CompiledGraph c = device.compile(g.graph());
        c.close();
        assertFails(() -> c.execute(Map.of(g.x(), x, g.y(), y)), "closed");

        CpuBackend other = new CpuBackend(new BackendOptions(2));
        CompiledGraph open = other.devices().getFirst().compile(g.graph());
        other.close();
        assertFails(() -> open.execute(Map.of(g.x(), x, g.y(), y)), "closed");
        assertFails(() -> other.devices().getFirst().compile(g.graph()), "closed");
    }

    /** Tensors in a confined arena cannot be shared with workers; the graph still runs, on the caller. */
    @Test
    void confinedBindingsRunOnTheCallingThread() {
        Random rnd = new Random(2);
        EncodedMatrix w = EncodedMatrix.random(arena, DType.Q8_0, 300, 64, rnd);
        SubgraphBuilder b = new SubgraphBuilder("confined");
        Value x = b.input("x", DType.F32, Shape.of(3, 64));
        Value y = b.add(new Op.Linear(x, w.tensor(), b.value("y", DType.F32, Shape.of(3, 300)))).out();
        b.output(y);
        float[] input = TestData.floats(rnd, 3 * 64, 1);
        try (Arena confined = Arena.ofConfined(); CompiledGraph c = device.compile(b.build())) {
            Tensor out = Tensor.allocate(confined, "y", DType.F32, y.shape());
            c.execute(Map.of(x, TestData.f32(confined, "x", x.shape(), input), y, out));
            TestData.assertClose(Reference.linear(w.values(), 300, 64, input, 3), TestData.read(out), 1e-4,
                    "linear on confined tensors");
        }
    }
}
