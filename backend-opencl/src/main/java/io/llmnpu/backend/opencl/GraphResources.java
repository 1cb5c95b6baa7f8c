package io.llmnpu.backend.opencl;

import static org.jocl.CL.clReleaseKernel;

import io.llmnpu.api.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/** Everything a compiled graph holds on the device, released together on close or on a failed compile. */
final class GraphResources {
    private final WeightStore weights;
    private final List<cl_kernel> kernels = new ArrayList<>();
    private final List<cl_mem> buffers = new ArrayList<>();
    private final List<Tensor> heldWeights = new ArrayList<>();

    GraphResources(WeightStore weights) {
        this.weights = weights;
    }

    cl_kernel kernel(cl_kernel kernel) {
        kernels.add(kernel);
        return kernel;
    }

    cl_mem buffer(cl_mem buffer) {
        buffers.add(buffer);
        return buffer;
    }

    cl_mem weight(Tensor weight) {
        cl_mem mem = weights.acquire(weight);
        heldWeights.add(weight);
        return mem;
    }

    void release() {
        kernels.forEach(k -> clReleaseKernel(k));
        kernels.clear();
        buffers.forEach(ClMemory::release);
        buffers.clear();
        heldWeights.forEach(weights::release);
        heldWeights.clear();
    }
}
