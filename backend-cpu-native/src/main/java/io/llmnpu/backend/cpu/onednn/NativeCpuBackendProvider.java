package io.llmnpu.backend.cpu.onednn;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.backend.cpu.CpuBackend;
import io.llmnpu.backend.cpu.CpuBackendProvider;

/**
 * Publishes the CPU backend with oneDNN's int8 matrix products under the name {@code cpu-native}. It is
 * the Vector API backend ({@link CpuBackend}) with a {@link OneDnnMatrixEngine}: every op but the
 * matrix products runs on the same kernels. Where oneDNN is missing, or the CPU has no int8 dot-product
 * instructions, it is unavailable and says why; the Vector API backend {@code cpu} then stays the one
 * that runs everything.
 */
public final class NativeCpuBackendProvider implements BackendProvider {

    private final NativeSettings settings;
    private OneDnn.Result library;

    public NativeCpuBackendProvider() {
        this(NativeSettings.configured());
    }

    NativeCpuBackendProvider(NativeSettings settings) {
        this.settings = settings;
    }

    @Override
    public String name() {
        return "cpu-native";
    }

    @Override
    public String unavailableReason() {
        String vectors = new CpuBackendProvider().unavailableReason();
        if (!vectors.isEmpty()) {
            return vectors;
        }
        return library().problem();
    }

    /** Opened once per provider: loading and checking the library is cheap but not free. */
    private synchronized OneDnn.Result library() {
        if (library == null) {
            library = OneDnn.open(settings.library());
        }
        return library;
    }

    @Override
    public Backend create(BackendOptions options) {
        String reason = unavailableReason();
        if (!reason.isEmpty()) {
            throw new BackendException("backend cpu-native cannot run here: " + reason);
        }
        OneDnn dnn = library().library().orElseThrow();
        int threads = options.effectiveThreads();
        return new CpuBackend(name(), options, pool -> OneDnnMatrixEngine.create(dnn, settings, threads, pool));
    }
}
