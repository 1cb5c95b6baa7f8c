package io.llmnpu.backend.vulkan;

import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.tck.BackendConformanceSuite;

/** The Vulkan backend against the conformance suite (on lavapipe here, any Vulkan driver elsewhere). */
class VulkanBackendConformanceTest extends BackendConformanceSuite {
    @Override
    protected BackendProvider provider() {
        return new VulkanBackendProvider();
    }
}
