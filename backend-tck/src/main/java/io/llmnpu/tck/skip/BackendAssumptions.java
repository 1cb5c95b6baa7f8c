package io.llmnpu.tck.skip;

import io.llmnpu.api.backend.BackendProvider;
import java.util.Iterator;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Assumptions;

/**
 * Skips a test where a backend cannot run (its driver or native library is missing), with the
 * backend's own reason; {@link SkipReasons} prints it at the end of the run. The programmatic twin of
 * {@link RequiresBackend}.
 */
public final class BackendAssumptions {
    private BackendAssumptions() {
    }

    /** Aborts the calling test unless {@code provider} can run here. */
    public static void assumeAvailable(BackendProvider provider) {
        String reason = unavailableReason(provider);
        Assumptions.assumeTrue(reason.isEmpty(), () -> "backend " + provider.name() + " cannot run here: " + reason);
    }

    /** Why {@code provider} cannot run here, or empty; a provider that fails to answer cannot run. */
    static String unavailableReason(BackendProvider provider) {
        try {
            String reason = provider.unavailableReason();
            return reason == null ? "" : reason;
        } catch (RuntimeException | LinkageError e) {
            return "its availability check failed: " + e;
        }
    }

    /** The provider called {@code name} that {@link ServiceLoader} finds through {@code loader}. */
    static Optional<BackendProvider> find(String name, ClassLoader loader) {
        Iterator<BackendProvider> it = ServiceLoader.load(BackendProvider.class, loader).iterator();
        while (true) {
            try {
                if (!it.hasNext()) {
                    return Optional.empty();
                }
                BackendProvider p = it.next();
                if (p.name().equalsIgnoreCase(name)) {
                    return Optional.of(p);
                }
            } catch (ServiceConfigurationError | LinkageError e) {
                // a backend jar that cannot load is not the one asked for, or cannot run: go on
            }
        }
    }
}
