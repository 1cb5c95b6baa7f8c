package io.llmnpu.backend.support;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The lifecycle and binding checks fail exactly when they should, with messages that name the graph. */
class GraphChecksTest {

    private static Subgraph graph() {
        SubgraphBuilder b = new SubgraphBuilder("g");
        Value x = b.input("x", DType.F32, Shape.of(1, 4));
        Value y = b.add(new Op.Add(x, x, b.value("y", DType.F32, Shape.of(1, 4)))).out();
        b.output(y);
        return b.build();
    }

    @Test
    void closedGraphsAndBackendsAreRefused() {
        Subgraph g = graph();
        assertDoesNotThrow(() -> GraphLifecycle.requireRunnable(g, false, "cpu", false));
        assertDoesNotThrow(() -> GraphLifecycle.requireCompilable(g, "cpu", false));
        fails(() -> GraphLifecycle.requireRunnable(g, true, "cpu", false), "graph g was closed");
        fails(() -> GraphLifecycle.requireRunnable(g, false, "npu-ref", true), "its npu-ref backend was closed");
        fails(() -> GraphLifecycle.requireCompilable(g, "cpu", true), "cannot compile graph g: the cpu backend is closed");
        fails(() -> GraphLifecycle.requireBindings(g, null), "bindings must not be null");
        Map<Value, Tensor> empty = Map.of();
        assertTrue(GraphLifecycle.requireBindings(g, empty) == empty);
    }

    @Test
    void overlappingTensorsAreRefusedAndDisjointOnesPass() {
        Subgraph g = graph();
        try (Arena arena = Arena.ofConfined()) {
            Tensor a = Tensor.allocate(arena, "a", DType.F32, Shape.of(8));
            Tensor b = Tensor.allocate(arena, "b", DType.F32, Shape.of(8));
            assertDoesNotThrow(() -> BindingCheck.requireDisjoint(g, a, b, "caches"));
            fails(() -> BindingCheck.requireDisjoint(g, a, a, "key and value caches"), "same memory");
        }
    }

    @Test
    void tokenIdsMustIndexTheVocabulary() {
        Subgraph g = graph();
        try (Arena arena = Arena.ofConfined()) {
            Tensor tokens = Tensor.allocate(arena, "t", DType.I32, Shape.of(3));
            for (int i = 0; i < 3; i++) {
                tokens.setInt(i, i * 4);
            }
            assertDoesNotThrow(() -> BindingCheck.requireTokensInVocabulary(g, tokens, 9));
            fails(() -> BindingCheck.requireTokensInVocabulary(g, tokens, 8), "token id 8 at row 2");
            tokens.setInt(0, -1);
            fails(() -> BindingCheck.requireTokensInVocabulary(g, tokens, 100), "token id -1 at row 0");
        }
    }

    private static void fails(Executable call, String fragment) {
        BackendException e = assertThrows(BackendException.class, call);
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }
}
