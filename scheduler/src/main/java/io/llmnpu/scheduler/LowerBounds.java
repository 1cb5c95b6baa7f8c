package io.llmnpu.scheduler;

import java.util.Arrays;

/**
 * Lower bounds on the makespan of any schedule of a graph under a cost table.
 *
 * <p><b>Load bound.</b> With device d taking a fraction x(t,d) of task t (sum over d = 1, allowed
 * pairs only), every device's load sum_t x(t,d) p(t,d) must fit in the makespan; the least such T
 * over all fractional placements is a lower bound: the fractional relaxation of "max per-device
 * work under the best placement", which every schedule, whatever its placement, respects. It is
 * computed through its dual, which is a bound by itself for any weights: for every point w of the
 * simplex over devices,
 * <pre>
 *   T >= f(w) = sum over tasks of  min over allowed devices d of  w_d p(t,d)
 * </pre>
 * (add the devices' load constraints with weights w: each task contributes at least its cheapest
 * weighted time). At a corner w = e_d this is the work only device d may do. The bound reported is
 * max f(w) over the simplex: exact for one or two devices (the maximum of a concave piecewise-linear
 * function of one variable lies at a breakpoint), and for more devices the best point found by
 * projected supergradient ascent started from every corner and the centre, so it may fall a little
 * short of the optimum but is never above it.
 *
 * <p><b>Critical path.</b> The longest chain of dependencies, each task at its fastest allowed device.
 */
public final class LowerBounds {
    private static final int ASCENT_STEPS = 4000;
    /** Steps without progress after which an ascent stops: the step size has shrunk past use. */
    private static final int PATIENCE = 400;

    private LowerBounds() {
    }

    public static LowerBound of(TaskGraph graph, CostTable costs) {
        return new LowerBound(fractionalLoad(costs), criticalPath(graph, costs));
    }

    /** Length of the longest dependency chain at fastest allowed times. */
    public static double criticalPath(TaskGraph graph, CostTable costs) {
        double longest = 0;
        for (double v : pathToSink(graph, costs)) {
            longest = Math.max(longest, v);
        }
        return longest;
    }

    /** For each task, its fastest time plus the longest chain of successors after it. */
    static double[] pathToSink(TaskGraph graph, CostTable costs) {
        int n = graph.size();
        double[] rank = new double[n];
        for (int t = n - 1; t >= 0; t--) {     // ids are topological: successors have larger ids
            double after = 0;
            for (int s : graph.successorsView(t)) {
                after = Math.max(after, rank[s]);
            }
            rank[t] = costs.minSeconds(t) + after;
        }
        return rank;
    }

    /** The fractional placement bound described in the class comment. */
    public static double fractionalLoad(CostTable costs) {
        int m = costs.deviceCount();
        if (costs.taskCount() == 0) {
            return 0;
        }
        if (m == 1) {
            return dual(costs, new double[] {1});
        }
        if (m == 2) {
            return twoDeviceExact(costs);
        }
        return supergradientAscent(costs);
    }

    /** f(w) of the class comment. */
    static double dual(CostTable costs, double[] w) {
        double sum = 0;
        for (int t = 0; t < costs.taskCount(); t++) {
            double min = Double.POSITIVE_INFINITY;
            for (int d = 0; d < w.length; d++) {
                if (costs.allowed(t, d)) {
                    min = Math.min(min, w[d] * costs.seconds(t, d));
                }
            }
            sum += min;
        }
        return sum;
    }

    private static double twoDeviceExact(CostTable costs) {
        double best = Math.max(dual(costs, new double[] {1, 0}), dual(costs, new double[] {0, 1}));
        for (int t = 0; t < costs.taskCount(); t++) {
            if (costs.allowed(t, 0) && costs.allowed(t, 1)) {
                double p0 = costs.seconds(t, 0);
                double p1 = costs.seconds(t, 1);
                if (p0 + p1 > 0) {
                    double a = p1 / (p0 + p1);         // where a*p0 = (1-a)*p1
                    best = Math.max(best, dual(costs, new double[] {a, 1 - a}));
                }
            }
        }
        return best;
    }

    private static double supergradientAscent(CostTable costs) {
        int m = costs.deviceCount();
        double best = 0;
        for (int start = 0; start <= m; start++) {
            double[] w = new double[m];
            if (start < m) {
                w[start] = 1;
            } else {
                Arrays.fill(w, 1.0 / m);
            }
            best = Math.max(best, ascend(costs, w));
        }
        return best;
    }

    private static double ascend(CostTable costs, double[] w) {
        int m = w.length;
        double best = dual(costs, w);
        int lastGain = 0;
        double[] g = new double[m];
        for (int k = 1; k <= ASCENT_STEPS; k++) {
            Arrays.fill(g, 0);
            for (int t = 0; t < costs.taskCount(); t++) {      // supergradient: each task's arg-min device
                int arg = -1;
                double min = Double.POSITIVE_INFINITY;
                for (int d = 0; d < m; d++) {
                    if (costs.allowed(t, d) && w[d] * costs.seconds(t, d) < min) {
                        min = w[d] * costs.seconds(t, d);
                        arg = d;
                    }
                }
                g[arg] += costs.seconds(t, arg);
            }
            double mean = 0;
            for (double v : g) {
                mean += v / m;
            }
            double norm = 0;
            for (int d = 0; d < m; d++) {                          // move within the simplex plane
                g[d] -= mean;
                norm += g[d] * g[d];
            }
            if (norm == 0) {
                break;
            }
            double step = 0.5 / Math.sqrt(k) / Math.sqrt(norm);
            for (int d = 0; d < m; d++) {
                w[d] += step * g[d];
            }
            projectOntoSimplex(w);
            double value = dual(costs, w);
            if (value > best * (1 + 1e-12)) {
                best = value;
                lastGain = k;
            } else if (k - lastGain > PATIENCE) {
                break;
            }
        }
        return best;
    }

    /** Euclidean projection onto {w >= 0, sum w = 1} (sort-based). */
    static void projectOntoSimplex(double[] w) {
        double[] sorted = w.clone();
        Arrays.sort(sorted);
        double cumulative = 0;
        double theta = 0;
        for (int i = sorted.length - 1; i >= 0; i--) {
            cumulative += sorted[i];
            double candidate = (cumulative - 1) / (sorted.length - i);
            if (i == 0 || candidate >= sorted[i - 1]) {
                theta = candidate;
                break;
            }
        }
        for (int d = 0; d < w.length; d++) {
            w[d] = Math.max(0, w[d] - theta);
        }
    }
}
