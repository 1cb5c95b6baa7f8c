package io.llmnpu.backend.cpu.onednn;

import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.tck.BackendConformanceSuite;

/**
 * The native CPU backend against the conformance suite, with every Linear over block-quantized weights (Q8_0, Q4_0, ..., the K-quants)
 * taken by oneDNN however few its rows, so that the suite's small cases (up to 8 rows) check the int8
 * path itself; QuantizedLinear cases are held to the NPU's integer semantics. Where oneDNN is missing
 * the suite skips with the provider's reason.
 */
class NativeCpuConformanceTest extends BackendConformanceSuite {
    @Override
    protected BackendProvider provider() {
        return new NativeCpuBackendProvider(NativeSettings.allProducts());
    }
}
