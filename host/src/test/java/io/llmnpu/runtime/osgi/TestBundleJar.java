package io.llmnpu.runtime.osgi;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/** Writes an OSGi bundle jar from classes of the test class path and manifest headers given by the test. */
public final class TestBundleJar {

    private TestBundleJar() {
    }

    /** Writes {@code classes} (top-level classes only) into {@code jar} with {@code headers} in its manifest. */
    public static Path write(Path jar, Map<String, String> headers, Class<?>... classes) throws IOException {
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue("Bundle-ManifestVersion", "2");
        headers.forEach(main::putValue);
        Path part = jar.resolveSibling("." + jar.getFileName() + ".part");
        try (OutputStream file = Files.newOutputStream(part); JarOutputStream out = new JarOutputStream(file, manifest)) {
            for (Class<?> c : classes) {
                String entry = c.getName().replace('.', '/') + ".class";
                try (InputStream in = c.getClassLoader().getResourceAsStream(entry)) {
                    if (in == null) {
                        throw new IOException("class file " + entry + " not found on the test class path");
                    }
                    out.putNextEntry(new JarEntry(entry));
                    in.transferTo(out);
                    out.closeEntry();
                }
            }
        }
        // Appears whole: a watcher never sees it half written.
        return Files.move(part, jar, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
