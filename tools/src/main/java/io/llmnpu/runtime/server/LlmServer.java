package io.llmnpu.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.llmnpu.runtime.api.CancellationToken;
import io.llmnpu.runtime.api.LlmRuntime;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Locale;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code llmnpu serve}: an OpenAI-compatible HTTP server over one {@link LlmRuntime}.
 *
 * <p>Routes: {@code GET /v1/models}, {@code POST /v1/completions}, {@code POST /v1/chat/completions}
 * (both with {@code stream: true} as server-sent events), {@code GET /health}, {@code GET /metrics}
 * (Prometheus text) and the chat page at {@code /}. Requests to /v1 need the API key when one is set.
 * Each request runs on a virtual thread; generation runs in one of {@code --parallel} KV slots
 * ({@link SlotManager}); errors are OpenAI-style JSON ({@link ApiException}).
 */
public final class LlmServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LlmServer.class);
    private static final String PAGE = "/io/llmnpu/runtime/server/index.html";

    private final LlmRuntime llm;
    private final ServerConfig config;
    private final String modelId;
    private final SlotManager slots;
    private final ServerMetrics metrics;
    private final DisconnectWatcher watcher = new DisconnectWatcher();
    private final CompletionHandler handler;
    private final byte[] page;
    private final Javalin app;
    private final java.util.Set<CancellationToken> running = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile boolean stopping;

    private LlmServer(LlmRuntime llm, ServerConfig config, String modelId) {
        this.llm = llm;
        this.config = config;
        this.modelId = modelId;
        this.slots = new SlotManager(llm, config.parallel(), config.queueLimit(), config.queueTimeout());
        this.metrics = new ServerMetrics(slots::queued, slots::busy, slots.total(), llm.devices());
        this.handler = new CompletionHandler(llm, slots, metrics, config, modelId);
        this.page = readPage();
        this.app = Javalin.create(cfg -> {
            cfg.startup.showJavalinBanner = false;
            cfg.startup.showOldJavalinVersionWarning = false;
            cfg.concurrency.useVirtualThreads = true;
            cfg.http.maxRequestSize = config.maxBodyBytes();
            cfg.routes.get("/", this::page);
            cfg.routes.get("/health", this::health);
            cfg.routes.get("/metrics", this::metrics);
            cfg.routes.get("/v1/models", this::models);
            cfg.routes.post("/v1/completions", ctx -> complete(ctx, false));
            cfg.routes.post("/v1/chat/completions", ctx -> complete(ctx, true));
            cfg.routes.exception(ApiException.class, (e, ctx) -> sendError(ctx, e));
            cfg.routes.exception(Exception.class, (e, ctx) -> {
                log.error("request {} {} failed", ctx.method(), ctx.path(), e);
                sendError(ctx, new ApiException(500, "server_error", "internal error: " + e.getMessage(), null, null));
            });
            // Javalin's own refusals (unknown URL, wrong method, ...) in the same error format as the API's.
            cfg.routes.exception(HttpResponseException.class, (e, ctx) -> sendError(ctx, e.getStatus() == 404
                    ? ApiException.notFound(ctx.method() + " " + ctx.path())
                    : new ApiException(e.getStatus(), "invalid_request_error", e.getMessage(), null, null)));
        });
    }

    /**
     * Starts serving {@code llm} (which the caller keeps and closes after this server).
     *
     * @param modelId the model name clients send and {@code /v1/models} lists
     */
    public static LlmServer start(LlmRuntime llm, ServerConfig config, String modelId) {
        Objects.requireNonNull(modelId, "modelId");
        LlmServer server = new LlmServer(llm, config, modelId);
        try {
            server.app.start(config.host(), config.port());
        } catch (RuntimeException e) {
            server.close();
            throw new IllegalStateException("cannot listen on " + config.host() + ":" + config.port() + ": "
                    + e.getMessage(), e);
        }
        return server;
    }

    /** The port it listens on (useful with port 0). */
    public int port() {
        return app.port();
    }

    /** Base URL, e.g. {@code http://127.0.0.1:8080}. */
    public String url() {
        String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return "http://" + host + ":" + port();
    }

    /** KV slots generating now (for tests and health). */
    public int busySlots() {
        return slots.busy();
    }

    /** Requests waiting for a slot. */
    public int queuedRequests() {
        return slots.queued();
    }

    /** Stops accepting requests, cancels running generations, and frees the slots. */
    @Override
    public void close() {
        stopping = true;
        running.forEach(CancellationToken::cancel);
        slots.close();
        app.stop();
        watcher.close();
    }

    private void complete(Context ctx, boolean chat) throws InterruptedException {
        long arrival = System.nanoTime();
        String endpoint = chat ? "chat" : "completions";
        int status = 500;
        try {
            checkKey(ctx);
            byte[] body = readBody(ctx);
            CompletionRequest request = chat
                    ? RequestParser.parseChat(body, llm.contextLength())
                    : RequestParser.parseCompletion(body, llm.contextLength());
            CancellationToken cancel = new CancellationToken();
            running.add(cancel);
            try (DisconnectWatcher.Watch watch = watcher.watch(ConnectionProbe.of(ctx.req()), cancel::cancel)) {
                if (stopping) {
                    throw ApiException.unavailable("the server is shutting down");
                }
                status = handler.handle(request, exchange(ctx), watch, cancel, arrival);
            } finally {
                running.remove(cancel);
            }
        } catch (ApiException e) {
            status = e.status();
            throw e;
        } finally {
            metrics.request(endpoint, status);
        }
    }

    private void models(Context ctx) {
        checkKey(ctx);
        ObjectNode root = ResponseJson.JSON.createObjectNode();
        root.put("object", "list");
        ObjectNode model = root.putArray("data").addObject();
        model.put("id", modelId);
        model.put("object", "model");
        model.put("created", 0);
        model.put("owned_by", "llmnpu");
        model.putObject("meta").put("context_length", llm.contextLength())
                .put("chat_template", llm.chatTemplate().name()).put("device", llm.deviceName());
        sendJson(ctx, 200, root);
        metrics.request("models", 200);
    }

    private void health(Context ctx) {
        ObjectNode root = ResponseJson.JSON.createObjectNode();
        root.put("status", stopping ? "stopping" : "ok");
        root.put("slots_total", slots.total());
        root.put("slots_busy", slots.busy());
        root.put("queued", slots.queued());
        sendJson(ctx, stopping ? 503 : 200, root);
    }

    private void metrics(Context ctx) {
        ctx.contentType("text/plain; version=0.0.4; charset=utf-8");
        ctx.result(metrics.scrape());
    }

    private void page(Context ctx) {
        ctx.contentType("text/html; charset=utf-8");
        ctx.result(page);
    }

    private void checkKey(Context ctx) {
        if (!config.requiresKey()) {
            return;
        }
        String header = ctx.header("Authorization");
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw ApiException.unauthorized("Missing API key: send it as 'Authorization: Bearer KEY'");
        }
        byte[] given = header.substring(7).trim().getBytes(StandardCharsets.UTF_8);
        if (!MessageDigest.isEqual(given, config.apiKey().getBytes(StandardCharsets.UTF_8))) {
            throw ApiException.unauthorized("Incorrect API key provided");
        }
    }

    /** Reads the body, refusing (413) one larger than the limit before reading it all. */
    private byte[] readBody(Context ctx) {
        long limit = config.maxBodyBytes();
        long declared = ctx.req().getContentLengthLong();
        if (declared > limit) {
            throw ApiException.tooLarge(limit);
        }
        try (InputStream in = ctx.req().getInputStream()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buffer = new byte[8192];
            int n;
            while ((n = in.read(buffer)) > 0) {
                out.write(buffer, 0, n);
                if (out.size() > limit) {
                    throw ApiException.tooLarge(limit);
                }
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw ApiException.invalid("the request body could not be read: " + e.getMessage(), null);
        }
    }

    private Exchange exchange(Context ctx) {
        return new Exchange() {
            @Override
            public void json(int status, JsonNode body) {
                sendJson(ctx, status, body);
            }

            @Override
            public OutputStream openEventStream() {
                ctx.status(200);
                ctx.res().setContentType("text/event-stream; charset=utf-8");
                ctx.res().setHeader("Cache-Control", "no-cache");
                ctx.res().setHeader("X-Accel-Buffering", "no");
                try {
                    return ctx.res().getOutputStream();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
    }

    private static void sendError(Context ctx, ApiException e) {
        if (ctx.res().isCommitted()) {
            return; // a stream has started: the client sees it end without [DONE]
        }
        if (e.status() == 401) {
            ctx.header("WWW-Authenticate", "Bearer");
        }
        sendJson(ctx, e.status(), ResponseJson.error(e));
    }

    private static void sendJson(Context ctx, int status, JsonNode body) {
        try {
            ctx.status(status);
            ctx.contentType("application/json");
            ctx.result(ResponseJson.JSON.writeValueAsBytes(body));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] readPage() {
        try (InputStream in = LlmServer.class.getResourceAsStream(PAGE)) {
            if (in == null) {
                throw new IllegalStateException("the chat page " + PAGE + " is missing from the class path");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "llmnpu server at %s (%s, %d slots)", url(), modelId, slots.total());
    }
}
