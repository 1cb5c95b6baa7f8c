package io.llmnpu.tck.selftest;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.Device;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * A small, slow, correct backend for testing the conformance suite: scalar float loops on a pool
 * of worker threads, one device. With {@link Defect}s planted it is the broken backend the suite
 * must fail.
 */
final class ReferenceTestBackend implements Backend {
    private final String name;
    private final Set<Defect> defects;
    private final boolean lossyActivations;
    private final ExecutorService workers;
    private final List<Device> devices;
    private volatile boolean closed;

    ReferenceTestBackend(String name, BackendOptions options, Set<Defect> defects, boolean lossyActivations) {
        this.name = name;
        this.defects = defects;
        this.lossyActivations = lossyActivations;
        this.workers = Executors.newFixedThreadPool(options.effectiveThreads(),
                Thread.ofPlatform().daemon(true).name(name + "-worker-", 0).factory());
        this.devices = List.of(new ScalarDevice(this, name + "0"));
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Device> devices() {
        return devices;
    }

    /** Whether Linear rounds its activations by weight type ({@link ActivationRounding}): lossy but conforming. */
    boolean lossyActivations() {
        return lossyActivations;
    }

    boolean has(Defect defect) {
        return defects.contains(defect);
    }

    void requireOpen(String action) {
        if (closed) {
            throw new BackendException("cannot " + action + ": backend " + name + " is closed");
        }
    }

    /** Runs {@code work} on a worker thread and waits for it, reporting every failure as a BackendException. */
    <T> T onWorker(String what, Callable<T> work) {
        Future<T> f;
        try {
            f = workers.submit(work);
        } catch (RejectedExecutionException e) {
            throw new BackendException(what + ": backend " + name + " is closed", e);
        }
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            f.cancel(true);
            throw new BackendException(what + " was interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof BackendException b) {
                throw b;
            }
            throw new BackendException(what + " failed: " + e.getCause(), e.getCause());
        }
    }

    @Override
    public void close() {
        if (has(Defect.UNPLUG_IGNORED)) {
            return;
        }
        closed = true;
        workers.shutdownNow();
        try {
            workers.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
