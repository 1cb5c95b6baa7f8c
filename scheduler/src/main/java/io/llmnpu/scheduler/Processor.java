package io.llmnpu.scheduler;

import io.llmnpu.api.backend.DeviceKind;
import java.util.Objects;

/**
 * One lane of a schedule: a device as cost tables, reports and charts name it. A real device
 * ({@code npu-ref/npu0}) and a simulated one (a profile's {@code npu}) look the same here.
 *
 * @param name unique within a cost table
 * @param kind NPU, GPU or CPU: decides what counts as an NPU bubble
 */
public record Processor(String name, DeviceKind kind) {
    public Processor {
        Objects.requireNonNull(kind, "kind");
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("a processor needs a name");
        }
    }
}
