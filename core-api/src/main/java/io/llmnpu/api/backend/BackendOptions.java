package io.llmnpu.api.backend;

/**
 * Settings a backend is created with.
 *
 * @param threads worker threads the backend may use for its kernels; 0 means one per available core
 */
public record BackendOptions(int threads) {

    public BackendOptions {
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0, got " + threads);
        }
    }

    public static BackendOptions defaults() {
        return new BackendOptions(0);
    }

    /** The thread count to use: the configured one, or the number of available cores. */
    public int effectiveThreads() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }
}
