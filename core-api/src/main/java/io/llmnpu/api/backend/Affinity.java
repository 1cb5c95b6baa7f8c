package io.llmnpu.api.backend;

/**
 * How well a device runs one op: whether it supports it at all, and an estimate of the time one
 * execution takes, which the scheduler compares across devices.
 */
public record Affinity(Support support, double estimatedSeconds) {

    public enum Support {
        /** Runs on the device's own hardware path. */
        NATIVE,
        /** Runs, but through a slow fallback (e.g. a float op on an integer NPU). */
        EMULATED,
        UNSUPPORTED
    }

    public static Affinity unsupported() {
        return new Affinity(Support.UNSUPPORTED, Double.POSITIVE_INFINITY);
    }

    public boolean isSupported() {
        return support != Support.UNSUPPORTED;
    }
}
