package io.llmnpu.tck.selftest;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import java.util.EnumSet;
import java.util.Set;

/**
 * Publishes {@link ReferenceTestBackend}: correct, correct but with low-precision Linear activations,
 * or with planted {@link Defect}s.
 */
final class TestBackendProvider implements BackendProvider {
    private final String name;
    private final Set<Defect> defects;
    private final boolean lossyActivations;

    TestBackendProvider(String name, Set<Defect> defects) {
        this(name, defects, false);
    }

    TestBackendProvider(String name, Set<Defect> defects, boolean lossyActivations) {
        this.name = name;
        this.defects = defects.isEmpty() ? EnumSet.noneOf(Defect.class) : EnumSet.copyOf(defects);
        this.lossyActivations = lossyActivations;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Backend create(BackendOptions options) {
        return new ReferenceTestBackend(name, options, defects, lossyActivations);
    }
}
