package io.llmnpu.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.quant.PlantedOutlierModel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code llmnpu prefill-run} on a tiny model: a row per policy, identical logits, a parseable chart per policy. */
class PrefillRunCommandTest {

    @Test
    void measuresEveryPolicyAndWritesRealGanttCharts(@TempDir Path dir) throws Exception {
        Path model = new PlantedOutlierModel(64, 384, 2, 4, 2, 128, 2, 40f, 0.02, 3).write(dir.resolve("tiny.gguf"));
        Path out = dir.resolve("charts");
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            code = Main.execute("prefill-run", model.toString(), "-N", "40", "--chunk", "16", "--reps", "1",
                    "--policy", "greedy,critical-path", "-o", out.toString());
        } finally {
            System.setOut(original);
        }
        String text = captured.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        assertTrue(text.contains("3 chunks of 16"), text);
        assertTrue(text.contains("identical across all runs: yes"), text);
        for (String policy : new String[] {"in-order", "greedy", "critical-path"}) {
            assertTrue(text.lines().anyMatch(l -> l.startsWith(policy + " ")), policy + " row missing:\n" + text);
            Path svg = out.resolve("gantt-run-" + policy + ".svg");
            assertTrue(Files.isRegularFile(svg), svg + " missing");
            DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(svg.toFile());
        }
    }
}
