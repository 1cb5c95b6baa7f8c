package io.llmnpu.backend.opencl;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Value;

/**
 * A rough roofline estimate of an op's time on a device: the larger of arithmetic time at an assumed
 * peak and memory time at an assumed bandwidth, plus launch overhead. Peaks come from the compute
 * unit count and clock with per-kind guesses of lanes per unit; good enough for a scheduler to rank
 * devices, not for prediction.
 */
record CostModel(double flopsPerSecond, double bytesPerSecond, double launchSeconds) {

    static CostModel of(ClDeviceInfo device) {
        double clockHz = Math.max(device.clockMhz(), 1000) * 1e6;
        int units = Math.max(device.computeUnits(), 1);
        if (device.isGpu()) {
            return new CostModel(units * clockHz * 128, device.hostUnifiedMemory() ? 50e9 : 500e9, 10e-6);
        }
        return new CostModel(units * clockHz * 16, 15e9, 30e-6);
    }

    double seconds(Op op) {
        double flops;
        double bytes;
        int kernels = 1;
        switch (op) {
            case Op.Linear l -> {
                long rows = l.in().shape().rows();
                long n = l.weight().shape().dim(0);
                long k = l.weight().shape().dim(1);
                flops = 2.0 * rows * n * k;
                bytes = l.weight().byteSize() + 4.0 * rows * (n + k);
            }
            case Op.Attention a -> {
                long rows = a.q().shape().rows();
                long ctx = a.kCache().shape().rows();
                // Unknown positions: assume rows attend on average to half the cache.
                double keys = Math.max(1, ctx / 2.0);
                flops = 4.0 * rows * a.heads() * a.headDim() * keys;
                bytes = 2.0 * 4 * keys * a.kvHeads() * a.headDim() * Math.max(1, a.heads() / a.kvHeads())
                        + 4.0 * rows * (a.q().shape().cols() * 2L + a.k().shape().cols() * 2L);
                kernels = 2;
            }
            case Op.Embedding e -> {
                flops = 0;
                bytes = 2.0 * bytes(e.out());
            }
            default -> {
                long in = op.inputs().stream().mapToLong(CostModel::bytes).sum();
                long out = op.outputs().stream().mapToLong(CostModel::bytes).sum();
                flops = 4.0 * out / 4;
                bytes = in + out;
            }
        }
        return kernels * launchSeconds + Math.max(flops / flopsPerSecond, bytes / bytesPerSecond);
    }

    private static long bytes(Value v) {
        return v.dtype().byteSize(v.shape().elements());
    }
}
