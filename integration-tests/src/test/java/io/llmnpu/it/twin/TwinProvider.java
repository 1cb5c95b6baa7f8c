package io.llmnpu.it.twin;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;

/** The CPU backend under the name {@code twin}, with a device that says it is a GPU so it ranks first. */
public final class TwinProvider implements BackendProvider {
    private final BackendProvider cpu;

    TwinProvider(BackendProvider cpu) {
        this.cpu = cpu;
    }

    @Override
    public String name() {
        return "twin";
    }

    @Override
    public String unavailableReason() {
        return cpu.unavailableReason();
    }

    @Override
    public Backend create(BackendOptions options) {
        return new TwinBackend(cpu.create(options));
    }
}
