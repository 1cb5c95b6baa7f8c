package io.llmnpu.runtime.engine;

import io.llmnpu.api.backend.BackendProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Iterator;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backends this process can use. The runtime never names an implementation: providers come
 * either from {@link ServiceLoader} (whatever backend jars are on the class path or module path, a
 * fixed set) or, in a {@linkplain #live() live} registry, from whoever publishes and withdraws them
 * while the runtime serves (the OSGi host, as backend bundles are plugged and unplugged).
 *
 * <p>Users of a live registry {@linkplain #subscribe subscribe} to hear about changes; a fixed
 * registry never changes, so its subscriptions are never called.
 */
public final class BackendRegistry {
    private static final Logger log = LoggerFactory.getLogger(BackendRegistry.class);
    private final List<BackendProvider> providers;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final boolean live;

    /** A fixed registry of {@code providers}. */
    public BackendRegistry(List<BackendProvider> providers) {
        this(new CopyOnWriteArrayList<>(providers), false);
    }

    private BackendRegistry(CopyOnWriteArrayList<BackendProvider> providers, boolean live) {
        this.providers = providers;
        this.live = live;
    }

    /**
     * Every provider visible to {@code loader}, as a fixed registry. A backend jar that cannot load (a
     * missing dependency, a broken service entry) is skipped with a warning instead of taking the
     * other backends down.
     */
    public static BackendRegistry discover(ClassLoader loader) {
        List<BackendProvider> found = new ArrayList<>();
        Iterator<BackendProvider> it = ServiceLoader.load(BackendProvider.class, loader).iterator();
        while (true) {
            try {
                if (!it.hasNext()) {
                    break;
                }
                found.add(it.next());
            } catch (ServiceConfigurationError | LinkageError e) {
                log.warn("skipping a backend that failed to load: {}", e.toString());
            }
        }
        return new BackendRegistry(found);
    }

    /** An empty registry whose providers are {@linkplain #publish published} and {@linkplain #withdraw withdrawn} at run time. */
    public static BackendRegistry live() {
        return new BackendRegistry(new CopyOnWriteArrayList<>(), true);
    }

    /** Hears providers arrive and leave. Called on the thread that publishes or withdraws them. */
    public interface Listener {
        /** {@code provider} can be used from now on. */
        default void published(BackendProvider provider) {
        }

        /**
         * {@code provider} is going away (its bundle is stopping). Stop using everything created from it
         * and close it before returning: its classes may be unloaded right after.
         */
        default void withdrawn(BackendProvider provider) {
        }
    }

    /** Stops a {@link Listener} from being called. */
    public interface Subscription extends AutoCloseable {
        @Override
        void close();
    }

    public Subscription subscribe(Listener listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    /** Whether providers may come and go after creation. */
    public boolean isLive() {
        return live;
    }

    /**
     * Adds {@code provider} to a live registry and tells the listeners. Atomic for {@link #providers()}: once a
     * caller sees the provider there, every listener has heard of it (so the next engine step uses it).
     */
    public synchronized void publish(BackendProvider provider) {
        requireLive();
        if (!providers.contains(provider)) {
            providers.add(provider);
            listeners.forEach(l -> l.published(provider));
        }
    }

    /**
     * Removes {@code provider} from a live registry. Returns once every listener has stopped using it,
     * so the caller may then unload its classes.
     */
    public void withdraw(BackendProvider provider) {
        requireLive();
        if (providers.remove(provider)) {
            listeners.forEach(l -> l.withdrawn(provider));
        }
    }

    /** The providers now in the registry (a snapshot). */
    public synchronized List<BackendProvider> providers() {
        return List.copyOf(providers);
    }

    /**
     * The provider called {@code name}, or when {@code name} is null or empty the first available
     * one, preferring the CPU backend because it always works.
     *
     * @throws IllegalStateException with the names on offer when nothing matches
     */
    public BackendProvider select(String name) {
        List<BackendProvider> now = providers();
        if (name != null && !name.isBlank()) {
            BackendProvider p = now.stream().filter(x -> x.name().equalsIgnoreCase(name)).findFirst()
                    .orElseThrow(() -> new IllegalStateException(
                            "no backend named '" + name + "'; available: " + names(now)));
            if (!p.unavailableReason().isEmpty()) {
                throw new IllegalStateException("backend '" + name + "' cannot run here: " + p.unavailableReason());
            }
            return p;
        }
        List<BackendProvider> available = now.stream().filter(p -> p.unavailableReason().isEmpty()).toList();
        Optional<BackendProvider> cpu = available.stream().filter(p -> p.name().equals("cpu")).findFirst();
        return cpu.or(() -> available.stream().findFirst()).orElseThrow(() -> new IllegalStateException(
                "no usable backend found; " + (live
                        ? "put a backend bundle (e.g. llmnpu-backend-cpu-vector-bundle) in the bundles directory"
                        : "put a backend jar (e.g. llmnpu-backend-cpu-vector) on the class path")
                        + (now.isEmpty() ? "" : "; found but unusable: " + names(now))));
    }

    private void requireLive() {
        if (!live) {
            throw new IllegalStateException("this backend registry is fixed; use BackendRegistry.live() to change providers at run time");
        }
    }

    private static String names(List<BackendProvider> providers) {
        return providers.isEmpty() ? "(none)"
                : providers.stream().map(BackendProvider::name).collect(Collectors.joining(", "));
    }
}
