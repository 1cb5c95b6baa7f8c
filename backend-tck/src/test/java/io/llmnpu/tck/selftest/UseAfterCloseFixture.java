package io.llmnpu.tck.selftest;

import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.tck.BackendConformanceSuite;
import java.util.EnumSet;

/**
 * The suite against the test backend whose closed graphs run into their freed arena
 * ({@link Defect#USE_AFTER_CLOSE_UNCHECKED}). Run only through the launcher by
 * {@link BackendConformanceSuiteSelfTest}.
 */
public class UseAfterCloseFixture extends BackendConformanceSuite {
    @Override
    protected BackendProvider provider() {
        return new TestBackendProvider("unchecked", EnumSet.of(Defect.USE_AFTER_CLOSE_UNCHECKED));
    }
}
