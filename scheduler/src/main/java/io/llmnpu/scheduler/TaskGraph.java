package io.llmnpu.scheduler;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * An immutable DAG of tasks. Task ids are {@code 0..size-1} and form a
 * topological order (every edge goes from a smaller id to a larger one), so "program order" and a
 * valid execution order are the same thing and cycles cannot be built.
 */
public final class TaskGraph {
    private final List<Task> tasks;
    private final int[][] predecessors;
    private final int[][] successors;

    private TaskGraph(List<Task> tasks, int[][] predecessors, int[][] successors) {
        this.tasks = tasks;
        this.predecessors = predecessors;
        this.successors = successors;
    }

    public static Builder builder() {
        return new Builder();
    }

    public int size() {
        return tasks.size();
    }

    public Task task(int id) {
        return tasks.get(id);
    }

    public List<Task> tasks() {
        return tasks;
    }

    /** Ids of the tasks {@code id} waits for, ascending. The array is a copy. */
    public int[] predecessors(int id) {
        return predecessors[id].clone();
    }

    /** Ids of the tasks that wait for {@code id}, ascending. The array is a copy. */
    public int[] successors(int id) {
        return successors[id].clone();
    }

    public int predecessorCount(int id) {
        return predecessors[id].length;
    }

    /** Whether {@code later} waits directly for {@code earlier}. */
    public boolean dependsOn(int later, int earlier) {
        return Arrays.binarySearch(predecessors[later], earlier) >= 0;
    }

    // Package-private views without copying, for the simulator and bound computations.
    int[] predecessorsView(int id) {
        return predecessors[id];
    }

    int[] successorsView(int id) {
        return successors[id];
    }

    public int edgeCount() {
        int edges = 0;
        for (int[] p : predecessors) {
            edges += p.length;
        }
        return edges;
    }

    /** Collects tasks and edges; {@link #build()} checks them. */
    public static final class Builder {
        private final List<Task> tasks = new ArrayList<>();
        private final List<Set<Integer>> predecessors = new ArrayList<>();

        private Builder() {
        }

        /** Adds a task with the next id and returns that id. */
        public int add(int chunk, int layer, TaskKind kind) {
            return add(chunk, layer, kind, "");
        }

        /** Adds a named task with the next id and returns that id. */
        public int add(int chunk, int layer, TaskKind kind, String label) {
            int id = tasks.size();
            tasks.add(new Task(id, chunk, layer, kind, label));
            predecessors.add(new LinkedHashSet<>());
            return id;
        }

        /** Makes {@code later} wait for {@code earlier}; duplicate edges are ignored. */
        public Builder dependency(int earlier, int later) {
            if (later >= tasks.size() || earlier < 0) {
                throw new IllegalArgumentException("edge " + earlier + " -> " + later + " names an unknown task");
            }
            if (earlier >= later) {
                throw new IllegalArgumentException("edge " + earlier + " -> " + later
                        + " goes backwards: add tasks in an order where dependencies come first");
            }
            predecessors.get(later).add(earlier);
            return this;
        }

        public int size() {
            return tasks.size();
        }

        public TaskGraph build() {
            int n = tasks.size();
            int[][] preds = new int[n][];
            int[] succCount = new int[n];
            for (int i = 0; i < n; i++) {
                preds[i] = predecessors.get(i).stream().mapToInt(Integer::intValue).sorted().toArray();
                for (int p : preds[i]) {
                    succCount[p]++;
                }
            }
            int[][] succs = new int[n][];
            for (int i = 0; i < n; i++) {
                succs[i] = new int[succCount[i]];
            }
            int[] fill = new int[n];
            for (int i = 0; i < n; i++) {     // ascending i keeps each successor list sorted
                for (int p : preds[i]) {
                    succs[p][fill[p]++] = i;
                }
            }
            return new TaskGraph(List.copyOf(tasks), preds, succs);
        }
    }
}
