package io.llmnpu.tck.selftest;

import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.tck.BackendConformanceSuite;
import java.util.Set;

/**
 * The suite against the test backend rounding Linear activations the way fast low-precision
 * kernels do ({@link ActivationRounding}); the standard tolerances must let it pass. Run only through
 * the launcher by {@link BackendConformanceSuiteSelfTest}.
 */
public class LossyActivationsFixture extends BackendConformanceSuite {
    @Override
    protected BackendProvider provider() {
        return new TestBackendProvider("lossy", Set.of(), true);
    }
}
