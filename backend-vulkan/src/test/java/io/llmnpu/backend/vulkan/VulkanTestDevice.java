package io.llmnpu.backend.vulkan;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;

/**
 * Opens the first Vulkan device for a test class, or skips the class with the reason when this machine
 * has no Vulkan driver. Compiled shaders are cached under {@code target/} so runs after the first skip
 * shaderc, without touching the user's cache.
 */
final class VulkanTestDevice implements AutoCloseable {
    static final Path TEST_CACHE = Path.of("target", "vulkan-cache");

    final VulkanBackend backend;
    final VulkanDevice device;

    private VulkanTestDevice(VulkanBackend backend) {
        this.backend = backend;
        this.device = backend.vulkanDevices().getFirst();
    }

    static VulkanTestDevice open() {
        return open(VulkanOptions.defaults().withCacheDir(TEST_CACHE));
    }

    static VulkanTestDevice open(VulkanOptions options) {
        String reason = new VulkanBackendProvider().unavailableReason();
        if (!reason.isEmpty()) {
            // Surefire lists skipped tests without their reason; say it where the build log shows it.
            System.err.println("SKIPPED Vulkan tests: Vulkan not available here: " + reason);
        }
        assumeTrue(reason.isEmpty(), () -> "Vulkan not available here: " + reason);
        return new VulkanTestDevice(new VulkanBackend(options));
    }

    @Override
    public void close() {
        backend.close();
    }
}
