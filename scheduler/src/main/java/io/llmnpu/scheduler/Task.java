package io.llmnpu.scheduler;

/**
 * One subgraph execution: a piece of a placed graph for one chunk of the prompt.
 *
 * @param id    index in its graph; ids are a topological order (every dependency has a smaller id)
 * @param chunk prompt chunk, from 0
 * @param layer transformer layer the piece belongs to, from 0 (embedding: 0, head: the last layer)
 * @param kind  what it mainly does
 * @param label the piece's name, for tooltips and logs (may be empty)
 */
public record Task(int id, int chunk, int layer, TaskKind kind, String label) {

    public Task {
        if (id < 0 || chunk < 0 || layer < 0) {
            throw new IllegalArgumentException("negative id, chunk or layer in task " + id + "/" + chunk + "/" + layer);
        }
        if (kind == null) {
            throw new IllegalArgumentException("task " + id + " has no kind");
        }
        label = label == null ? "" : label;
    }

    /** For logs, reports and chart tooltips. */
    public String describe() {
        return (label.isEmpty() ? kind.label() : label + " (" + kind.label() + ")") + " chunk " + chunk + " layer " + layer;
    }
}
