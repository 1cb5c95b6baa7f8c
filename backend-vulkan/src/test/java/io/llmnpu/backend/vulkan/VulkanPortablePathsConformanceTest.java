package io.llmnpu.backend.vulkan;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.tck.BackendConformanceSuite;

/**
 * The conformance suite again with the paths a device like lavapipe never takes by itself: reductions
 * in shared memory instead of subgroups, every transfer through staging buffers and copy commands (as
 * on a discrete GPU), and weights split into 4 KiB row slices (as weights beyond a phone GPU's binding
 * limit are). Fewer lifetime cycles: the plain run checks leaks.
 */
class VulkanPortablePathsConformanceTest extends BackendConformanceSuite {
    static final long SLICE_BYTES = 4 << 10;

    @Override
    protected BackendProvider provider() {
        VulkanBackendProvider vulkan = new VulkanBackendProvider();
        return new BackendProvider() {
            @Override
            public String name() {
                return vulkan.name();
            }

            @Override
            public String unavailableReason() {
                return vulkan.unavailableReason();
            }

            @Override
            public Backend create(BackendOptions options) {
                return vulkan.create(options, VulkanOptions.defaults().withSubgroups(false).withStaging(true)
                        .withWeightSliceBytes(SLICE_BYTES));
            }
        };
    }

    @Override
    protected int lifetimeCycles() {
        return 20;
    }
}
