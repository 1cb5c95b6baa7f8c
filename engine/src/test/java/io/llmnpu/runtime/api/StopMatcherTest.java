package io.llmnpu.runtime.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

class StopMatcherTest {

    @Test
    void holdsBackAPossibleStartAndReleasesIt() {
        StopMatcher m = new StopMatcher(List.of("\nUser:"));
        assertEquals("Hello", m.push("Hello\nUs"));
        assertEquals("\nUsed it", m.push("ed it"));
        assertFalse(m.stopped());
        assertEquals("", m.flush());
    }

    @Test
    void stopsAtTheEarliestSequence() {
        StopMatcher m = new StopMatcher(List.of("END", "STOP"));
        assertEquals("ab", m.push("abST"));
        assertEquals("", m.push("OP and END"));
        assertTrue(m.stopped());
        assertEquals("", m.push("more"));
    }

    /** Whatever way a text is cut into pieces, the output is the text up to the first stop sequence. */
    @RepeatedTest(50)
    void anySplitGivesTheSameText(RepetitionInfo info) {
        Random random = new Random(info.getCurrentRepetition());
        String alphabet = "abAB\n:";
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            text.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        List<String> stops = List.of("ab:", "\nB", "BBB");
        int first = stops.stream().mapToInt(s -> text.indexOf(s)).filter(i -> i >= 0).min().orElse(-1);
        String expected = first < 0 ? text.toString() : text.substring(0, first);
        StopMatcher m = new StopMatcher(stops);
        StringBuilder out = new StringBuilder();
        int at = 0;
        while (at < text.length()) {
            int len = 1 + random.nextInt(4);
            out.append(m.push(text.substring(at, Math.min(text.length(), at + len))));
            at += len;
        }
        out.append(m.flush());
        assertEquals(expected, out.toString());
        assertEquals(first >= 0, m.stopped());
    }
}
