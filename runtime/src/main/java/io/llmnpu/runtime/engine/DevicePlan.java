package io.llmnpu.runtime.engine;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.Capability;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.Tensor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The devices a model's graphs run on, best first, with the graphs compiled on each; the fallback
 * chain of the engine.
 *
 * <p>Each {@link #execute} runs one whole subgraph (a prefill chunk, a decode step, the LM head) on
 * the first device of the chain, compiling it there on first use. If that device fails (throws a
 * {@link BackendException}, or anything at all once its backend has been unplugged), the failure is
 * logged once, the device leaves the chain, and the same subgraph re-runs on the next device. A retry
 * is safe because every tensor a graph reads or writes is host memory bound by the caller: a re-run
 * reads the same inputs and rewrites the same outputs and KV cache rows. The last device is never
 * dropped for a failure: its error goes to the caller.
 *
 * <p>Order: the backend the user named first; then by affinity, the lowest estimated time for the
 * model's graphs first, except that CPUs come last (the CPU runs everything, so it is the fallback of
 * last resort), and among CPUs the one working on host memory directly first. A device must support every op of the graphs, and run each natively unless its
 * backend was named: a device that would only emulate some op (say float ops on an integer NPU) is
 * slower at whole graphs than the CPU and is left to per-subgraph placement.
 *
 * <p>With a live {@link BackendRegistry} the chain follows the registry: a provider plugged in while
 * the runtime serves gets its backend started and its devices ranked in before the next step; an
 * unplugged one is closed as soon as the step running on it (if any) returns, before the unplug
 * completes, and later steps run on the next device.
 */
public final class DevicePlan implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DevicePlan.class);

    /** How long an unplug waits for the step running on the leaving device before it gives up waiting. */
    static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(30);

    private final BackendRegistry registry;
    private final String preferred;
    private final BackendOptions options;
    private final List<Subgraph> workload;
    private final ReentrantLock lock = new ReentrantLock();
    /** Ranked chain; replaced whole under {@link #lock}, read without it. */
    private volatile List<Slot> slots = List.of();
    /** Backends this plan started, by provider; guarded by {@link #lock}. */
    private final Map<BackendProvider, Backend> backends = new IdentityHashMap<>();
    /** Providers not to start again: unavailable, failed to start, no usable device, or all devices failed. */
    private final Set<BackendProvider> rejected = Collections.newSetFromMap(new IdentityHashMap<>());
    private final List<String> skipped = new ArrayList<>();
    private final BackendRegistry.Subscription subscription;
    private volatile boolean stale = true;
    private Slot lastUsed;
    private boolean closed;

    private DevicePlan(BackendRegistry registry, String preferred, BackendOptions options, List<Subgraph> workload,
                       List<Slot> fixed) {
        this.registry = registry;
        this.preferred = preferred == null || preferred.isBlank() ? null : preferred;
        this.options = options;
        this.workload = List.copyOf(workload);
        this.slots = List.copyOf(fixed);
        this.stale = registry != null;
        this.subscription = registry == null ? () -> { } : registry.subscribe(new Listener());
    }

    /**
     * A chain over the providers of {@code registry}, each started with {@code options}. Ranks devices
     * by how they run {@code workload} (the graphs the caller will execute).
     *
     * @param preferred backend name to put first, or null
     * @throws IllegalStateException if no device can run the workload, with each provider's reason
     */
    public static DevicePlan open(BackendRegistry registry, String preferred, BackendOptions options,
                                  List<Subgraph> workload) {
        DevicePlan plan = new DevicePlan(Objects.requireNonNull(registry, "registry"), preferred,
                Objects.requireNonNull(options, "options"), workload, List.of());
        try {
            plan.start();
            return plan;
        } catch (RuntimeException | Error e) {
            plan.close();
            throw e;
        }
    }

    private void start() {
        lock.lock();
        try {
            refresh();
            if (slots.isEmpty()) {
                throw new IllegalStateException("no device can run this model"
                        + (skipped.isEmpty() ? "" : ": " + String.join("; ", skipped)));
            }
        } finally {
            lock.unlock();
        }
    }

    /** A plan on one device the caller owns: no fallback, and closing the plan leaves the device's backend open. */
    public static DevicePlan of(Device device) {
        return new DevicePlan(null, null, BackendOptions.defaults(), List.of(),
                List.of(new Slot(null, null, Objects.requireNonNull(device, "device"), 0)));
    }

    /** Compiles {@code graph} on the first device now rather than at its first execution. */
    public void prepare(Subgraph graph) {
        run(graph, compiled -> { });
    }

    /**
     * Runs {@code graph} with {@code bindings} (a tensor for every input and output value of the graph)
     * on the first device that can, falling back along the chain as described in the class comment.
     */
    public void execute(Subgraph graph, Map<Value, Tensor> bindings) {
        run(graph, compiled -> compiled.execute(bindings));
    }

    /** The device steps run on now, as {@code backend/device}. */
    public String currentDevice() {
        List<Slot> now = slots;
        return now.isEmpty() ? "(none)" : now.getFirst().name();
    }

    /** The chain, best first, as {@code backend/device} names. */
    public List<String> devices() {
        return slots.stream().map(Slot::name).toList();
    }

    private void run(Subgraph graph, GraphStep step) {
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("the device plan is closed");
            }
            while (true) {
                if (stale) {
                    refresh();
                }
                Slot slot = firstLive();
                if (slot == null) {
                    throw new BackendException("no device left to run " + graph.name()
                            + ": every backend has been unplugged; plug one in and retry");
                }
                noteUse(slot);
                try {
                    step.run(slot.compiled(graph));
                    return;
                } catch (BackendException e) {
                    failOver(slot, graph, e);
                } catch (RuntimeException | LinkageError e) {
                    // Once unplugged, a backend may fail in any way (closed memory, unloaded classes);
                    // before that, anything but a BackendException is a bug to report, not to hide.
                    if (!slot.revoked) {
                        throw e;
                    }
                    failOver(slot, graph, e);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Drops a failed device and logs why, so that the caller's loop re-runs the step on the next one.
     * With no other device left, the failure goes to the caller instead: the last device keeps its
     * place (the failure may be passing), unless it was unplugged.
     */
    private void failOver(Slot slot, Subgraph graph, Throwable failure) {
        Slot next = slots.stream().filter(s -> s != slot && !s.revoked).findFirst().orElse(null);
        if (next == null) {
            if (!slot.revoked) {
                throwUnchecked(failure);
            }
            retire(slot, false);
            throw new BackendException("no device left to run " + graph.name() + ": " + slot.name()
                    + " was unplugged while running it; plug a backend in and retry", failure);
        }
        log.warn("{} failed while running {}{}; re-running it on {}: {}", slot.name(), graph.name(),
                slot.revoked ? " (its backend was unplugged)" : "", next.name(), describe(failure));
        log.debug("stack trace of the failure on {}", slot.name(), failure);
        retire(slot, !slot.revoked);
    }

    /** The failure and its causes on one line: the warning should say why without a stack trace. */
    private static String describe(Throwable failure) {
        StringBuilder text = new StringBuilder();
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (!text.isEmpty()) {
                text.append("; caused by ");
            }
            text.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
        }
        return text.toString();
    }

    /** The first device of the chain, dropping ones unplugged since the last step. */
    private Slot firstLive() {
        while (!slots.isEmpty() && slots.getFirst().revoked) {
            retire(slots.getFirst(), false);
        }
        return slots.isEmpty() ? null : slots.getFirst();
    }

    private void noteUse(Slot slot) {
        if (lastUsed != null && lastUsed != slot) {
            log.info("now running on {}", slot.name());
        }
        lastUsed = slot;
    }

    /** Brings the chain in line with the registry: starts new providers, drops ones that left. Under the lock. */
    private void refresh() {
        stale = false;
        if (registry == null) {
            return;
        }
        List<BackendProvider> present = registry.providers();
        Set<BackendProvider> presentSet = Collections.newSetFromMap(new IdentityHashMap<>());
        presentSet.addAll(present);
        for (Slot s : slots) {
            if (!presentSet.contains(s.provider)) {
                s.revoked = true;
            }
        }
        slots.stream().filter(s -> s.revoked).toList().forEach(s -> retire(s, false));
        // Forget providers that left, so nothing here keeps an unplugged bundle's classes alive.
        rejected.retainAll(presentSet);
        skipped.clear();
        List<Slot> ranked = new ArrayList<>(slots);
        for (BackendProvider p : present) {
            if (!backends.containsKey(p) && !rejected.contains(p)) {
                ranked.addAll(start(p));
            }
        }
        ranked.sort(Comparator.comparing((Slot s) -> !isPreferred(s.backendName()))
                .thenComparing(s -> s.device.kind() == DeviceKind.CPU)
                // Among CPUs, one that works on host memory directly beats one reached through a driver
                // that copies (OpenCL on a CPU): their cost estimates come from different models.
                .thenComparing(s -> !s.device.capabilities().contains(Capability.HOST_VISIBLE_MEMORY))
                .thenComparingDouble(s -> s.cost)
                .thenComparing(s -> s.device.kind()));
        slots = List.copyOf(ranked);
    }

    /**
     * Starts {@code provider}'s backend and returns its devices that can run the workload. A provider
     * that is unavailable, fails to start or has no such device is closed and not tried again.
     */
    private List<Slot> start(BackendProvider provider) {
        String name = provider.name();
        Backend backend = null;
        try {
            String unavailable = provider.unavailableReason();
            if (!unavailable.isEmpty()) {
                skip(provider, name + " is unavailable: " + unavailable);
                return List.of();
            }
            backend = provider.create(options);
            List<Slot> usable = new ArrayList<>();
            for (Device d : backend.devices()) {
                String missing = unfitOp(d, isPreferred(name));
                if (missing != null) {
                    skipped.add(name + "/" + d.name() + missing);
                } else {
                    usable.add(new Slot(provider, backend, d, estimatedSeconds(d)));
                }
            }
            if (usable.isEmpty()) {
                skip(provider, name + ": no device runs the model");
                closeQuietly(backend, name);
                return List.of();
            }
            backends.put(provider, backend);
            log.debug("started backend {}: {}", name, usable.stream().map(Slot::name).toList());
            return usable;
        } catch (RuntimeException | LinkageError e) {
            log.warn("backend {} failed to start: {}", name, describe(e));
            skip(provider, name + " failed to start: " + describe(e));
            closeQuietly(backend, name);
            return List.of();
        }
    }

    private void skip(BackendProvider provider, String reason) {
        log.debug("not using {}", reason);
        skipped.add(reason);
        rejected.add(provider);
    }

    private boolean isPreferred(String backendName) {
        return preferred != null && preferred.equalsIgnoreCase(backendName);
    }

    /** Why {@code d} cannot run the workload's graphs whole (" does not run Op in graph"), or null if it can. */
    private String unfitOp(Device d, boolean emulationAllowed) {
        for (Subgraph g : workload) {
            for (Op op : g.ops()) {
                Affinity.Support support = d.affinity(op).support();
                if (support == Affinity.Support.UNSUPPORTED) {
                    return " does not run " + op.getClass().getSimpleName() + " in " + g.name();
                }
                if (support == Affinity.Support.EMULATED && !emulationAllowed) {
                    return " only emulates " + op.getClass().getSimpleName() + " in " + g.name()
                            + " (name its backend to run on it anyway)";
                }
            }
        }
        return null;
    }

    private double estimatedSeconds(Device d) {
        double total = 0;
        for (Subgraph g : workload) {
            for (Op op : g.ops()) {
                total += d.affinity(op).estimatedSeconds();
            }
        }
        return total;
    }

    /**
     * Takes {@code slot} out of the chain and frees its compiled graphs, and its backend once no device
     * of that backend is left. A device that failed keeps its provider out until it is plugged in anew.
     */
    private void retire(Slot slot, boolean failed) {
        List<Slot> rest = new ArrayList<>(slots);
        rest.remove(slot);
        slots = List.copyOf(rest);
        if (lastUsed == slot) {
            lastUsed = null;
        }
        slot.closeGraphs();
        if (slot.provider != null && rest.stream().noneMatch(s -> s.backend == slot.backend)) {
            backends.remove(slot.provider);
            closeQuietly(slot.backend, slot.backendName());
            if (failed) {
                rejected.add(slot.provider);
            }
        }
    }

    /**
     * Unplug: stops using {@code provider} and closes its backend. Waits for the lock, so for a step in
     * flight to return (and for a start of this very provider to finish), but not past
     * {@link #DRAIN_TIMEOUT}: after that the step's device is closed when the step returns.
     */
    private void release(BackendProvider provider) {
        for (Slot s : slots) {
            if (s.provider == provider) {
                s.revoked = true;
            }
        }
        stale = true;
        try {
            if (!lock.tryLock(DRAIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                log.warn("backend {} was unplugged while a step was still running on it after {} s; "
                        + "it is closed when that step returns", provider.name(), DRAIN_TIMEOUT.toSeconds());
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        try {
            boolean used = false;
            for (Slot s : slots) {
                if (s.provider == provider) {
                    s.revoked = true;
                    retire(s, false);
                    used = true;
                }
            }
            rejected.remove(provider);
            if (used && !closed) {
                log.info("backend {} unplugged; steps now run on {}", provider.name(), currentDevice());
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        subscription.close();
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            for (Slot s : slots) {
                s.closeGraphs();
            }
            slots = List.of();
            backends.forEach((p, b) -> closeQuietly(b, p.name()));
            backends.clear();
            rejected.clear();
        } finally {
            lock.unlock();
        }
    }

    private static void closeQuietly(Backend backend, String name) {
        if (backend == null) {
            return;
        }
        try {
            backend.close();
        } catch (RuntimeException | LinkageError e) {
            log.warn("backend {} failed to close", name, e);
        }
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> void throwUnchecked(Throwable t) throws T {
        throw (T) t;
    }

    /** What {@link #run} does with a graph once it is compiled on a device. */
    private interface GraphStep {
        void run(CompiledGraph compiled);
    }

    private final class Listener implements BackendRegistry.Listener {
        @Override
        public void published(BackendProvider provider) {
            stale = true;
        }

        @Override
        public void withdrawn(BackendProvider provider) {
            release(provider);
        }
    }

    /** One device in the chain with the graphs compiled on it. */
    private static final class Slot {
        final BackendProvider provider;
        final Backend backend;
        final Device device;
        final double cost;
        final Map<Subgraph, CompiledGraph> compiled = new IdentityHashMap<>();
        volatile boolean revoked;

        Slot(BackendProvider provider, Backend backend, Device device, double cost) {
            this.provider = provider;
            this.backend = backend;
            this.device = device;
            this.cost = cost;
        }

        String backendName() {
            return backend == null ? "" : backend.name();
        }

        String name() {
            return backend == null ? device.name() : backend.name() + "/" + device.name();
        }

        CompiledGraph compiled(Subgraph graph) {
            CompiledGraph g = compiled.get(graph);
            if (g == null) {
                g = device.compile(graph);
                compiled.put(graph, g);
            }
            return g;
        }

        void closeGraphs() {
            for (CompiledGraph g : compiled.values()) {
                try {
                    g.close();
                } catch (RuntimeException | LinkageError e) {
                    log.debug("closing a graph on {} failed", name(), e);
                }
            }
            compiled.clear();
        }
    }
}
