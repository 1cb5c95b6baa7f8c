package io.llmnpu.charts;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class TicksTest {

    @Test
    void scalesRoundUpToNiceNumbers() {
        assertEquals(5000, Ticks.niceCeiling(3036.24));
        assertEquals(2000, Ticks.niceCeiling(1772));
        assertEquals(2.5, Ticks.niceCeiling(2.08));
        assertEquals(10, Ticks.niceCeiling(10));
        assertEquals(1, Ticks.niceCeiling(0));
        assertEquals(1, Ticks.niceCeiling(Double.NaN));
        assertEquals(1e-3, Ticks.niceCeiling(0.00093), 1e-15);
    }

    @Test
    void stepsAreOneTwoOrFiveTimesAPowerOfTen() {
        assertEquals(100, Ticks.niceStep(87.3), 1e-9);
        assertEquals(0.5, Ticks.niceStep(0.31), 1e-12);
        assertEquals(2, Ticks.niceStep(2), 1e-12);
        assertEquals(20, Ticks.niceStep(10.7), 1e-12);
        assertEquals(1, Ticks.niceStep(-3));
    }

    @Test
    void labelsHaveTheDecimalsTheStepNeeds() {
        assertEquals("20", Ticks.label(20, 5));
        assertEquals("2.5", Ticks.label(2.5, 2.5));
        assertEquals("0.5", Ticks.label(0.5, 0.5));
        assertEquals("0.25", Ticks.label(0.25, 0.05));
        assertEquals("0.10", Ticks.label(0.1, 0.01));
    }
}
