package io.llmnpu.runtime.engine;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.api.backend.Capability;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.scheduler.Placement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The devices the engine runs on, and the lock its steps run under: the backends of a registry,
 * started, with their devices ranked, hot-plugged and retired as they come, go and fail.
 *
 * <p>Every engine step (a prefill, a decode step) runs inside {@link #step} with the lock held: the
 * engine sees a stable {@link Step} view of the devices, places its graphs over them and runs the
 * tasks. When a device fails (a {@link BackendException}, or anything once its backend has been
 * unplugged) the engine calls {@link Step#fail}: the failure is logged once as a warning, the device
 * leaves the plan, and the engine re-places what is left of the step on the devices that remain. The
 * last device is never dropped for a failure: its error goes to the caller.
 *
 * <p>Rank (which device wins a tie in placement, and the order {@link #devices()} lists): the backend
 * the user named first; then devices other than CPUs; among CPUs the one working on host memory
 * directly (a CPU reached through a driver that copies, as OpenCL on a CPU, comes after); then the
 * lowest estimated time for the ops of the model's decode graphs that the device runs; then NPU, GPU, CPU.
 *
 * <p>With a live {@link BackendRegistry} the plan follows the registry: a provider plugged in while the
 * runtime serves is started before the next step; an unplugged one is marked at once (a step running on
 * it stops at its next task and moves to the remaining devices) and closed as soon as that step
 * returns, before the unplug completes.
 */
public final class DevicePlan implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DevicePlan.class);

    /** How long an unplug waits for the step running on the leaving device before it gives up waiting. */
    static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(30);

    private final BackendRegistry registry;
    private final String preferred;
    private final BackendOptions options;
    private final Map<String, BackendOptions> perBackend;
    private final List<Subgraph> workload;
    private final CostBook costs;
    private final Set<String> alsoStart;
    /** Estimates of a second CPU-kind device are multiplied by this when placing (see Step#onSharedCores). */
    private static final double SHARED_CORES_PENALTY = 1e3;

    /** The engine lock: fair, so concurrent sessions' steps take turns. */
    private final ReentrantLock lock = new ReentrantLock(true);
    /** Ranked devices; replaced whole under {@link #lock}, read without it. */
    private volatile List<Slot> slots = List.of();
    private final Map<BackendProvider, Backend> backends = new IdentityHashMap<>();
    private final Set<BackendProvider> rejected = Collections.newSetFromMap(new IdentityHashMap<>());
    private final List<String> skipped = new ArrayList<>();
    private final BackendRegistry.Subscription subscription;
    private volatile boolean stale;
    private int version;
    private boolean closed;

    private DevicePlan(BackendRegistry registry, String preferred, BackendOptions options,
                       Map<String, BackendOptions> perBackend, List<Subgraph> workload, CostBook costs, List<Slot> fixed,
                       Set<String> alsoStart) {
        this.registry = registry;
        this.alsoStart = Set.copyOf(alsoStart);
        this.preferred = preferred == null || preferred.isBlank() ? null : preferred;
        this.options = options;
        this.perBackend = Map.copyOf(perBackend);
        this.workload = List.copyOf(workload);
        this.costs = costs;
        this.slots = List.copyOf(fixed);
        this.stale = registry != null;
        this.subscription = registry == null ? () -> { } : registry.subscribe(new Listener());
    }

    /**
     * Options for {@link #open}.
     *
     * @param preferred  backend whose devices take every op they support, or null
     * @param options    how backends are created
     * @param perBackend options for particular backends, by name (e.g. NPU cores apart from CPU threads)
     * @param workload   graphs to rank devices by (the model's decode graphs); may be empty
     * @param costs      the cost book that corrects device estimates
     * @param alsoStart  backends started beside a preferred CPU backend that runs the whole workload (an NPU
     *                   named for prompts); see {@link #open}
     */
    public record Config(String preferred, BackendOptions options, Map<String, BackendOptions> perBackend,
                         List<Subgraph> workload, CostBook costs, Set<String> alsoStart) {
        public Config {
            Objects.requireNonNull(options, "options");
            perBackend = perBackend == null ? Map.of() : Map.copyOf(perBackend);
            workload = workload == null ? List.of() : List.copyOf(workload);
            costs = costs == null ? CostBook.fixed() : costs;
            alsoStart = alsoStart == null ? Set.of() : Set.copyOf(alsoStart);
        }

        public Config(String preferred, BackendOptions options, Map<String, BackendOptions> perBackend,
                      List<Subgraph> workload, CostBook costs) {
            this(preferred, options, perBackend, workload, costs, Set.of());
        }

        public static Config of(String preferred, BackendOptions options) {
            return new Config(preferred, options, Map.of(), List.of(), CostBook.fixed());
        }
    }

    /**
     * The devices of the providers of {@code registry}, each backend started with the configured options.
     * When the preferred backend's devices are all CPUs and one of them runs every op of the workload, the
     * other backends are left unstarted (but those in {@link Config#alsoStart}): none of them would take an
     * op, and starting one loads its drivers (an OpenCL or Vulkan driver brings a compiler: 100 MiB of
     * resident memory). They start if the preferred backend goes away.
     *
     * @throws IllegalStateException if no backend has a device, with each provider's reason
     */
    public static DevicePlan open(BackendRegistry registry, Config config) {
        DevicePlan plan = new DevicePlan(Objects.requireNonNull(registry, "registry"), config.preferred(),
                config.options(), config.perBackend(), config.workload(), config.costs(), List.of(), config.alsoStart());
        try {
            plan.lock.lock();
            try {
                plan.refresh();
                if (plan.slots.isEmpty()) {
                    throw new IllegalStateException("no device to run on"
                            + (plan.skipped.isEmpty() ? "" : ": " + String.join("; ", plan.skipped)));
                }
            } finally {
                plan.lock.unlock();
            }
            return plan;
        } catch (RuntimeException | Error e) {
            plan.close();
            throw e;
        }
    }

    /** A plan over devices the caller owns (closing the plan leaves their backends open), in rank order. */
    public static DevicePlan of(Device... devices) {
        List<Slot> fixed = new ArrayList<>();
        for (Device d : devices) {
            fixed.add(new Slot(null, null, Objects.requireNonNull(d, "device"), d, 0));
        }
        return new DevicePlan(null, null, BackendOptions.defaults(), Map.of(), List.of(), CostBook.fixed(), fixed,
                Set.of());
    }

    /** The devices, ranked, as {@code backend/device} names. */
    public List<String> devices() {
        return slots.stream().filter(s -> !s.revoked).map(Slot::name).toList();
    }

    /** Whether a device of kind {@code kind} is in the plan now (refreshing first if providers changed). */
    public boolean hasDeviceOfKind(DeviceKind kind) {
        return step(s -> s.candidates().stream().anyMatch(c -> c.device().kind() == kind));
    }

    /** The cost book that corrects this plan's device estimates. */
    public CostBook costs() {
        return costs;
    }

    /**
     * The engine lock every step runs under. Callers that run several steps as one unit (a session's step
     * checks that its runtime is still open first) hold it around them; it is reentrant, so {@link #step}
     * inside is fine. One lock for the whole engine: sessions, generations and hot plug all wait on it.
     */
    public java.util.concurrent.locks.Lock engineLock() {
        return lock;
    }

    /**
     * Runs {@code work} as one engine step: with the engine lock held and the devices brought in line
     * with the registry first.
     *
     * @throws IllegalStateException if the plan is closed
     */
    public <T> T step(Function<Step, T> work) {
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("the device plan is closed");
            }
            if (stale) {
                refresh();
            }
            return work.apply(new Step());
        } finally {
            lock.unlock();
        }
    }

    /** The engine's view of the devices during one step; valid only inside {@link #step}. */
    public final class Step {
        private List<Slot> live = liveSlots();

        private List<Slot> liveSlots() {
            return slots.stream().filter(s -> !s.revoked).toList();
        }

        /** The live devices as placement candidates, in rank order; the index is the candidate number. */
        public List<Placement.Candidate> candidates() {
            List<Placement.Candidate> out = new ArrayList<>();
            boolean hostCpuTaken = false;
            for (Slot s : live) {
                Device d = s.placed;
                if (registry != null && d.kind() == DeviceKind.CPU) {
                    if (hostCpuTaken) {
                        d = onSharedCores(d);
                    }
                    hostCpuTaken = true;
                }
                out.add(new Placement.Candidate(s.name(), d, isPreferred(s.backendName()), costs.launchSeconds(s.name())));
            }
            return out;
        }

        /**
         * A second device of kind CPU as the placer sees it: every device of that kind (the CPU backends,
         * and OpenCL or Vulkan drivers that emulate a GPU on the CPU, such as PoCL and lavapipe) runs on
         * the same host cores, so running work on two of them "in parallel" only makes them compete. The
         * first in rank order takes the work; the others, their estimates multiplied by
         * {@value #SHARED_CORES_PENALTY}, get only what it cannot run, and take over when it leaves.
         * (Plans built from fixed devices, as tests build them, keep every device as it is.)
         */
        private static Device onSharedCores(Device device) {
            return new PlacementView(device, op -> {
                Affinity a = device.affinity(op);
                return new Affinity(a.support(), a.estimatedSeconds() * SHARED_CORES_PENALTY);
            });
        }

        /** Changes whenever a device joins or leaves. */
        public int version() {
            return version;
        }

        public String name(int candidate) {
            return live.get(candidate).name();
        }

        /** The device itself (not the cost book's view of it). */
        public Device device(int candidate) {
            return live.get(candidate).device;
        }

        /** Whether the device's backend was unplugged since the step began. */
        public boolean revoked(int candidate) {
            return live.get(candidate).revoked;
        }

        /**
         * {@code graph} compiled on the device, compiled now on first use. A compile failure is a
         * failure of the device: the caller passes it to {@link #fail}.
         */
        public CompiledGraph compiled(int candidate, Subgraph graph) {
            return live.get(candidate).compiled(graph);
        }

        /** Closes the compiled copies of {@code graphs} on every device (their placement is discarded). */
        public void release(Collection<Subgraph> graphs) {
            for (Slot s : slots) {
                s.release(graphs);
            }
        }

        /**
         * The device failed while running {@code what}: logs it once and drops the device, so the caller
         * re-places the rest of the step on the others. With no other device left the failure is thrown
         * instead (the last device keeps its place unless it was unplugged). A failure that is not a
         * {@link BackendException} on a device still plugged in is a bug, and is thrown as it is.
         */
        public void fail(int candidate, String what, Throwable failure) {
            Slot slot = live.get(candidate);
            if (!slot.revoked && !(failure instanceof BackendException)) {
                throwUnchecked(failure);
            }
            Slot next = live.stream().filter(s -> s != slot && !s.revoked).findFirst().orElse(null);
            if (next == null) {
                if (!slot.revoked) {
                    throwUnchecked(failure);
                }
                retire(slot, false);
                live = liveSlots();
                throw new BackendException("no device left to run " + what + ": " + slot.name()
                        + " was unplugged while running it; plug a backend in and retry", failure);
            }
            log.warn("{} failed while running {}{}; the rest runs on {}: {}", slot.name(), what,
                    slot.revoked ? " (its backend was unplugged)" : "", names(live.stream().filter(s -> s != slot).toList()),
                    describe(failure));
            log.debug("stack trace of the failure on {}", slot.name(), failure);
            retire(slot, !slot.revoked);
            live = liveSlots();
        }
    }

    private static String names(List<Slot> slots) {
        return String.join(", ", slots.stream().map(Slot::name).toList());
    }

    /** The failure and its causes on one line: the warning should say why without a stack trace. */
    static String describe(Throwable failure) {
        StringBuilder text = new StringBuilder();
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (!text.isEmpty()) {
                text.append("; caused by ");
            }
            text.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
        }
        return text.toString();
    }

    /** Brings the devices in line with the registry: starts new providers, drops ones that left. Under the lock. */
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
        rejected.retainAll(presentSet);
        skipped.clear();
        List<Slot> ranked = new ArrayList<>(slots);
        boolean added = false;
        List<BackendProvider> order = new ArrayList<>(present);
        order.sort(Comparator.comparing((BackendProvider p) -> !isPreferred(p.name()))); // the preferred one first
        // Worked out once, when the first other backend is considered: the preferred one has started by then
        // (it comes first), and the backends started after it do not change the answer.
        Boolean othersIdle = null;
        for (BackendProvider p : order) {
            if (!backends.containsKey(p) && !rejected.contains(p)) {
                if (!isPreferred(p.name()) && alsoStart.stream().noneMatch(n -> sameName(n, p.name()))) {
                    if (othersIdle == null) {
                        othersIdle = preferredCpuRunsAll(ranked);
                    }
                    if (othersIdle) {
                        continue;
                    }
                }
                List<Slot> started = start(p);
                added |= !started.isEmpty();
                ranked.addAll(started);
            }
        }
        ranked.sort(Comparator.comparing((Slot s) -> !isPreferred(s.backendName()))
                .thenComparing(s -> s.device.kind() == DeviceKind.CPU)
                .thenComparing(s -> !s.device.capabilities().contains(Capability.HOST_VISIBLE_MEMORY))
                .thenComparingDouble(s -> s.rank)
                .thenComparing(s -> s.device.kind()));
        slots = List.copyOf(ranked);
        if (added) {
            version++;
        }
    }

    /** Starts {@code provider}'s backend and returns its devices. A provider that cannot start is not tried again. */
    private List<Slot> start(BackendProvider provider) {
        String name = provider.name();
        Backend backend = null;
        try {
            String unavailable = provider.unavailableReason();
            if (!unavailable.isEmpty()) {
                skip(provider, name + " is unavailable: " + unavailable);
                return List.of();
            }
            backend = provider.create(perBackend.getOrDefault(name, options));
            List<Slot> usable = new ArrayList<>();
            for (Device d : backend.devices()) {
                String key = name + "/" + d.name();
                usable.add(new Slot(provider, backend, d, costs.measured(key, d), rankCost(d)));
            }
            if (usable.isEmpty()) {
                skip(provider, name + ": no device");
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

    /** Whether the preferred backend is started, offers CPUs only, and one of them runs every workload op. */
    private boolean preferredCpuRunsAll(List<Slot> started) {
        List<Slot> mine = started.stream().filter(s -> !s.revoked && isPreferred(s.backendName())).toList();
        if (mine.isEmpty() || workload.isEmpty() || mine.stream().anyMatch(s -> s.device.kind() != DeviceKind.CPU)) {
            return false;
        }
        return mine.stream().anyMatch(s -> workload.stream().flatMap(g -> g.ops().stream())
                .allMatch(op -> s.device.affinity(op).isSupported()));
    }

    private boolean isPreferred(String backendName) {
        return preferred != null && sameName(preferred, backendName);
    }

    /** Backend names as users type them: case does not matter. */
    private static boolean sameName(String a, String b) {
        return a.equalsIgnoreCase(b);
    }

    /** Estimated seconds of the workload's ops that {@code d} supports: how devices of one class rank. */
    private double rankCost(Device d) {
        double total = 0;
        for (Subgraph g : workload) {
            for (Op op : g.ops()) {
                Affinity a = d.affinity(op);
                if (a.isSupported()) {
                    total += a.estimatedSeconds();
                }
            }
        }
        return total;
    }

    /** Takes {@code slot} out, frees its compiled graphs, and its backend once no device of that backend is left. */
    private void retire(Slot slot, boolean failed) {
        List<Slot> rest = new ArrayList<>(slots);
        if (!rest.remove(slot)) {
            return;
        }
        slots = List.copyOf(rest);
        version++;
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
     * Unplug: marks {@code provider}'s devices at once (a step running on them moves on at its next task),
     * then waits for the step in flight, but not past {@link #DRAIN_TIMEOUT}, and closes the backend.
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
                    retire(s, false);
                    used = true;
                }
            }
            rejected.remove(provider);
            if (used && !closed) {
                log.info("backend {} unplugged; devices now: {}", provider.name(), devices());
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
            costs.save();
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

    /** One device with the graphs compiled on it. */
    private static final class Slot {
        final BackendProvider provider;
        final Backend backend;
        final Device device;
        /** The device as placement sees it: its estimates corrected by the cost book. */
        final Device placed;
        final double rank;
        final Map<Subgraph, CompiledGraph> compiled = new IdentityHashMap<>();
        volatile boolean revoked;

        Slot(BackendProvider provider, Backend backend, Device device, Device placed, double rank) {
            this.provider = provider;
            this.backend = backend;
            this.device = device;
            this.placed = placed;
            this.rank = rank;
        }

        String backendName() {
            return backend == null ? "" : backend.name();
        }

        String name() {
            return backend == null ? device.name() : backend.name() + "/" + device.name();
        }

        synchronized CompiledGraph compiled(Subgraph graph) {
            CompiledGraph g = compiled.get(graph);
            if (g == null) {
                g = device.compile(graph);
                compiled.put(graph, g);
            }
            return g;
        }

        synchronized void release(Collection<Subgraph> graphs) {
            for (Subgraph g : graphs) {
                CompiledGraph c = compiled.remove(g);
                if (c != null) {
                    closeGraph(c);
                }
            }
        }

        synchronized void closeGraphs() {
            compiled.values().forEach(this::closeGraph);
            compiled.clear();
        }

        private void closeGraph(CompiledGraph g) {
            try {
                g.close();
            } catch (RuntimeException | LinkageError e) {
                log.debug("closing a graph on {} failed", name(), e);
            }
        }
    }
}
