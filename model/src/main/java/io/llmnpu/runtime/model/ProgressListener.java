package io.llmnpu.runtime.model;

/** Receives progress of long work (model load, graph compilation), e.g. to draw a progress bar. */
@FunctionalInterface
public interface ProgressListener {

    /**
     * @param stage short description of the current step
     * @param done  units done in this step
     * @param total units in this step (done == total ends the step)
     */
    void progress(String stage, long done, long total);

    static ProgressListener none() {
        return (stage, done, total) -> { };
    }
}
