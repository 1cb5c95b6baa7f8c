package io.llmnpu.tck.selftest;

import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.tck.BackendConformanceSuite;
import java.util.Set;

/**
 * The suite against the correct test backend. Run only through the launcher by
 * {@link BackendConformanceSuiteSelfTest} (the name keeps surefire from picking it up on its own).
 */
public class ReferenceBackendFixture extends BackendConformanceSuite {
    @Override
    protected BackendProvider provider() {
        return new TestBackendProvider("ref", Set.of());
    }
}
