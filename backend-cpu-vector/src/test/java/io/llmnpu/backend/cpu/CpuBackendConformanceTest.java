package io.llmnpu.backend.cpu;

import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.tck.BackendConformanceSuite;

/** The CPU backend against the conformance suite every backend must pass. */
class CpuBackendConformanceTest extends BackendConformanceSuite {
    @Override
    protected BackendProvider provider() {
        return new CpuBackendProvider();
    }
}
