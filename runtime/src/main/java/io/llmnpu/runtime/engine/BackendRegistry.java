package io.llmnpu.runtime.engine;

import io.llmnpu.api.backend.BackendProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/**
 * The backends this process can use, found with {@link ServiceLoader} so the runtime never names an
 * implementation: whatever backend jars are on the class path (or module path) plug in.
 */
public final class BackendRegistry {
    private final List<BackendProvider> providers;

    public BackendRegistry(List<BackendProvider> providers) {
        this.providers = List.copyOf(providers);
    }

    /** Every provider visible to {@code loader}. */
    public static BackendRegistry discover(ClassLoader loader) {
        List<BackendProvider> found = new ArrayList<>();
        ServiceLoader.load(BackendProvider.class, loader).forEach(found::add);
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
