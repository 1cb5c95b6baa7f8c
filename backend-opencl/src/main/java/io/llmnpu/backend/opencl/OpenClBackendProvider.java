package io.llmnpu.backend.opencl;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes the OpenCL backend as {@code opencl}. It is available wherever an OpenCL ICD loader and
 * at least one driver with a device are installed; otherwise {@link #unavailableReason()} says what
 * is missing and nothing else is affected. {@link BackendOptions#threads()} does not apply: the
 * driver schedules its own work (PoCL reads {@code POCL_MAX_PTHREAD_COUNT} for its CPU device).
 */
public final class OpenClBackendProvider implements BackendProvider {
    private static final Logger LOG = LoggerFactory.getLogger(OpenClBackendProvider.class);

    private final OpenClDiscovery discovery;
    private volatile String unavailableReason;

    /** The provider {@link java.util.ServiceLoader} creates: it asks the installed OpenCL loader. */
    public OpenClBackendProvider() {
        this(OpenClDiscovery::installed);
    }

    OpenClBackendProvider(OpenClDiscovery discovery) {
        this.discovery = discovery;
    }

    @Override
    public String name() {
        return "opencl";
    }

    @Override
    public String unavailableReason() {
        String reason = unavailableReason;
        if (reason == null) {
            reason = probe();
            unavailableReason = reason;
        }
        return reason;
    }

    private String probe() {
        try {
            List<ClDeviceHandle> devices = discovery.devices();
            if (devices.isEmpty()) {
                return "OpenCL platforms are installed but none reports a device";
            }
            return "";
        } catch (LinkageError e) {
            // JOCL loads libOpenCL when its CL class initialises: a missing loader shows up here.
            LOG.debug("OpenCL library unavailable", e);
            return "the OpenCL library could not be loaded (" + e + "); install an OpenCL ICD loader and a driver,"
                    + " e.g. the Debian packages ocl-icd-libopencl1 and pocl-opencl-icd";
        } catch (BackendException e) {
            return e.getMessage();
        } catch (RuntimeException e) {
            // JOCL throws CLException instead of returning codes when its process-wide exception mode is on.
            LOG.debug("OpenCL discovery failed", e);
            return "OpenCL device discovery failed: " + e;
        }
    }

    @Override
    public Backend create(BackendOptions options) {
        return create(options, OpenClOptions.defaults());
    }

    /** Creates the backend with explicit OpenCL settings (cache folder, KV cache residency). */
    public Backend create(BackendOptions options, OpenClOptions openClOptions) {
        String reason = unavailableReason();
        if (!reason.isEmpty()) {
            throw new BackendException("OpenCL backend unavailable: " + reason);
        }
        return new OpenClBackend(discovery.devices(), openClOptions);
    }
}
