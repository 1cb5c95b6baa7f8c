package io.llmnpu.tck.selftest;

import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.tck.BackendConformanceSuite;
import java.util.EnumSet;

/**
 * The suite against the test backend with every {@link Defect} planted but
 * {@link Defect#USE_AFTER_CLOSE_UNCHECKED} (which would hide another); it must fail. Run only through
 * the launcher by {@link BackendConformanceSuiteSelfTest}.
 */
public class BrokenBackendFixture extends BackendConformanceSuite {
    @Override
    protected BackendProvider provider() {
        return new TestBackendProvider("broken", EnumSet.complementOf(EnumSet.of(Defect.USE_AFTER_CLOSE_UNCHECKED)));
    }
}
