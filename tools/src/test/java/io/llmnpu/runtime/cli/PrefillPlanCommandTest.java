package io.llmnpu.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrefillPlanCommandTest {

    @Test
    void writesReportAndGanttChartsForEveryPolicy(@TempDir Path dir) throws Exception {
        int code = Main.execute("prefill-plan", "--shape", "qwen1.5-1.8b", "-N", "512", "--chunk", "256", "-o", dir.toString());
        assertEquals(0, code);
        String json = Files.readString(dir.resolve("prefill-plan.json"));
        assertTrue(json.contains("\"greedy\"") && json.contains("\"in-order\""), json);
        for (String policy : new String[] {"in-order", "greedy", "critical-path"}) {
            Path svg = dir.resolve("gantt-" + policy + ".svg");
            assertTrue(Files.isRegularFile(svg), svg + " missing");
            DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(svg.toFile());
        }
    }

    @Test
    void unknownShapeIsAClearError() {
        assertEquals(1, Main.execute("prefill-plan", "--shape", "no-such-model"));
    }
}
