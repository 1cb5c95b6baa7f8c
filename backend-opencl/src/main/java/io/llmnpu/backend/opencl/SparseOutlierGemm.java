package io.llmnpu.backend.opencl;

import static org.jocl.CL.*;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * The sparse half of shadow outlier execution on an OpenCL device: {@code y[t] += W[:, c] * x[t][c]}
 * summed over a short list of input channels c, with W [outFeatures, inFeatures] in any weight type
 * the kernels decode. The weight is uploaded once (shared with graphs through the device's weight
 * store); activations, channel list and accumulator travel per call.
 */
public final class SparseOutlierGemm implements AutoCloseable {
    private final OpenClDevice device;
    private final Tensor weight;
    private final cl_mem weightMem;
    private final cl_kernel kernel;
    private boolean closed;

    SparseOutlierGemm(OpenClDevice device, Tensor weight) {
        if (!OpChecks.MATRIX_WEIGHTS.contains(weight.dtype()) || weight.shape().rank() != 2) {
            throw new BackendException("outlier weight " + weight + " must be a matrix of a supported weight type");
        }
        if (weight.dtype().isQuantized() && weight.shape().dim(1) % weight.dtype().blockSize() != 0) {
            throw new BackendException("rows of quantized weight " + weight + " must be whole blocks");
        }
        this.device = device;
        this.weight = weight;
        int[] status = new int[1];
        this.kernel = clCreateKernel(device.program().program(), "outlier_gemm", status);
        ClCall.check(status[0], "clCreateKernel(outlier_gemm)");
        try {
            this.weightMem = device.weights().acquire(weight);
        } catch (RuntimeException e) {
            clReleaseKernel(kernel);
            throw e;
        }
    }

    /**
     * Adds the outlier channels' contribution to {@code y}.
     *
     * @param x activations F32 [T, inFeatures]
     * @param channels input channel indices, each in [0, inFeatures)
     * @param y accumulator F32 [T, outFeatures], read and updated in place
     * @throws BackendException on mismatched shapes or an out-of-range channel
     */
    public void accumulate(Tensor x, int[] channels, Tensor y) {
        int outFeatures = weight.shape().dim(0);
        int inFeatures = weight.shape().dim(1);
        if (x.dtype() != DType.F32 || y.dtype() != DType.F32 || x.shape().cols() != inFeatures
                || y.shape().cols() != outFeatures || x.shape().rows() != y.shape().rows()) {
            throw new BackendException("outlier product with " + weight + " needs x F32 [T, " + inFeatures + "] and y F32 [T, "
                    + outFeatures + "], got " + x + " and " + y);
        }
        for (int c : channels) {
            if (c < 0 || c >= inFeatures) {
                throw new BackendException("outlier channel " + c + " outside 0.." + (inFeatures - 1));
            }
        }
        if (channels.length == 0) {
            return;
        }
        int rows = x.shape().rows();
        device.exclusive(() -> {
            if (closed) {
                throw new BackendException("sparse outlier product is closed");
            }
            cl_mem xMem = null;
            cl_mem yMem = null;
            cl_mem cMem = null;
            try (Arena arena = Arena.ofConfined()) {
                xMem = ClMemory.allocate(device.context(), x.byteSize(), "outlier activations");
                yMem = ClMemory.allocate(device.context(), y.byteSize(), "outlier accumulator");
                cMem = ClMemory.allocate(device.context(), (long) channels.length * Integer.BYTES, "outlier channels");
                MemorySegment channelData = arena.allocateFrom(ValueLayout.JAVA_INT, channels);
                ClMemory.upload(device.queue(), x.data(), xMem, 0, x.byteSize());
                ClMemory.upload(device.queue(), y.data(), yMem, 0, y.byteSize());
                ClMemory.upload(device.queue(), channelData, cMem, 0, channelData.byteSize());
                setArg(0, xMem);
                setArg(1, weightMem);
                setArg(2, KernelNames.weightCode(weight.dtype()));
                setArg(3, cMem);
                setArg(4, channels.length);
                setArg(5, yMem);
                setArg(6, rows);
                setArg(7, outFeatures);
                setArg(8, inFeatures);
                long[] global = {GraphCompiler.roundUp(outFeatures, GraphCompiler.ROW_LWS), rows};
                long[] local = {GraphCompiler.ROW_LWS, 1};
                ClCall.check(clEnqueueNDRangeKernel(device.queue(), kernel, 2, null, global, local, 0, null, null),
                        "launch of outlier_gemm");
                ClMemory.download(device.queue(), yMem, 0, y.data(), y.byteSize());
            } finally {
                ClMemory.release(xMem);
                ClMemory.release(yMem);
                ClMemory.release(cMem);
            }
        });
    }

    private void setArg(int index, cl_mem mem) {
        ClCall.check(clSetKernelArg(kernel, index, Sizeof.cl_mem, Pointer.to(mem)), "clSetKernelArg");
    }

    private void setArg(int index, int value) {
        ClCall.check(clSetKernelArg(kernel, index, Sizeof.cl_int, Pointer.to(new int[] {value})), "clSetKernelArg");
    }

    @Override
    public void close() {
        device.exclusive(() -> {
            if (!closed) {
                closed = true;
                clReleaseKernel(kernel);
                device.weights().release(weight);
            }
        });
    }
}
