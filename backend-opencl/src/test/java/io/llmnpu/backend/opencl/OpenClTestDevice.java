package io.llmnpu.backend.opencl;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.llmnpu.tck.skip.BackendAssumptions;
import java.nio.file.Path;

/**
 * Opens the first OpenCL device for a test class, or skips the class with the reason when this
 * machine has no OpenCL. Program binaries are cached under {@code target/} so test runs after the
 * first skip the OpenCL C compiler, without touching the user's cache.
 */
final class OpenClTestDevice implements AutoCloseable {
    static final Path TEST_CACHE = Path.of("target", "opencl-binary-cache");

    final OpenClBackend backend;
    final OpenClDevice device;

    private OpenClTestDevice(OpenClBackend backend) {
        this.backend = backend;
        this.device = backend.openClDevices().getFirst();
    }

    static OpenClTestDevice open() {
        return open(new OpenClOptions(TEST_CACHE, OpenClOptions.StateResidency.KEEP_RESIDENT));
    }

    static OpenClTestDevice open(OpenClOptions options) {
        BackendAssumptions.assumeAvailable(new OpenClBackendProvider());
        OpenClBackend backend = new OpenClBackend(options);
        assumeTrue(!backend.openClDevices().isEmpty(), "no OpenCL device");
        return new OpenClTestDevice(backend);
    }

    @Override
    public void close() {
        backend.close();
    }
}
