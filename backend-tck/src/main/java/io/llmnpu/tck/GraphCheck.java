package io.llmnpu.tck;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.opentest4j.AssertionFailedError;

/** Compiles and runs graphs on a device and checks them against {@link ReferenceGraph}. */
final class GraphCheck {

    /** The bindings of one execution and what the reference computed for it. */
    record Outcome(Map<Value, Tensor> bindings, ReferenceGraph.Result expected) {
        Tensor tensor(Value v) {
            return bindings.get(v);
        }
    }

    private GraphCheck() {
    }

    /**
     * The ops of {@code graph} that {@code device} reports UNSUPPORTED. Fails when the device answers
     * with null, throws, or gives a supported op an estimate the scheduler cannot compare (negative,
     * NaN or infinite).
     */
    static List<Op> unsupportedOps(Device device, Subgraph graph) {
        List<Op> unsupported = new ArrayList<>();
        for (Op op : graph.ops()) {
            Affinity a;
            try {
                a = device.affinity(op);
            } catch (RuntimeException e) {
                throw new AssertionFailedError(device.name() + ".affinity(" + opName(op)
                        + ") threw instead of answering; an op the device cannot run is Affinity.unsupported()", e);
            }
            if (a == null) {
                throw new AssertionFailedError(device.name() + ".affinity(" + opName(op) + ") returned null");
            }
            if (!a.isSupported()) {
                unsupported.add(op);
            } else if (!(a.estimatedSeconds() >= 0) || Double.isInfinite(a.estimatedSeconds())) {
                throw new AssertionFailedError(device.name() + " reports " + opName(op) + " " + a.support()
                        + " with estimate " + a.estimatedSeconds() + " s; a supported op needs a finite, non-negative"
                        + " estimate for the scheduler to compare devices by");
            }
        }
        return unsupported;
    }

    static String opNames(List<Op> ops) {
        Set<String> names = new LinkedHashSet<>();
        ops.forEach(op -> names.add(opName(op)));
        return String.join(", ", names);
    }

    static String opName(Op op) {
        return op.getClass().getSimpleName();
    }

    /** Compiles a graph whose ops the device reports supported; a refusal then is a failure. */
    static CompiledGraph compile(String context, Device device, Subgraph graph) {
        try {
            CompiledGraph compiled = device.compile(graph);
            if (compiled == null) {
                throw new AssertionFailedError(context + ": compile returned null");
            }
            return compiled;
        } catch (RuntimeException e) {
            throw new AssertionFailedError(context + ": " + device.name() + " reports every op of graph '"
                    + graph.name() + "' supported, but compile threw " + e, e);
        }
    }

    /** Compiles, runs once and checks {@code graph}, then closes what it compiled. */
    static Outcome runAndVerify(String context, Device device, Subgraph graph, Map<Value, Tensor> inputs,
                                RandomTensors data, Tolerances.Bound bound) {
        try (CompiledGraph compiled = compile(context, device, graph)) {
            return executeAndVerify(context, compiled, inputs, Map.of(), data, bound);
        }
    }

    /**
     * Runs {@code compiled} once on {@code inputs} (outputs pre-filled with NaN, so an element the
     * backend never writes fails) and checks every output, and every KV cache the graph updates, against
     * the reference. {@code referenceState} lets the reference continue from its own earlier state of
     * the caches rather than from the backend's.
     */
    static Outcome executeAndVerify(String context, CompiledGraph compiled, Map<Value, Tensor> inputs,
                                    Map<Value, double[]> referenceState, RandomTensors data, Tolerances.Bound bound) {
        Subgraph graph = compiled.graph();
        ReferenceGraph.Result expected = ReferenceGraph.run(graph, inputs, referenceState);
        Map<Value, float[]> cachesBefore = new HashMap<>();
        for (Value cache : updatedCaches(graph)) {
            cachesBefore.put(cache, inputs.get(cache).toFloatArray());
        }
        Map<Value, Tensor> bindings = new HashMap<>(inputs);
        for (Value out : graph.outputs()) {
            bindings.put(out, data.filled(out.name(), out.dtype(), out.shape(), Float.NaN));
        }
        try {
            compiled.execute(bindings);
        } catch (RuntimeException e) {
            throw new AssertionFailedError(context + ": execute with correct bindings threw " + e, e);
        }
        for (Value out : graph.outputs()) {
            ResultCheck.matches(context, out, bindings.get(out), expected.get(out), expected.rowScale(out), bound);
        }
        for (Map.Entry<Value, float[]> cache : cachesBefore.entrySet()) {
            Value v = cache.getKey();
            ResultCheck.cacheMatches(context, v, bindings.get(v), cache.getValue(), expected.get(v),
                    expected.writtenRows().get(v), bound);
        }
        return new Outcome(bindings, expected);
    }

    /** The graph inputs that Attention ops update in place. */
    static Set<Value> updatedCaches(Subgraph graph) {
        Set<Value> caches = new LinkedHashSet<>();
        for (Op op : graph.ops()) {
            if (op instanceof Op.Attention a) {
                caches.add(a.kCache());
                caches.add(a.vCache());
            }
        }
        return caches;
    }
}
