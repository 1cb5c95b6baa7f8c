package io.llmnpu.runtime.engine;

import io.llmnpu.api.backend.BackendProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Iterator;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backends this process can use, found with {@link ServiceLoader} so the runtime never names an
 * implementation: whatever backend jars are on the class path (or module path) plug in.
 */
public final class BackendRegistry {
    private static final Logger log = LoggerFactory.getLogger(BackendRegistry.class);
    private final List<BackendProvider> providers;

    public BackendRegistry(List<BackendProvider> providers) {
        this.providers = List.copyOf(providers);
    }

    /**
     * Every provider visible to {@code loader}. A backend jar that cannot load (a missing dependency,
     * a broken service entry) is skipped with a warning instead of taking the other backends down.
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

    public List<BackendProvider> providers() {
        return providers;
    }

    /**
     * The provider called {@code name}, or when {@code name} is null or empty the first available
     * one, preferring the CPU backend because it always works.
     *
     * @throws IllegalStateException with the names on offer when nothing matches
     */
    public BackendProvider select(String name) {
        if (name != null && !name.isBlank()) {
            BackendProvider p = providers.stream().filter(x -> x.name().equalsIgnoreCase(name)).findFirst()
                    .orElseThrow(() -> new IllegalStateException(
                            "no backend named '" + name + "'; available: " + names()));
            if (!p.unavailableReason().isEmpty()) {
                throw new IllegalStateException("backend '" + name + "' cannot run here: " + p.unavailableReason());
            }
            return p;
        }
        Optional<BackendProvider> cpu = available().stream().filter(p -> p.name().equals("cpu")).findFirst();
        return cpu.or(() -> available().stream().findFirst()).orElseThrow(() -> new IllegalStateException(
                "no usable backend found; put a backend jar (e.g. llmnpu-backend-cpu-vector) on the class path"
                        + (providers.isEmpty() ? "" : "; found but unusable: " + names())));
    }

    private List<BackendProvider> available() {
        return providers.stream().filter(p -> p.unavailableReason().isEmpty()).toList();
    }

    private String names() {
        return providers.isEmpty() ? "(none)" : providers.stream().map(BackendProvider::name).collect(Collectors.joining(", "));
    }
}
