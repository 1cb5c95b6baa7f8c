package io.llmnpu.scheduler;

import io.llmnpu.api.backend.DeviceKind;

/** Which class of processor a subgraph is cut out for, as llm.npu splits each layer. */
public enum AffinityClass {
    /** Static-shape INT8 matrix work: the NPU's strength. */
    NPU,
    /** Float and dynamic-shape work (RoPE, attention over a growing KV cache, softmax, outliers). */
    CPU_GPU;

    /** Whether a device of {@code kind} belongs to this class. */
    public boolean includes(DeviceKind kind) {
        return switch (this) {
            case NPU -> kind == DeviceKind.NPU;
            case CPU_GPU -> kind == DeviceKind.CPU || kind == DeviceKind.GPU;
        };
    }
}
