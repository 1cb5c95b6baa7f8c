package io.llmnpu.backend.cpu;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;

/** Publishes the CPU backend to {@link java.util.ServiceLoader} under the name {@code cpu}. */
public final class CpuBackendProvider implements BackendProvider {

    @Override
    public String name() {
        return "cpu";
    }

    /** The kernels need the incubating Vector API module, which the JVM only loads when asked to. */
    @Override
    public String unavailableReason() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return "the JVM was started without --add-modules jdk.incubator.vector";
        }
        return "";
    }

    @Override
    public Backend create(BackendOptions options) {
        return new CpuBackend(options);
    }
}
