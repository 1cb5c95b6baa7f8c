package io.llmnpu.it;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;

/** Builds bundle jars in tests, and finds the ones the build made. */
final class BundleJars {

    private BundleJars() {
    }

    /** The CPU backend bundle the reactor built (surefire passes its path). */
    static Path cpuBundle() {
        return built("llmnpu.cpu.bundle", "bundles/backend-cpu-vector-bundle");
    }

    /** The bundle of the CPU backend with oneDNN int8 products, which the reactor built. */
    static Path nativeBundle() {
        return built("llmnpu.native.bundle", "bundles/backend-cpu-native-bundle");
    }

    /** The Vulkan backend bundle the reactor built (surefire passes its path). */
    static Path vulkanBundle() {
        return built("llmnpu.vulkan.bundle", "bundles/backend-vulkan-bundle");
    }

    private static Path built(String property, String module) {
        Path jar = Path.of(System.getProperty(property, "../" + module + "/target/missing.jar"));
        if (!Files.isRegularFile(jar)) {
            throw new AssertionError("the bundle " + jar + " has not been built; run 'mvn verify' "
                    + "(or 'mvn package -DskipTests -pl " + module + " -am' before the tests)");
        }
        return jar;
    }

    /**
     * Writes a bundle jar holding every class of {@code anchor}'s package (from the test class path)
     * and a manifest with {@code headers}.
     */
    static Path write(Path jar, Map<String, String> headers, Class<?> anchor) throws IOException {
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue("Bundle-ManifestVersion", "2");
        headers.forEach(main::putValue);
        String packagePath = anchor.getPackageName().replace('.', '/');
        Path classes;
        try {
            classes = Path.of(anchor.getResource(anchor.getSimpleName() + ".class").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IOException(e);
        }
        List<Path> classFiles;
        try (Stream<Path> files = Files.list(classes)) {
            classFiles = files.filter(f -> f.toString().endsWith(".class")).sorted().toList();
        }
        Path part = jar.resolveSibling("." + jar.getFileName() + ".part");
        try (OutputStream file = Files.newOutputStream(part); JarOutputStream out = new JarOutputStream(file, manifest)) {
            for (Path c : classFiles) {
                out.putNextEntry(new JarEntry(packagePath + "/" + c.getFileName()));
                Files.copy(c, out);
                out.closeEntry();
            }
        }
        return Files.move(part, jar, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Copies {@code jar} into {@code directory} so that it appears there whole, at once. */
    static Path drop(Path jar, Path directory, String name) throws IOException {
        Path part = directory.resolve("." + name + ".part");
        Files.copy(jar, part, StandardCopyOption.REPLACE_EXISTING);
        return Files.move(part, directory.resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }
}
