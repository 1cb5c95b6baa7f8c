package io.llmnpu.scheduler;

/** A device profile file that cannot be read: bad JSON, a missing or unknown field, an impossible value. */
public final class ProfileFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ProfileFormatException(String message) {
        super(message);
    }

    public ProfileFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
