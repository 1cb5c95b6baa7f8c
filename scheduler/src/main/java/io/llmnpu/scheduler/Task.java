package io.llmnpu.scheduler;

/**
 * One subgraph execution of prefill: a kind of subgraph for one chunk and one layer.
 *
 * @param id    index in its graph; ids are a topological order (every dependency has a smaller id)
 * @param chunk prompt chunk, from 0
 * @param layer transformer layer, from 0 ({@link TaskKind#LOGITS} carries the last layer)
 * @param kind  which subgraph
 */
public record Task(int id, int chunk, int layer, TaskKind kind) {

    public Task {
        if (id < 0 || chunk < 0 || layer < 0) {
            throw new IllegalArgumentException("negative id, chunk or layer in task " + id + "/" + chunk + "/" + layer);
        }
        if (kind == null) {
            throw new IllegalArgumentException("task " + id + " has no kind");
        }
    }

    /** For logs, reports and chart tooltips. */
    public String describe() {
        return kind.label() + " chunk " + chunk + " layer " + layer;
    }
}
