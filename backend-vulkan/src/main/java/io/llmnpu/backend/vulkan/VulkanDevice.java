package io.llmnpu.backend.vulkan;

import static org.lwjgl.system.MemoryStack.stackPush;
import static org.lwjgl.vulkan.VK10.*;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.Capability;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.tensor.Tensor;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkDevice;
import org.lwjgl.vulkan.VkDeviceCreateInfo;
import org.lwjgl.vulkan.VkDeviceQueueCreateInfo;
import org.lwjgl.vulkan.VkPhysicalDeviceMemoryProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Vulkan device (a logical device on one physical device) with its compute queue. Pipelines are
 * created on first use per shader variant and kept; weights and KV caches live in device-wide stores
 * shared by every graph compiled here. All device work is serialised by one lock: one queue, one
 * submission at a time, and the shared stores need it.
 */
public final class VulkanDevice implements Device {
    private static final Logger LOG = LoggerFactory.getLogger(VulkanDevice.class);

    private final String name;
    private final DeviceInfo info;
    private final VulkanOptions options;
    private final VkDevice device;
    private final CommandQueue queue;
    private final DeviceMemory memory;
    private final Transfers transfers;
    private final WeightStore weights;
    private final ResidentStateStore states;
    private final Pipelines pipelines;
    private final OpSupport support;
    private final ReentrantLock lock = new ReentrantLock();
    private final Set<VulkanCompiledGraph> graphs = new LinkedHashSet<>();
    private volatile CostModel costs;
    private boolean closed;

    VulkanDevice(String name, VulkanInstance.PhysicalDevice physical, VulkanOptions options) {
        this.name = name;
        this.info = physical.info();
        this.options = options;
        this.device = createDevice(physical);
        try {
            this.queue = new CommandQueue(device, info.computeQueueFamily());
            try (MemoryStack stack = stackPush()) {
                VkPhysicalDeviceMemoryProperties props = VkPhysicalDeviceMemoryProperties.malloc(stack);
                vkGetPhysicalDeviceMemoryProperties(physical.handle(), props);
                this.memory = new DeviceMemory(device, props, options.staging(), info.maxAllocationBytes());
            }
            this.transfers = new Transfers(memory, queue);
            long binding = Math.min(info.maxStorageBufferRange(), info.maxAllocationBytes());
            long slice = Math.min(binding, options.weightSliceBytes());
            this.weights = new WeightStore(memory, transfers, slice);
            this.states = new ResidentStateStore(memory, transfers);
            this.pipelines = new Pipelines(device, info, options.cacheDir(), options.subgroups() && info.subgroupArithmetic());
            this.support = new OpSupport(binding, slice, info.maxWorkGroupCount()[1]);
        } catch (RuntimeException e) {
            vkDestroyDevice(device, null);
            throw e;
        }
        this.costs = new CostModel(CostRates.defaults(info));
    }

    private static VkDevice createDevice(VulkanInstance.PhysicalDevice physical) {
        try (MemoryStack stack = stackPush()) {
            VkDeviceQueueCreateInfo.Buffer queues = VkDeviceQueueCreateInfo.calloc(1, stack).sType$Default()
                    .queueFamilyIndex(physical.info().computeQueueFamily()).pQueuePriorities(stack.floats(1f));
            VkDeviceCreateInfo create = VkDeviceCreateInfo.calloc(stack).sType$Default().pQueueCreateInfos(queues);
            PointerBuffer handle = stack.mallocPointer(1);
            Vk.check(vkCreateDevice(physical.handle(), create, null, handle), "vkCreateDevice for " + physical.info().name());
            return new VkDevice(handle.get(0), physical.handle(), create);
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public DeviceKind kind() {
        // A CPU implementation (lavapipe, SwiftShader) competes with the CPU backend for the same cores.
        return info.isCpu() ? DeviceKind.CPU : DeviceKind.GPU;
    }

    @Override
    public Set<Capability> capabilities() {
        return info.isCpu() ? Set.of() : EnumSet.of(Capability.ASYNC);
    }

    @Override
    public long memoryBytes() {
        return info.localHeapBytes();
    }

    /** What the driver reports about this device. */
    public DeviceInfo info() {
        return info;
    }

    public VulkanOptions options() {
        return options;
    }

    /** The rates this device's cost estimates come from. */
    public CostRates costRates() {
        return costs.rates();
    }

    /** Prices ops with {@code rates} from now on (measured ones replace the defaults after start). */
    void useCostRates(CostRates rates) {
        this.costs = new CostModel(rates);
    }

    /** Whether the shaders reduce with subgroup operations on this device. */
    public boolean usesSubgroups() {
        return pipelines.subgroups();
    }

    @Override
    public Affinity affinity(Op op) {
        if (support.problem(op).isPresent()) {
            return Affinity.unsupported();
        }
        return new Affinity(Affinity.Support.NATIVE, costs.seconds(op));
    }

    @Override
    public CompiledGraph compile(Subgraph graph) {
        return exclusive(() -> {
            ensureOpen();
            VulkanCompiledGraph compiled = new VulkanCompiledGraph(this, graph, new GraphCompiler(this).compile(graph));
            graphs.add(compiled);
            LOG.debug("compiled {} on {}: {} ops, {} bytes of scratch", graph.name(), name, graph.ops().size(),
                    compiled.scratchBytes());
            return compiled;
        });
    }

    /**
     * Drops the device copy of a KV cache tensor, so its next binding uploads the host tensor again.
     * Call it after changing a cache on the host (or through another device) while this device holds it.
     *
     * @return whether the device held a copy
     */
    public boolean forgetResidentState(Tensor state) {
        return exclusive(() -> states.forget(state));
    }

    int residentStates() {
        return exclusive(states::size);
    }

    long stateUploadBytes() {
        return exclusive(states::uploadedBytes);
    }

    int residentWeights() {
        return exclusive(weights::size);
    }

    int liveBuffers() {
        return exclusive(memory::liveBuffers);
    }

    int[] shaderCounts() {
        return exclusive(pipelines::shaderCounts);
    }

    VkDevice handle() {
        return device;
    }

    CommandQueue queue() {
        return queue;
    }

    DeviceMemory memory() {
        return memory;
    }

    WeightStore weights() {
        return weights;
    }

    ResidentStateStore states() {
        return states;
    }

    Pipelines pipelines() {
        return pipelines;
    }

    OpSupport support() {
        return support;
    }

    void exclusive(Runnable work) {
        exclusive(() -> {
            work.run();
            return null;
        });
    }

    <T> T exclusive(Supplier<T> work) {
        lock.lock();
        try {
            return work.get();
        } catch (BackendException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new BackendException("Vulkan device " + name + " failed: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }

    void forgetGraph(VulkanCompiledGraph graph) {
        graphs.remove(graph);
    }

    void ensureOpen() {
        if (closed) {
            throw new BackendException("Vulkan device " + name + " is closed");
        }
    }

    /** Releases every graph, buffer and pipeline, and the logical device. */
    void close() {
        exclusive(() -> {
            if (closed) {
                return;
            }
            closed = true;
            queue.waitIdle();
            new ArrayList<>(graphs).forEach(VulkanCompiledGraph::releaseOnDeviceClose);
            graphs.clear();
            weights.clear();
            states.clear();
            pipelines.close();
            queue.close();
            vkDestroyDevice(device, null);
        });
    }

    @Override
    public String toString() {
        CostRates rates = costs.rates();
        return String.format(Locale.ROOT, "%s: %s; costs %.1f GFLOP/s, %.1f GB/s, %.1f us per dispatch, %s", name, info,
                rates.flopsPerSecond() / 1e9, rates.bytesPerSecond() / 1e9, rates.dispatchSeconds() * 1e6, rates.source());
    }
}
