package io.llmnpu.api.backend;

/**
 * The service a backend publishes (through {@code META-INF/services} on a plain classpath, or as an
 * OSGi service in a bundle). The runtime finds providers this way and never names an implementation.
 */
public interface BackendProvider {

    /** Short name users select the backend by, e.g. {@code cpu}. */
    String name();

    /**
     * Whether the backend can run on this machine (drivers and libraries present), and if not why.
     * A provider that cannot run returns a non-empty reason and is skipped.
     */
    default String unavailableReason() {
        return "";
    }

    Backend create(BackendOptions options);
}
