package io.llmnpu.backend.vulkan;

import static org.lwjgl.system.MemoryStack.stackPush;
import static org.lwjgl.system.MemoryUtil.memAlloc;
import static org.lwjgl.system.MemoryUtil.memFree;
import static org.lwjgl.vulkan.VK10.*;

import java.nio.ByteBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkComputePipelineCreateInfo;
import org.lwjgl.vulkan.VkDescriptorSetLayoutBinding;
import org.lwjgl.vulkan.VkDescriptorSetLayoutCreateInfo;
import org.lwjgl.vulkan.VkDevice;
import org.lwjgl.vulkan.VkPipelineCacheCreateInfo;
import org.lwjgl.vulkan.VkPipelineLayoutCreateInfo;
import org.lwjgl.vulkan.VkPushConstantRange;
import org.lwjgl.vulkan.VkShaderModuleCreateInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The compute pipelines of one device, created on first use per shader variant and kept until the
 * device closes, so compiling a graph costs no shader work once its variants exist. The driver's
 * pipeline cache is saved under {@code <cacheDir>/pipelines}, one file per device and driver, so a
 * later start skips the driver's compiler where the driver supports that. Not thread-safe: the device
 * serialises access.
 */
final class Pipelines implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Pipelines.class);

    /** A pipeline with the layouts a dispatch binds it through. */
    record Pipeline(Kernel kernel, long pipeline, long layout, long setLayout) {
    }

    private record Variant(Kernel kernel, SortedMap<String, Integer> defines) {
    }

    private final VkDevice device;
    private final SpirvCompiler compiler;
    private final boolean subgroups;
    private final CacheFiles pipelineFiles;
    private final String pipelineFile;
    private final long pipelineCache;
    private final Map<Variant, Pipeline> pipelines = new HashMap<>();
    private final Map<Integer, Long> setLayouts = new HashMap<>();
    private final Map<Kernel, Long> layouts = new HashMap<>();
    private boolean created;

    Pipelines(VkDevice device, DeviceInfo info, Path cacheDir, boolean subgroups) {
        this.device = device;
        this.compiler = new SpirvCompiler(cacheDir);
        this.subgroups = subgroups;
        this.pipelineFiles = cacheDir == null ? null : new CacheFiles(cacheDir.resolve("pipelines"));
        this.pipelineFile = CacheFiles.sha256Hex(info.identity()).substring(0, 24) + ".bin";
        this.pipelineCache = createCache();
    }

    boolean subgroups() {
        return subgroups;
    }

    private long createCache() {
        Optional<byte[]> saved = pipelineFiles == null ? Optional.empty() : pipelineFiles.read(pipelineFile);
        try (MemoryStack stack = stackPush()) {
            LongBuffer handle = stack.mallocLong(1);
            VkPipelineCacheCreateInfo info = VkPipelineCacheCreateInfo.calloc(stack).sType$Default();
            ByteBuffer data = null;
            if (saved.isPresent() && saved.get().length > 0) {
                data = memAlloc(saved.get().length).put(saved.get()).flip();
                info.pInitialData(data);
            }
            try {
                int result = vkCreatePipelineCache(device, info, null, handle);
                if (result != VK_SUCCESS && data != null) {
                    // A driver may reject data from another version; start empty instead.
                    LOG.debug("driver rejected the saved pipeline cache ({}); starting empty", Vk.name(result));
                    info.pInitialData(null);
                    result = vkCreatePipelineCache(device, info, null, handle);
                }
                Vk.check(result, "vkCreatePipelineCache");
                return handle.get(0);
            } finally {
                if (data != null) {
                    memFree(data);
                }
            }
        }
    }

    /** The pipeline of {@code kernel} with {@code defines}, created now if this device has not made it yet. */
    Pipeline get(Kernel kernel, Map<String, Integer> defines) {
        Variant variant = new Variant(kernel, new TreeMap<>(defines));
        Pipeline p = pipelines.get(variant);
        if (p == null) {
            p = create(variant);
            pipelines.put(variant, p);
        }
        return p;
    }

    private Pipeline create(Variant variant) {
        Kernel kernel = variant.kernel();
        String name = kernel.file() + variant.defines();
        byte[] spirv = compiler.compile(name, ShaderSources.source(kernel, variant.defines(), subgroups));
        long layout = layout(kernel);
        try (MemoryStack stack = stackPush()) {
            LongBuffer handle = stack.mallocLong(1);
            ByteBuffer code = stack.malloc(spirv.length).put(spirv).flip();
            Vk.check(vkCreateShaderModule(device, VkShaderModuleCreateInfo.calloc(stack).sType$Default().pCode(code),
                    null, handle), "vkCreateShaderModule for " + name);
            long module = handle.get(0);
            try {
                VkComputePipelineCreateInfo.Buffer info = VkComputePipelineCreateInfo.calloc(1, stack).sType$Default()
                        .layout(layout);
                info.stage().sType$Default().stage(VK_SHADER_STAGE_COMPUTE_BIT).module(module).pName(stack.UTF8("main"));
                Vk.check(vkCreateComputePipelines(device, pipelineCache, info, null, handle),
                        "vkCreateComputePipelines for " + name);
                created = true;
                return new Pipeline(kernel, handle.get(0), layout, setLayouts.get(kernel.bindings()));
            } finally {
                vkDestroyShaderModule(device, module, null);
            }
        }
    }

    private long layout(Kernel kernel) {
        Long existing = layouts.get(kernel);
        if (existing != null) {
            return existing;
        }
        long setLayout = setLayout(kernel.bindings());
        try (MemoryStack stack = stackPush()) {
            LongBuffer handle = stack.mallocLong(1);
            VkPushConstantRange.Buffer push = VkPushConstantRange.calloc(1, stack)
                    .stageFlags(VK_SHADER_STAGE_COMPUTE_BIT).offset(0).size(kernel.pushWords() * 4);
            Vk.check(vkCreatePipelineLayout(device, VkPipelineLayoutCreateInfo.calloc(stack).sType$Default()
                    .pSetLayouts(stack.longs(setLayout)).pPushConstantRanges(push), null, handle), "vkCreatePipelineLayout");
            layouts.put(kernel, handle.get(0));
            return handle.get(0);
        }
    }

    private long setLayout(int bindings) {
        Long existing = setLayouts.get(bindings);
        if (existing != null) {
            return existing;
        }
        try (MemoryStack stack = stackPush()) {
            VkDescriptorSetLayoutBinding.Buffer b = VkDescriptorSetLayoutBinding.calloc(bindings, stack);
            for (int i = 0; i < bindings; i++) {
                b.get(i).binding(i).descriptorType(VK_DESCRIPTOR_TYPE_STORAGE_BUFFER).descriptorCount(1)
                        .stageFlags(VK_SHADER_STAGE_COMPUTE_BIT);
            }
            LongBuffer handle = stack.mallocLong(1);
            Vk.check(vkCreateDescriptorSetLayout(device, VkDescriptorSetLayoutCreateInfo.calloc(stack).sType$Default()
                    .pBindings(b), null, handle), "vkCreateDescriptorSetLayout");
            setLayouts.put(bindings, handle.get(0));
            return handle.get(0);
        }
    }

    /** Pipelines created so far. */
    int size() {
        return pipelines.size();
    }

    /** Shaders compiled by shaderc and read from the SPIR-V cache. */
    int[] shaderCounts() {
        return compiler.counts();
    }

    /** Saves the driver's pipeline cache (if anything was created) and destroys every object. */
    @Override
    public void close() {
        if (created && pipelineFiles != null) {
            save();
        }
        pipelines.values().forEach(p -> vkDestroyPipeline(device, p.pipeline(), null));
        pipelines.clear();
        layouts.values().forEach(l -> vkDestroyPipelineLayout(device, l, null));
        layouts.clear();
        setLayouts.values().forEach(l -> vkDestroyDescriptorSetLayout(device, l, null));
        setLayouts.clear();
        vkDestroyPipelineCache(device, pipelineCache, null);
        compiler.close();
    }

    private void save() {
        try (MemoryStack stack = stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            if (vkGetPipelineCacheData(device, pipelineCache, size, null) != VK_SUCCESS || size.get(0) == 0) {
                return;
            }
            ByteBuffer data = memAlloc((int) size.get(0));
            try {
                if (vkGetPipelineCacheData(device, pipelineCache, size, data) == VK_SUCCESS) {
                    byte[] bytes = new byte[(int) size.get(0)];
                    data.get(0, bytes);
                    pipelineFiles.write(pipelineFile, bytes);
                }
            } finally {
                memFree(data);
            }
        }
    }
}
