package io.llmnpu.runtime.osgi;

import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.runtime.engine.BackendRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;
import org.osgi.framework.wiring.FrameworkWiring;
import org.osgi.util.tracker.ServiceTracker;
import org.osgi.util.tracker.ServiceTrackerCustomizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hosts backend bundles in an embedded OSGi framework, so backends can be plugged in and unplugged
 * while the runtime serves.
 *
 * <p>The framework is whatever {@link FrameworkFactory} {@link ServiceLoader} finds (Apache Felix on
 * the runtime's class path). Its system bundle exports the core API ({@code io.llmnpu.api.*}) and
 * SLF4J from the host's class path, so bundles and runtime share those classes, and, through the JVM's
 * module layer, {@code jdk.incubator.vector} when the JVM runs with {@code --add-modules
 * jdk.incubator.vector}. Every {@link BackendProvider} service a bundle registers appears in
 * {@link #registry()}, a live {@link BackendRegistry} to open runtimes on; when the bundle stops, the
 * provider is withdrawn, and runtimes stop using it before the bundle goes.
 *
 * <p>With a bundles directory, every jar in it is installed and started at start-up, and the directory
 * is then watched: a jar dropped in is installed and started (plug), a jar removed is stopped and
 * uninstalled (unplug), a jar replaced is both. The framework's storage lives in a temporary directory
 * deleted by {@link #close()}, which also stops every thread the host started.
 */
public final class BackendHost implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BackendHost.class);

    /** How often the bundles directory is polled unless told otherwise. */
    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);

    /** Version the core API packages are exported at (bundles built by bnd import them unversioned). */
    static final String API_VERSION = "0.1.0";
    static final List<String> API_PACKAGES = List.of("io.llmnpu.api.backend", "io.llmnpu.api.graph", "io.llmnpu.api.tensor");
    static final List<String> SLF4J_PACKAGES = List.of("org.slf4j", "org.slf4j.event", "org.slf4j.helpers", "org.slf4j.spi");

    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration REFRESH_TIMEOUT = Duration.ofSeconds(30);

    private final Path storage;
    private final Framework framework;
    private final BackendRegistry registry = BackendRegistry.live();
    private final ServiceTracker<BackendProvider, BackendProvider> tracker;
    /** Jars installed (or tried), by file; guarded by {@code this}. */
    private final Map<Path, Installed> installed = new LinkedHashMap<>();
    private volatile BundleDirectory directory;
    private boolean closed;

    /** A jar the host installed, or failed to: its bundle (null if not installed) and what went wrong. */
    private record Installed(Bundle bundle, String problem) {
    }

    private BackendHost(Path storage, Framework framework) {
        this.storage = storage;
        this.framework = framework;
        BundleContext context = framework.getBundleContext();
        this.tracker = new ServiceTracker<>(context, BackendProvider.class, new ProviderTracking(context));
    }

    /** A host with no bundles directory: bundles come only through {@link #install}. */
    public static BackendHost start() {
        return start(null, DEFAULT_POLL_INTERVAL);
    }

    /** A host running every bundle in {@code bundlesDirectory} and watching it once a second. */
    public static BackendHost start(Path bundlesDirectory) {
        return start(bundlesDirectory, DEFAULT_POLL_INTERVAL);
    }

    /**
     * Starts the framework, installs and starts every jar in {@code bundlesDirectory} (null for none),
     * and watches the directory every {@code pollInterval}. When this returns, the providers of the
     * bundles already there are in {@link #registry()}.
     *
     * @throws IllegalArgumentException if the directory does not exist
     * @throws IllegalStateException    if no OSGi framework is on the class path or it fails to start
     */
    public static BackendHost start(Path bundlesDirectory, Duration pollInterval) {
        if (bundlesDirectory != null && !Files.isDirectory(bundlesDirectory)) {
            throw new IllegalArgumentException("bundles directory not found: " + bundlesDirectory);
        }
        FrameworkFactory factory = ServiceLoader.load(FrameworkFactory.class, BackendHost.class.getClassLoader())
                .findFirst().orElseThrow(() -> new IllegalStateException(
                        "no OSGi framework on the class path (org.apache.felix.framework provides one)"));
        Path storage;
        try {
            storage = Files.createTempDirectory("llmnpu-osgi-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the OSGi framework's storage directory", e);
        }
        BackendHost host = null;
        try {
            Framework framework = factory.newFramework(frameworkConfig(storage));
            framework.init();
            host = new BackendHost(storage, framework);
            framework.getBundleContext().addFrameworkListener(host::frameworkEvent);
            framework.start();
            host.tracker.open();
            if (bundlesDirectory != null) {
                host.directory = BundleDirectory.watch(bundlesDirectory.toAbsolutePath().normalize(), pollInterval,
                        host.new DirectoryEvents());
            }
            log.debug("OSGi host started: {} {}, storage {}", framework.getSymbolicName(), framework.getVersion(), storage);
            return host;
        } catch (BundleException | RuntimeException e) {
            if (host != null) {
                host.close();
            } else {
                deleteTree(storage);
            }
            throw e instanceof RuntimeException re ? re
                    : new IllegalStateException("the OSGi framework failed to start: " + e.getMessage(), e);
        }
    }

    private static Map<String, String> frameworkConfig(Path storage) {
        Map<String, String> config = new HashMap<>();
        config.put(Constants.FRAMEWORK_STORAGE, storage.toString());
        config.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        config.put(Constants.FRAMEWORK_SYSTEMPACKAGES_EXTRA, systemPackagesExtra());
        // Felix settings, by name only: no JVM-wide URL handler factory (the host must leave no global
        // state behind), resolve on the calling thread, and no printing to stdout: problems arrive as
        // exceptions and framework events, which the host logs.
        config.put("felix.service.urlhandlers", "false");
        config.put("felix.resolver.parallelism", "1");
        config.put("felix.log.level", "0");
        return config;
    }

    /** The host's packages bundles import from the system bundle: the core API and SLF4J. */
    static String systemPackagesExtra() {
        String slf4j = LoggerFactory.class.getPackage().getImplementationVersion();
        String slf4jVersion = slf4j == null ? "2.0.0" : slf4j.replaceAll("[^0-9.].*$", "");
        return Stream.concat(
                API_PACKAGES.stream().map(p -> p + ";version=\"" + API_VERSION + "\""),
                SLF4J_PACKAGES.stream().map(p -> p + ";version=\"" + slf4jVersion + "\""))
                .collect(Collectors.joining(","));
    }

    /** The providers of the bundles now active; live, so runtimes opened on it follow plugs and unplugs. */
    public BackendRegistry registry() {
        return registry;
    }

    /** Where the framework keeps installed bundles until {@link #close()} deletes it. */
    Path storageDirectory() {
        return storage;
    }

    /** The watched directory, or null. */
    public Path bundlesDirectory() {
        BundleDirectory d = directory;
        return d == null ? null : d.directory();
    }

    /**
     * Installs and starts the bundle in {@code jar} (the framework keeps its own copy, so the file may
     * go afterwards). A bundle that installs but cannot start (say an import nothing exports) stays
     * installed; its status says why.
     */
    public synchronized BundleStatus install(Path jar) {
        Path file = jar.toAbsolutePath().normalize();
        requireOpen();
        if (installed.containsKey(file)) {
            uninstall(file);
        }
        Bundle bundle;
        try (InputStream in = Files.newInputStream(file)) {
            bundle = framework.getBundleContext().installBundle(file.toUri().toString(), in);
        } catch (IOException | BundleException | RuntimeException e) {
            String problem = "cannot install: " + explain(e);
            log.warn("bundle {} {}", file.getFileName(), problem);
            installed.put(file, new Installed(null, problem));
            return status(file);
        }
        String problem = "";
        try {
            bundle.start();
            log.info("plugged in {} {} from {}: providers {}", bundle.getSymbolicName(), bundle.getVersion(),
                    file.getFileName(), providerNames(bundle));
        } catch (BundleException | RuntimeException e) {
            problem = explain(e);
            log.warn("bundle {} installed but not started: {}", file.getFileName(), problem);
        }
        installed.put(file, new Installed(bundle, problem));
        return status(file);
    }

    /**
     * Stops and uninstalls the bundle installed from {@code jar}. Runtimes using its backends have
     * stopped using them when this returns; its classes are released.
     */
    public synchronized void uninstall(Path jar) {
        Path file = jar.toAbsolutePath().normalize();
        Installed entry = installed.remove(file);
        if (entry == null || entry.bundle == null) {
            return;
        }
        Bundle bundle = entry.bundle;
        String name = bundle.getSymbolicName();
        try {
            bundle.stop(); // withdraws its providers: runtimes release them before this returns
            bundle.uninstall();
        } catch (BundleException | IllegalStateException e) {
            log.warn("bundle {} did not uninstall cleanly: {}", name, e.getMessage());
        }
        refresh(bundle);
        log.info("unplugged {} ({})", name, file.getFileName());
    }

    /** Drops the uninstalled bundle's old wiring, so its class loader can be collected. */
    private void refresh(Bundle bundle) {
        CountDownLatch done = new CountDownLatch(1);
        framework.adapt(FrameworkWiring.class).refreshBundles(List.of(bundle), event -> done.countDown());
        try {
            if (!done.await(REFRESH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                log.warn("refreshing the framework after uninstalling {} took over {} s", bundle.getSymbolicName(),
                        REFRESH_TIMEOUT.toSeconds());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Every jar the host installed or tried to, in the order they came. */
    public synchronized List<BundleStatus> bundles() {
        return installed.keySet().stream().map(this::status).toList();
    }

    private BundleStatus status(Path file) {
        Installed entry = installed.get(file);
        Bundle b = entry.bundle;
        if (b == null) {
            return new BundleStatus(file, "", "", "FAILED", List.of(), entry.problem);
        }
        return new BundleStatus(file, b.getSymbolicName(), b.getVersion().toString(), stateName(b.getState()),
                providerNames(b), b.getState() == Bundle.ACTIVE ? "" : entry.problem);
    }

    private List<String> providerNames(Bundle bundle) {
        List<String> names = new ArrayList<>();
        tracker.getTracked().entrySet().stream()
                .filter(e -> e.getKey().getBundle() == bundle)
                .sorted(Comparator.comparing(e -> e.getValue().name()))
                .forEach(e -> names.add(e.getValue().name()));
        return names;
    }

    private static String stateName(int state) {
        return switch (state) {
            case Bundle.UNINSTALLED -> "UNINSTALLED";
            case Bundle.INSTALLED -> "INSTALLED";
            case Bundle.RESOLVED -> "RESOLVED";
            case Bundle.STARTING -> "STARTING";
            case Bundle.STOPPING -> "STOPPING";
            case Bundle.ACTIVE -> "ACTIVE";
            default -> "UNKNOWN(" + state + ")";
        };
    }

    /** A start failure in words, with the fix for the common one. */
    private static String explain(Exception e) {
        String message = String.valueOf(e.getMessage());
        if (message.contains("jdk.incubator.vector")) {
            message += " (start the JVM with --add-modules jdk.incubator.vector)";
        }
        if (e.getCause() != null && !message.contains(String.valueOf(e.getCause().getMessage()))) {
            message += ": " + e.getCause();
        }
        return message;
    }

    private void frameworkEvent(FrameworkEvent event) {
        if (event.getType() == FrameworkEvent.ERROR || event.getType() == FrameworkEvent.WARNING) {
            log.warn("OSGi framework {} from {}", event.getType() == FrameworkEvent.ERROR ? "error" : "warning",
                    event.getBundle() == null ? "?" : event.getBundle().getSymbolicName(), event.getThrowable());
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the backend host is closed");
        }
    }

    /**
     * Stops watching, withdraws every provider (runtimes still open on the registry stop using them),
     * stops the framework and deletes its storage.
     */
    @Override
    public void close() {
        BundleDirectory d = directory;
        if (d != null) {
            d.close(); // outside the lock: a scan in progress may need it to finish
        }
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        tracker.close();
        try {
            framework.stop();
            FrameworkEvent stopped = framework.waitForStop(STOP_TIMEOUT.toMillis());
            if (stopped.getType() == FrameworkEvent.WAIT_TIMEDOUT) {
                log.warn("the OSGi framework did not stop within {} s", STOP_TIMEOUT.toSeconds());
            }
        } catch (BundleException e) {
            log.warn("the OSGi framework did not stop cleanly: {}", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        deleteTree(storage);
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            log.warn("could not delete the OSGi storage directory {}: {}", root, e.getMessage());
        }
    }

    /** Puts providers in the registry as bundles register them and takes them out as they go. */
    private final class ProviderTracking implements ServiceTrackerCustomizer<BackendProvider, BackendProvider> {
        private final BundleContext context;

        ProviderTracking(BundleContext context) {
            this.context = context;
        }

        @Override
        public BackendProvider addingService(ServiceReference<BackendProvider> reference) {
            Object service = context.getService(reference);
            if (!(service instanceof BackendProvider provider)) {
                // The bundle carries its own copy of the API instead of importing the host's.
                log.warn("bundle {} registered a BackendProvider the host cannot use: {}; it must import "
                        + "io.llmnpu.api.backend, not embed it", reference.getBundle().getSymbolicName(), service);
                context.ungetService(reference);
                return null;
            }
            registry.publish(provider);
            return provider;
        }

        @Override
        public void modifiedService(ServiceReference<BackendProvider> reference, BackendProvider provider) {
            // properties changed; the provider itself is the same
        }

        @Override
        public void removedService(ServiceReference<BackendProvider> reference, BackendProvider provider) {
            registry.withdraw(provider);
            context.ungetService(reference);
        }
    }

    /** Plugs and unplugs as jars come and go in the bundles directory. */
    private final class DirectoryEvents implements BundleDirectory.Listener {
        @Override
        public void added(Path jar) {
            synchronized (BackendHost.this) {
                if (!closed) {
                    install(jar);
                }
            }
        }

        @Override
        public void removed(Path jar) {
            synchronized (BackendHost.this) {
                if (!closed) {
                    uninstall(jar);
                }
            }
        }
    }
}
