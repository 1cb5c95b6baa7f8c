package io.llmnpu.backend.support;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.tensor.Tensor;

/**
 * Binding rules beyond each value's own dtype and shape (those are
 * {@link io.llmnpu.api.backend.Bindings}): tensors a graph writes in place, such as the key and value
 * caches, must not share memory, or one write would silently overwrite the other; token ids must index
 * the embedding table.
 */
public final class BindingCheck {
    private BindingCheck() {
    }

    /**
     * @param what the two bound values as the message names them, e.g. "key and value caches"
     * @throws BackendException if the bytes of {@code a} and {@code b} overlap
     */
    public static void requireDisjoint(Subgraph graph, Tensor a, Tensor b, String what) {
        if (a.data().asSlice(0, a.byteSize()).asOverlappingSlice(b.data().asSlice(0, b.byteSize())).isPresent()) {
            throw new BackendException("graph " + graph.name() + ": " + what + " are bound to overlapping memory; "
                    + "each needs memory of its own, not the same memory twice");
        }
    }

    /**
     * @param vocab rows of the embedding table the ids index
     * @throws BackendException naming the first id outside {@code [0, vocab)}; a device would read past
     *         its table rather than fail
     */
    public static void requireTokensInVocabulary(Subgraph graph, Tensor tokens, int vocab) {
        for (long i = 0; i < tokens.shape().elements(); i++) {
            int id = tokens.getInt(i);
            if (id < 0 || id >= vocab) {
                throw new BackendException("graph " + graph.name() + ": token id " + id + " at row " + i
                        + " is outside the vocabulary of " + vocab);
            }
        }
    }
}
