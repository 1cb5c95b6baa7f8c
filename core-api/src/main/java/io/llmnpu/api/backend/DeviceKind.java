package io.llmnpu.api.backend;

/** The class of processor a device is; the scheduler prefers NPUs for matrix work and keeps CPUs last. */
public enum DeviceKind {
    NPU,
    GPU,
    CPU
}
