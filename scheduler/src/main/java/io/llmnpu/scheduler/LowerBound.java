package io.llmnpu.scheduler;

/**
 * A makespan no schedule of a graph can beat (under the placement its cost table encodes).
 *
 * @param loadSeconds         the fractional placement bound: the least T such that the work can be
 *                            split among the devices, even splitting single tasks, with no device
 *                            over T (see {@link LowerBounds#fractionalLoad})
 * @param criticalPathSeconds the longest dependency chain, each task at its fastest allowed device
 */
public record LowerBound(double loadSeconds, double criticalPathSeconds) {

    public double seconds() {
        return Math.max(loadSeconds, criticalPathSeconds);
    }
}
