package io.llmnpu.backend.opencl;

import static org.jocl.CL.*;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.Bindings;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.backend.support.BindingCheck;
import io.llmnpu.backend.support.GraphLifecycle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_mem;

/**
 * A subgraph compiled for one OpenCL device. An execution checks the bindings, uploads the inputs,
 * binds the device copies of the KV caches, runs the launches in order, downloads the outputs and
 * writes the cache rows it changed back to the host tensors, so the host copy is current when
 * {@link #execute} returns.
 */
final class OpenClCompiledGraph implements CompiledGraph {
    private final OpenClDevice device;
    private final Subgraph graph;
    private final GraphCompiler.Compiled compiled;
    private boolean closed;

    OpenClCompiledGraph(OpenClDevice device, Subgraph graph, GraphCompiler.Compiled compiled) {
        this.device = device;
        this.graph = graph;
        this.compiled = compiled;
    }

    @Override
    public Subgraph graph() {
        return graph;
    }

    /** Bytes of device scratch (inputs, outputs, intermediates) this graph holds. */
    long scratchBytes() {
        return compiled.scratchBytes();
    }

    @Override
    public void execute(Map<Value, Tensor> bindings) {
        device.exclusive(() -> {
            GraphLifecycle.requireOpen(graph, closed);
            run(bind(bindings));
        });
    }

    /** The tensor of every graph input and output, checked against its value and the host-side rules. */
    private Map<Integer, Tensor> bind(Map<Value, Tensor> bindings) {
        GraphLifecycle.requireBindings(graph, bindings);
        Map<Integer, Tensor> bound = new LinkedHashMap<>();
        for (Value v : graph.inputs()) {
            bound.put(v.id(), Bindings.require(graph, bindings, v, compiled.stateIds().contains(v.id())));
        }
        for (Value v : graph.outputs()) {
            bound.put(v.id(), Bindings.require(graph, bindings, v, true));
        }
        for (GraphCompiler.CacheUse use : compiled.caches()) {
            BindingCheck.requireDisjoint(graph, bound.get(use.kCache()), bound.get(use.vCache()),
                    "key and value caches");
        }
        for (GraphCompiler.TokenRange range : compiled.tokenRanges()) {
            Tensor tokens = bound.get(range.tokens());
            if (tokens != null) {
                BindingCheck.requireTokensInVocabulary(graph, tokens, range.vocab());
            }
        }
        return bound;
    }

    /** Rows of a cache an execution writes: the non-padding positions, or null if not known on the host. */
    private TreeSet<Integer> writtenRows(GraphCompiler.CacheUse use, Map<Integer, Tensor> bound) {
        Tensor positions = bound.get(use.positions());
        if (positions == null) {
            return null;
        }
        TreeSet<Integer> rows = new TreeSet<>();
        for (long i = 0; i < positions.shape().elements(); i++) {
            int p = positions.getInt(i);
            if (p >= use.contextRows()) {
                throw new BackendException("graph " + graph.name() + ": position " + p + " at row " + i
                        + " is beyond the KV cache of " + use.contextRows() + " rows");
            }
            if (p >= 0) {
                rows.add(p);
            }
        }
        return rows;
    }

    private void run(Map<Integer, Tensor> bound) {
        cl_command_queue queue = device.queue();
        Map<GraphCompiler.CacheUse, TreeSet<Integer>> written = new HashMap<>();
        for (GraphCompiler.CacheUse use : compiled.caches()) {
            written.put(use, writtenRows(use, bound));
        }
        ResidentStateStore states = device.states();
        Map<Integer, cl_mem> stateMem = new HashMap<>();
        try {
            for (GraphCompiler.CacheUse use : compiled.caches()) {
                for (int id : new int[] {use.kCache(), use.vCache()}) {
                    if (stateMem.containsKey(id)) {
                        continue;
                    }
                    Tensor host = bound.get(id);
                    ResidentStateStore.Resident resident = states.resolve(host);
                    stateMem.put(id, resident.mem());
                    if (!resident.fresh() && device.options().stateResidency() == OpenClOptions.StateResidency.UPLOAD_EACH_EXECUTE) {
                        long rows = readableRows(id, bound, written);
                        states.upload(host, resident.mem(), 0, rows * use.rowBytes());
                    }
                }
            }
            for (GraphCompiler.StateArg arg : compiled.stateArgs()) {
                ClCall.check(clSetKernelArg(arg.kernel(), arg.index(), Sizeof.cl_mem, Pointer.to(stateMem.get(arg.valueId()))),
                        "clSetKernelArg");
            }
            for (Value in : graph.inputs()) {
                if (!compiled.stateIds().contains(in.id())) {
                    Tensor t = bound.get(in.id());
                    ClMemory.upload(queue, t.data(), compiled.buffers().get(in.id()), 0, t.byteSize());
                }
            }
            for (Step step : compiled.steps()) {
                enqueue(queue, step, stateMem);
            }
            for (Value out : graph.outputs()) {
                Tensor t = bound.get(out.id());
                ClMemory.download(queue, buffer(out.id(), stateMem), 0, t.data(), t.byteSize());
            }
            writeBack(bound, written, stateMem);
            ClCall.check(clFinish(queue), "clFinish");
        } catch (RuntimeException e) {
            // The device copies may now hold rows the host never received: drop them so the next
            // execution starts again from the host tensors.
            for (int id : stateMem.keySet()) {
                states.forget(bound.get(id));
            }
            throw e instanceof BackendException b ? b
                    : new BackendException("graph " + graph.name() + " failed on " + device.name() + ": " + e, e);
        }
    }

    /** Rows 0..max(position) of every attention op using cache {@code id}: all an execution can read. */
    private long readableRows(int id, Map<Integer, Tensor> bound, Map<GraphCompiler.CacheUse, TreeSet<Integer>> written) {
        long rows = 0;
        for (GraphCompiler.CacheUse use : compiled.caches()) {
            if (use.kCache() == id || use.vCache() == id) {
                TreeSet<Integer> w = written.get(use);
                rows = Math.max(rows, w == null ? use.contextRows() : (w.isEmpty() ? 0 : w.last() + 1L));
            }
        }
        return rows;
    }

    private void writeBack(Map<Integer, Tensor> bound, Map<GraphCompiler.CacheUse, TreeSet<Integer>> written,
                           Map<Integer, cl_mem> stateMem) {
        cl_command_queue queue = device.queue();
        for (GraphCompiler.CacheUse use : compiled.caches()) {
            TreeSet<Integer> rows = written.get(use);
            for (int id : new int[] {use.kCache(), use.vCache()}) {
                Tensor host = bound.get(id);
                cl_mem mem = stateMem.get(id);
                if (rows == null) {
                    ClMemory.download(queue, mem, 0, host.data(), host.byteSize());
                    continue;
                }
                for (int[] run : runs(rows)) {
                    long offset = run[0] * use.rowBytes();
                    long bytes = (long) run[1] * use.rowBytes();
                    ClMemory.download(queue, mem, offset, host.data().asSlice(offset, bytes), bytes);
                }
            }
        }
    }

    /** Consecutive rows merged into [start, count] runs, so a prefill chunk travels as one copy. */
    private static List<int[]> runs(TreeSet<Integer> rows) {
        List<int[]> runs = new ArrayList<>();
        int start = -1;
        int count = 0;
        for (int r : rows) {
            if (count > 0 && r == start + count) {
                count++;
            } else {
                if (count > 0) {
                    runs.add(new int[] {start, count});
                }
                start = r;
                count = 1;
            }
        }
        if (count > 0) {
            runs.add(new int[] {start, count});
        }
        return runs;
    }

    private void enqueue(cl_command_queue queue, Step step, Map<Integer, cl_mem> stateMem) {
        switch (step) {
            case Step.Launch l -> ClCall.check(clEnqueueNDRangeKernel(queue, l.kernel(), l.global().length, null,
                    l.global(), l.local(), 0, null, null), "launch of " + l.name());
            case Step.Copy c -> ClCall.check(clEnqueueCopyBuffer(queue, buffer(c.srcValue(), stateMem),
                    buffer(c.dstValue(), stateMem), c.srcOffset(), c.dstOffset(), c.bytes(), 0, null, null),
                    "clEnqueueCopyBuffer");
        }
    }

    private cl_mem buffer(int valueId, Map<Integer, cl_mem> stateMem) {
        cl_mem mem = stateMem.get(valueId);
        return mem != null ? mem : compiled.buffers().get(valueId);
    }

    @Override
    public void close() {
        device.exclusive(() -> {
            if (!closed) {
                closed = true;
                compiled.resources().release();
                device.forgetGraph(this);
            }
        });
    }

    /** Releases without going through the device (the device is closing and holds its lock). */
    void releaseOnDeviceClose() {
        if (!closed) {
            closed = true;
            compiled.resources().release();
        }
    }
}
