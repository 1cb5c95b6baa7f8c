package io.llmnpu.backend.cpu;

/** A piece of kernel work over the index range [from, to). */
@FunctionalInterface
public interface RangeTask {
    void run(int from, int to);
}
