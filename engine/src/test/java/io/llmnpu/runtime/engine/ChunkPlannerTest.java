package io.llmnpu.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

class ChunkPlannerTest {

    @RepeatedTest(50)
    void chunksCoverThePromptExactlyOnceWithStaticRows(org.junit.jupiter.api.RepetitionInfo info) {
        Random random = new Random(info.getCurrentRepetition());
        int chunkSize = 1 + random.nextInt(300);
        int length = random.nextInt(4 * chunkSize + 2);
        ChunkPlanner planner = new ChunkPlanner(chunkSize);
        List<ChunkPlanner.Chunk> chunks = planner.plan(length);
        int next = 0;
        for (ChunkPlanner.Chunk c : chunks) {
            assertEquals(next, c.start());
            assertTrue(c.length() >= 1 && c.length() <= c.rows(), c.toString());
            assertTrue(c.rows() <= chunkSize, c.toString());
            if (length >= chunkSize) {
                assertEquals(chunkSize, c.rows(), "every chunk of a long prompt has the static size");
            }
            next += c.length();
        }
        assertEquals(length, next);
    }

    @Test
    void shortPromptsUsePowerOfTwoBuckets() {
        ChunkPlanner planner = new ChunkPlanner(256);
        assertEquals(16, planner.plan(5).getFirst().rows());
        assertEquals(32, planner.plan(17).getFirst().rows());
        assertEquals(256, planner.plan(200).getFirst().rows());
        assertEquals(List.of(new ChunkPlanner.Chunk(0, 256, 256), new ChunkPlanner.Chunk(256, 44, 256)), planner.plan(300));
        assertEquals(List.of(), planner.plan(0));
    }

    @Test
    void rejectsBadSizes() {
        assertThrows(IllegalArgumentException.class, () -> new ChunkPlanner(0));
        assertThrows(IllegalArgumentException.class, () -> new ChunkPlanner(256).plan(-1));
    }
}
