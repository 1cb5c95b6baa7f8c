package io.llmnpu.backend.vulkan;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.lwjgl.system.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads LWJGL's native libraries (its JNI core, and shaderc when shaders must be compiled) so that
 * the backend can be plugged in, out and in again as an OSGi bundle.
 *
 * <p>The JVM refuses to load one JNI library file into two class loaders. On the application class
 * path LWJGL's defaults apply (libraries extracted once under the temporary directory and reused). Under
 * any other class loader (a bundle, whose next installation brings a new loader while the old one may
 * not yet be collected) the libraries are extracted into a folder of this loader's own, and the folder
 * is deleted as soon as they are loaded (a loaded library no longer needs its file). LWJGL records the
 * folder in the system property {@code org.lwjgl.librarypath}; the previous value is put back, so no
 * process-wide setting outlives the load.
 */
final class NativeLibraries {
    private static final Logger LOG = LoggerFactory.getLogger(NativeLibraries.class);
    private static final String LIBRARY_PATH_PROPERTY = "org.lwjgl.librarypath";

    /**
     * This loader's extraction folder, chosen on first use. LWJGL keeps its extraction settings in
     * static fields of its own classes (one copy per class loader), so the folder is per loader too.
     */
    private static Path folder;

    private NativeLibraries() {
    }

    /** Runs {@code load} (which makes LWJGL load a native library) in the way described above. */
    static synchronized <T> T load(Supplier<T> load) {
        if (NativeLibraries.class.getClassLoader() == ClassLoader.getSystemClassLoader()) {
            return load.get();
        }
        String previous = System.getProperty(LIBRARY_PATH_PROPERTY);
        try {
            if (folder == null) {
                folder = Path.of(System.getProperty("java.io.tmpdir"),
                        "llmnpu-lwjgl-" + ProcessHandle.current().pid() + "-"
                                + Integer.toHexString(System.identityHashCode(NativeLibraries.class.getClassLoader())));
                Configuration.SHARED_LIBRARY_EXTRACT_PATH.set(folder.toString());
            }
            return load.get();
        } finally {
            if (previous == null) {
                System.clearProperty(LIBRARY_PATH_PROPERTY);
            } else {
                System.setProperty(LIBRARY_PATH_PROPERTY, previous);
            }
            deleteTree(folder);
        }
    }

    private static void deleteTree(Path folder) {
        if (!Files.exists(folder)) {
            return;
        }
        try (Stream<Path> files = Files.walk(folder)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            LOG.debug("cannot delete {}", folder, e);
        }
    }
}
