package io.llmnpu.backend.vulkan;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes the Vulkan backend as {@code vulkan}. It is available wherever the Vulkan loader and a
 * driver with a compute-capable Vulkan 1.1 device are installed; otherwise {@link #unavailableReason()}
 * says what is missing and nothing else is affected. {@link BackendOptions#threads()} does not apply:
 * the driver schedules its own work (lavapipe reads {@code LP_NUM_THREADS}).
 */
public final class VulkanBackendProvider implements BackendProvider {
    private static final Logger LOG = LoggerFactory.getLogger(VulkanBackendProvider.class);

    private final Supplier<VulkanInstance> instances;
    private volatile String unavailableReason;

    /** The provider {@link java.util.ServiceLoader} creates: it asks the installed Vulkan loader. */
    public VulkanBackendProvider() {
        this(VulkanInstance::create);
    }

    VulkanBackendProvider(Supplier<VulkanInstance> instances) {
        this.instances = instances;
    }

    @Override
    public String name() {
        return "vulkan";
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
        try (VulkanInstance instance = instances.get()) {
            if (instance.devices().isEmpty()) {
                return instance.skipped().isEmpty()
                        ? "the Vulkan loader found drivers but no device; install a driver for this machine's GPU,"
                                + " or the Debian package mesa-vulkan-drivers (lavapipe, a CPU implementation)"
                        : "no Vulkan device can run the backend: " + String.join("; ", instance.skipped());
            }
            return "";
        } catch (LinkageError e) {
            LOG.debug("Vulkan library unavailable", e);
            return "the Vulkan loader (libvulkan) could not be loaded (" + rootMessage(e) + "); install it and a driver,"
                    + " e.g. the Debian packages libvulkan1 and mesa-vulkan-drivers";
        } catch (BackendException e) {
            return e.getMessage();
        } catch (RuntimeException e) {
            // LWJGL reports a missing loader as IllegalStateException or UnsatisfiedLinkError, depending on where it fails.
            LOG.debug("Vulkan discovery failed", e);
            return "the Vulkan loader (libvulkan) could not be used (" + rootMessage(e) + "); install it and a driver,"
                    + " e.g. the Debian packages libvulkan1 and mesa-vulkan-drivers";
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + ": " + t.getMessage();
    }

    @Override
    public Backend create(BackendOptions options) {
        return create(options, VulkanOptions.defaults());
    }

    /** Creates the backend with explicit Vulkan settings (cache folder, subgroups, staging). */
    public Backend create(BackendOptions options, VulkanOptions vulkanOptions) {
        String reason = unavailableReason();
        if (!reason.isEmpty()) {
            throw new BackendException("Vulkan backend unavailable: " + reason);
        }
        return new VulkanBackend(instances.get(), vulkanOptions);
    }
}
