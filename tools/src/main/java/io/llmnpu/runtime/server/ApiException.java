package io.llmnpu.runtime.server;

/**
 * A request the server answers with an error: an HTTP status and the fields of an OpenAI-style error
 * object ({@code {"error": {"message", "type", "param", "code"}}}).
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;

    public ApiException(int status, String type, String message, String param, String code) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400: the request is malformed or a field has a wrong type or value. */
    public static ApiException invalid(String message, String param) {
        return new ApiException(400, "invalid_request_error", message, param, null);
    }

    /** 400: the prompt and the requested tokens do not fit the context. */
    public static ApiException contextExceeded(String message, String param) {
        return new ApiException(400, "invalid_request_error", message, param, "context_length_exceeded");
    }

    public static ApiException unauthorized(String message) {
        return new ApiException(401, "invalid_request_error", message, null, "invalid_api_key");
    }

    public static ApiException modelNotFound(String model) {
        return new ApiException(404, "invalid_request_error", "The model '" + model + "' does not exist",
                "model", "model_not_found");
    }

    public static ApiException notFound(String path) {
        return new ApiException(404, "invalid_request_error", "Unknown request URL: " + path, null, "unknown_url");
    }

    public static ApiException tooLarge(long limit) {
        return new ApiException(413, "invalid_request_error",
                "The request body is larger than the server accepts (" + limit + " bytes)", null, "request_too_large");
    }

    public static ApiException queueFull(int queued) {
        return new ApiException(429, "rate_limit_error", "The server is busy: " + queued
                + " requests are already waiting for a slot; retry later", null, "queue_full");
    }

    public static ApiException unavailable(String message) {
        return new ApiException(503, "server_error", message, null, "unavailable");
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }
}
