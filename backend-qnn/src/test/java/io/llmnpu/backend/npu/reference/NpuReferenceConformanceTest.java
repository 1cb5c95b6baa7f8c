package io.llmnpu.backend.npu.reference;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.tck.BackendConformanceSuite;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reference NPU against the conformance suite. It runs only QuantizedLinear, so the float op cases
 * and the transformer block are skipped as UNSUPPORTED and the contract checks run on the INT8 probe
 * graph. The compile cache lives in a temporary folder: the lifetime check's cycles then load packed
 * weights from disk, the path a real process takes on its second start.
 */
class NpuReferenceConformanceTest extends BackendConformanceSuite {

    @TempDir
    Path cacheDir;

    @Override
    protected BackendProvider provider() {
        ReferenceNpuProvider published = new ReferenceNpuProvider();
        return new BackendProvider() {
            @Override
            public String name() {
                return published.name();
            }

            @Override
            public String unavailableReason() {
                return published.unavailableReason();
            }

            @Override
            public Backend create(BackendOptions options) {
                return new ReferenceNpuBackend(new NpuSettings(Math.max(1, options.threads()), cacheDir));
            }
        };
    }
}
