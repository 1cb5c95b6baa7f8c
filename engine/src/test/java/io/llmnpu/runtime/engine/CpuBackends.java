package io.llmnpu.runtime.engine;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.llmnpu.api.backend.BackendProvider;
import java.util.List;
import java.util.ServiceLoader;

/**
 * The CPU backends the logits tests run on, by name: the Vector API backend, and the one with oneDNN's
 * int8 matrix products, which is skipped with its reason where oneDNN is missing.
 */
public final class CpuBackends {

    public static final List<String> NAMES = List.of("cpu", "cpu-native");

    private CpuBackends() {
    }

    /** Skips the calling test unless backend {@code name} is on the class path and can run here. */
    public static void assumeUsable(String name) {
        BackendProvider provider = ServiceLoader.load(BackendProvider.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p.name().equals(name)).findFirst().orElse(null);
        assumeTrue(provider != null, "backend " + name + " is not on the class path");
        String reason = provider.unavailableReason();
        assumeTrue(reason.isEmpty(), () -> "backend " + name + " cannot run here: " + reason);
    }
}
