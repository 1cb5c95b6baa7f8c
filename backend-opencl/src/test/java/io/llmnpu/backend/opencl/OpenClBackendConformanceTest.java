package io.llmnpu.backend.opencl;

import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.tck.BackendConformanceSuite;

/** The OpenCL backend against the conformance suite (on PoCL here, any vendor driver elsewhere). */
class OpenClBackendConformanceTest extends BackendConformanceSuite {
    @Override
    protected BackendProvider provider() {
        return new OpenClBackendProvider();
    }
}
