package io.llmnpu.runtime.engine;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * Runs a compiled {@link HybridGraph}: NPU parts on the NPU driver thread, CPU parts on the calling
 * thread, the two parts of a stage at the same time. Boundary tensors are allocated once; tensors the
 * caller owns (KV caches) are bound per run. One run at a time.
 */
public final class HybridRunner implements AutoCloseable {

    private record Part(String stage, CompiledGraph graph, Map<Value, Tensor> bindings, List<Value> external) {
    }

    private record Step(Part npu, Part cpu) {
    }

    private final HybridGraph graph;
    private final ExecutorService npuThread;
    private final ExecutionTrace trace;
    private final List<Step> steps = new ArrayList<>();
    private final Map<String, Tensor> buffers = new HashMap<>();
    private final List<CompiledGraph> compiled = new ArrayList<>();

    /**
     * Compiles every part on its device.
     *
     * @param external  names of boundary values the caller binds at each run (e.g. KV caches)
     * @param npuThread runs NPU parts; null runs them on the caller, after the CPU part
     * @param trace     receives the intervals of every part; may be null
     */
    public HybridRunner(HybridGraph graph, Device npu, Device cpu, Arena arena, List<String> external,
                        ExecutorService npuThread, ExecutionTrace trace) {
        this.graph = graph;
        this.npuThread = npuThread;
        this.trace = trace;
        try {
            for (Map.Entry<String, Value> e : graph.boundaryValues().entrySet()) {
                if (!external.contains(e.getKey())) {
                    Value v = e.getValue();
                    buffers.put(e.getKey(), Tensor.allocate(arena, v.name(), v.dtype(), v.shape()));
                }
            }
            for (HybridGraph.Stage s : graph.stages()) {
                steps.add(new Step(part(s.name(), s.npu(), npu, external), part(s.name(), s.cpu(), cpu, external)));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private Part part(String stage, Subgraph g, Device device, List<String> external) {
        if (g == null) {
            return null;
        }
        if (device == null) {
            throw new BackendException("hybrid graph " + graph.name() + " has NPU work in stage " + stage
                    + " but no NPU device was given");
        }
        CompiledGraph c = device.compile(g);
        compiled.add(c);
        Map<Value, Tensor> bindings = new HashMap<>();
        List<Value> ext = new ArrayList<>();
        for (Value v : g.inputs()) {
            bind(v, bindings, ext, external);
        }
        for (Value v : g.outputs()) {
            bind(v, bindings, ext, external);
        }
        return new Part(stage, c, bindings, List.copyOf(ext));
    }

    private void bind(Value v, Map<Value, Tensor> bindings, List<Value> ext, List<String> external) {
        if (external.contains(v.name())) {
            ext.add(v);
        } else {
            bindings.put(v, buffers.get(v.name()));
        }
    }

    public HybridGraph graph() {
        return graph;
    }

    /** The runner's own tensor for a boundary value (inputs to fill, outputs to read). */
    public Tensor tensor(String name) {
        Tensor t = buffers.get(name);
        if (t == null) {
            throw new IllegalArgumentException("hybrid graph " + graph.name() + " has no internal value " + name);
        }
        return t;
    }

    /** Runs every stage; {@code external} gives the caller's tensors by name. */
    public void run(Map<String, Tensor> external) {
        for (Step step : steps) {
            Future<?> npuRun = null;
            if (step.npu() != null && npuThread != null) {
                npuRun = npuThread.submit(() -> execute(step.npu(), "npu", external));
            }
            try {
                if (step.cpu() != null) {
                    execute(step.cpu(), "cpu", external);
                }
                if (step.npu() != null && npuThread == null) {
                    execute(step.npu(), "npu", external);
                }
            } finally {
                // Never leave an NPU part running into the next stage, even when the CPU part failed.
                if (npuRun != null) {
                    await(npuRun, step.npu().stage());
                }
            }
        }
    }

    private void execute(Part part, String device, Map<String, Tensor> external) {
        Map<Value, Tensor> bindings = part.bindings();
        if (!part.external().isEmpty()) {
            bindings = new HashMap<>(bindings);
            for (Value v : part.external()) {
                Tensor t = external.get(v.name());
                if (t == null) {
                    throw new IllegalArgumentException("no tensor given for " + v.name());
                }
                bindings.put(v, t);
            }
        }
        long start = System.nanoTime();
        part.graph().execute(bindings);
        if (trace != null) {
            trace.add(new ExecutionTrace.Interval(part.stage(), device, Thread.currentThread().getName(), start,
                    System.nanoTime()));
        }
    }

    private static void await(Future<?> f, String stage) {
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackendException("interrupted waiting for the NPU part of stage " + stage, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new BackendException("NPU part of stage " + stage + " failed: " + e.getCause(), e.getCause());
        }
    }

    @Override
    public void close() {
        compiled.forEach(CompiledGraph::close);
        compiled.clear();
    }
}
