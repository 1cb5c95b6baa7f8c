package io.llmnpu.it;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the real-client scripts in {@code src/test/node} (the openai package, headless Chromium through
 * playwright-core) with the machine's node. Tests that need them skip, with the reason, when node, the
 * packages ({@code npm ci} in that folder) or Chromium are missing.
 */
final class NodeClients {
    static final Path DIR = Path.of(System.getProperty("llmnpu.repo.dir", "..")).toAbsolutePath().normalize()
            .resolve("integration-tests/src/test/node");
    static final Path CHROMIUM = Path.of(System.getProperty("llmnpu.chromium", "/usr/bin/chromium"));

    record Result(int exitCode, String output) {
    }

    private NodeClients() {
    }

    static void assumeNode() {
        assumeTrue(onPath("node"), "node is not installed: skipping the real-client test (install Node.js 20+)");
        assumeTrue(Files.isDirectory(DIR.resolve("node_modules/openai")) && Files.isDirectory(DIR.resolve("node_modules/playwright-core")),
                "the client packages are not installed: run 'npm ci' in " + DIR);
    }

    static void assumeChromium() {
        assumeNode();
        assumeTrue(Files.isExecutable(CHROMIUM), "Chromium is not installed at " + CHROMIUM
                + ": skipping the page test (Debian: apt-get install chromium)");
    }

    static Result run(List<String> command, Map<String, String> env, long timeoutSeconds)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(DIR.toFile()).redirectErrorStream(true);
        pb.environment().putAll(env);
        Path out = Files.createTempFile("llmnpu-node", ".txt");
        pb.redirectOutput(out.toFile());
        Process p = pb.start();
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                throw new AssertionError(command + " did not finish in " + timeoutSeconds + " s:\n"
                        + Files.readString(out, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private static boolean onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }
}
