package io.llmnpu.runtime.server;

import java.time.Duration;

/**
 * How the server listens and how much it accepts.
 *
 * @param host          address to bind (loopback by default: expose on purpose)
 * @param port          TCP port; 0 picks a free one
 * @param apiKey        the bearer token every /v1 request must carry; null or empty to accept all
 * @param parallel      generations that run at once, each in its own KV slot
 * @param queueLimit    requests that may wait for a slot; more are refused with 429
 * @param queueTimeout  longest wait for a slot before a request is refused with 503
 * @param maxBodyBytes  largest request body; larger ones are refused with 413
 * @param defaultMaxTokens tokens generated when a request names no max_tokens (still capped by the context)
 */
public record ServerConfig(String host, int port, String apiKey, int parallel, int queueLimit, Duration queueTimeout,
                           long maxBodyBytes, int defaultMaxTokens) {

    public ServerConfig {
        if (parallel < 1 || parallel > 256) {
            throw new IllegalArgumentException("--parallel must be in 1..256, got " + parallel);
        }
        if (queueLimit < 0) {
            throw new IllegalArgumentException("the queue limit must be >= 0, got " + queueLimit);
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in 0..65535, got " + port);
        }
        if (maxBodyBytes < 1024) {
            throw new IllegalArgumentException("the body limit must be at least 1024 bytes, got " + maxBodyBytes);
        }
        if (defaultMaxTokens < 1) {
            throw new IllegalArgumentException("the default max tokens must be >= 1, got " + defaultMaxTokens);
        }
    }

    /** Loopback, port 8080, no key, one slot, 64 queued, 5 minutes' wait, 1 MiB bodies, 512 tokens. */
    public static ServerConfig defaults() {
        return new ServerConfig("127.0.0.1", 8080, null, 1, 64, Duration.ofMinutes(5), 1 << 20, 512);
    }

    public ServerConfig withPort(int p) {
        return new ServerConfig(host, p, apiKey, parallel, queueLimit, queueTimeout, maxBodyBytes, defaultMaxTokens);
    }

    public ServerConfig withHost(String h) {
        return new ServerConfig(h, port, apiKey, parallel, queueLimit, queueTimeout, maxBodyBytes, defaultMaxTokens);
    }

    public ServerConfig withApiKey(String key) {
        return new ServerConfig(host, port, key, parallel, queueLimit, queueTimeout, maxBodyBytes, defaultMaxTokens);
    }

    public ServerConfig withParallel(int n) {
        return new ServerConfig(host, port, apiKey, n, queueLimit, queueTimeout, maxBodyBytes, defaultMaxTokens);
    }

    public ServerConfig withQueue(int limit, Duration timeout) {
        return new ServerConfig(host, port, apiKey, parallel, limit, timeout, maxBodyBytes, defaultMaxTokens);
    }

    public ServerConfig withMaxBodyBytes(long n) {
        return new ServerConfig(host, port, apiKey, parallel, queueLimit, queueTimeout, n, defaultMaxTokens);
    }

    public ServerConfig withDefaultMaxTokens(int n) {
        return new ServerConfig(host, port, apiKey, parallel, queueLimit, queueTimeout, maxBodyBytes, n);
    }

    public boolean requiresKey() {
        return apiKey != null && !apiKey.isEmpty();
    }

    /** For start-up messages: whether an API key is required (never the key itself). */
    public String requiresKeyText() {
        return requiresKey() ? "API key required" : "no API key";
    }
}
