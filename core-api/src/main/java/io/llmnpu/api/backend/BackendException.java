package io.llmnpu.api.backend;

/** A backend could not compile or run work: an unsupported op, a bad binding, or a device failure. */
public class BackendException extends RuntimeException {
    public BackendException(String message) {
        super(message);
    }

    public BackendException(String message, Throwable cause) {
        super(message, cause);
    }
}
