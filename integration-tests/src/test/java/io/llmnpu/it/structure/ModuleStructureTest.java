package io.llmnpu.it.structure;

import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.lang.ArchRule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The structure every change keeps: no package cycle anywhere, and each module imports only the
 * modules below it (core-api at the bottom, the command line at the top; the engine never names a
 * backend). Maven already refuses a module dependency that points upward; this also catches cycles
 * between packages of one module and code that reaches a backend by name.
 */
class ModuleStructureTest {
    private static final Path REPO =
            Path.of(System.getProperty("llmnpu.repo.dir", "..")).toAbsolutePath().normalize();
    private static final String RUNTIME = "io.llmnpu.runtime.";

    private static JavaClasses productClasses;

    /** Every module's main classes, read from its build output (tests and fixtures excluded). */
    @BeforeAll
    static void importProductClasses() throws IOException {
        List<Path> outputs = new ArrayList<>();
        List<String> unbuilt = new ArrayList<>();
        try (Stream<Path> modules = Files.list(REPO)) {
            for (Path module : modules.sorted().toList()) {
                if (!Files.isDirectory(module.resolve("src/main/java"))) {
                    continue;
                }
                Path classes = module.resolve("target/classes");
                if (Files.isDirectory(classes)) {
                    outputs.add(classes);
                } else {
                    unbuilt.add(module.getFileName().toString());
                }
            }
        }
        assertTrue(unbuilt.isEmpty(), "modules not compiled yet, so their structure cannot be checked: "
                + unbuilt + " (build them first: ./run-tests or mvn -pl integration-tests -am test)");
        productClasses = new ClassFileImporter().importPaths(outputs);
    }

    @Test
    void noPackageDependsOnItselfThroughAnother() {
        packagesFreeOfCycles("io.llmnpu.(**)").check(productClasses);
    }

    @Test
    void modulesImportOnlyDownward() {
        layers().check(productClasses);
    }

    /** The cycle rule is not vacuous: two fixture packages that use each other are reported. */
    @Test
    void aPackageCycleIsReported() {
        JavaClasses fixture = new ClassFileImporter().importPackages("io.llmnpu.it.structure.fixture");
        assertFalse(fixture.isEmpty());
        AssertionError error = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class,
                () -> packagesFreeOfCycles("io.llmnpu.it.structure.fixture.(*)..").check(fixture));
        assertTrue(error.getMessage().contains("Cycle detected"), error.getMessage());
    }

    private static ArchRule packagesFreeOfCycles(String slicePattern) {
        return slices().matching(slicePattern).should().beFreeOfCycles();
    }

    private static ArchRule layers() {
        return layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("core-api").definedBy("io.llmnpu.api..")
                .layer("charts").definedBy("io.llmnpu.charts..")
                .layer("backend-support").definedBy("io.llmnpu.backend.support..")
                .layer("backend-tck").definedBy("io.llmnpu.tck..")
                .layer("backends").definedBy("io.llmnpu.backend.cpu..", "io.llmnpu.backend.opencl..",
                        "io.llmnpu.backend.vulkan..", "io.llmnpu.backend.qnn..", "io.llmnpu.backend.npu..")
                .layer("scheduler").definedBy("io.llmnpu.scheduler..")
                .layer("model").definedBy(RUNTIME + "files..", RUNTIME + "model..", RUNTIME + "tokenizer..")
                .layer("engine").definedBy(RUNTIME + "graph..", RUNTIME + "engine..", RUNTIME + "sampling..",
                        RUNTIME + "chat..", RUNTIME + "quant..", RUNTIME + "api..")
                .layer("host").definedBy(RUNTIME + "osgi..")
                .layer("tools").definedBy(RUNTIME + "cli..", RUNTIME + "bench..", RUNTIME + "measure..",
                        RUNTIME + "synth..", RUNTIME + "server..")
                .whereLayer("tools").mayNotBeAccessedByAnyLayer()
                .whereLayer("host").mayOnlyBeAccessedByLayers("tools")
                .whereLayer("engine").mayOnlyBeAccessedByLayers("host", "tools")
                .whereLayer("model").mayOnlyBeAccessedByLayers("engine", "host", "tools")
                .whereLayer("scheduler").mayOnlyBeAccessedByLayers("engine", "host", "tools")
                .whereLayer("charts").mayOnlyBeAccessedByLayers("scheduler", "tools")
                // Backends are plug-ins: found through ServiceLoader or OSGi, never named by the core.
                .whereLayer("backends").mayOnlyBeAccessedByLayers("backends")
                .whereLayer("backend-tck").mayNotBeAccessedByAnyLayer()
                .whereLayer("backend-support").mayOnlyBeAccessedByLayers("backends");
    }
}
