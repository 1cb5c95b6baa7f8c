package io.llmnpu.backend.cpu;

import io.llmnpu.api.graph.Op;
import java.util.List;

/**
 * A second engine for the CPU backend's matrix products: a native GEMM library that reaches
 * instructions the Vector API cannot emit (int8 dot products), while every other op keeps running on
 * the Vector API kernels. The backend offers it each {@link Op.Linear} and {@link Op.QuantizedLinear}
 * that passed its shape checks; an op the engine accepts is priced and run by the engine, the rest as
 * without it. Without an engine the backend runs no QuantizedLinear at all.
 */
public interface MatrixEngine extends AutoCloseable {

    /** An engine that takes nothing: the plain Vector API backend. */
    MatrixEngine NONE = new MatrixEngine() {
        @Override
        public String description() {
            return "Vector API";
        }

        @Override
        public boolean accepts(Op op) {
            return false;
        }

        @Override
        public double seconds(Op op) {
            throw new IllegalArgumentException("no matrix engine: " + op);
        }

        @Override
        public List<MatrixProduct> prepare(List<Op> ops, ParallelLoop loop) {
            throw new IllegalArgumentException("no matrix engine: " + ops);
        }

        @Override
        public void close() {
        }
    };

    /** What runs the accepted products (library, instruction set), for {@code llmnpu backends}. */
    String description();

    /** Whether the engine runs {@code op} (a Linear or QuantizedLinear with valid shapes) at its static shapes. */
    boolean accepts(Op op);

    /** Estimated seconds of one execution of an accepted op on the backend's threads. */
    double seconds(Op op);

    /**
     * Prepares the accepted ops of one graph for execution (e.g. packs their weights) when the graph is
     * compiled: one product per op, in the order given, which is the graph's order. The products are
     * closed with the graph.
     *
     * <p>A graph runs its products in that order on every execution, one execution at a time, so
     * products of ops that read the same value may share work: the first of them, say, quantizes the
     * value once, or multiplies it by all their weights in one product, and the others use the result.
     *
     * @param loop the backend's threads, for the preparation's own work
     */
    List<MatrixProduct> prepare(List<Op> ops, ParallelLoop loop);

    /** Frees what the engine holds; called when the backend closes, after its graphs. */
    @Override
    void close();
}
