package io.llmnpu.backend.npu.reference;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;

/** Publishes the reference NPU to {@link java.util.ServiceLoader} under the name {@value #NAME}. */
public final class ReferenceNpuProvider implements BackendProvider {

    public static final String NAME = "npu-ref";

    @Override
    public String name() {
        return NAME;
    }

    /** The INT8 kernels need the incubating Vector API module. */
    @Override
    public String unavailableReason() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return "the JVM was started without --add-modules jdk.incubator.vector";
        }
        return "";
    }

    @Override
    public Backend create(BackendOptions options) {
        return new ReferenceNpuBackend(NpuSettings.from(options));
    }
}
