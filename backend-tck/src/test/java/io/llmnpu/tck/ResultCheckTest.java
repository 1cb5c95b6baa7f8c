package io.llmnpu.tck;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.BitSet;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

/** The comparison the suite reports through: bounds per row, NaN, and untouched cache rows. */
class ResultCheckTest {
    private static final Value OUT = new Value(3, "out", DType.F32, Shape.of(2, 3));
    private static final Tolerances.Bound BOUND = new Tolerances.Bound(1e-4, 1e-2);

    @Test
    void allowsErrorsRelativeToTheRowsLargestValue() {
        try (Arena arena = Arena.ofConfined()) {
            // row 1 has max 100, so 1.5 may be off by 1e-4 + 1.0
            Tensor t = tensor(arena, 1, 2, 3, 100, 2.4f, 3);
            assertDoesNotThrow(() -> ResultCheck.matches("case", OUT, t, new double[] {1, 2, 3, 100, 1.5, 3}, null, BOUND));
        }
    }

    @Test
    void aRowFloorRaisesTheMagnitudeOfRowsThatCancelledToSmallValues() {
        try (Arena arena = Arena.ofConfined()) {
            // row 0 came out small (max 0.3) but its terms had magnitude 50: 0.4 off is within 1e-4 + 0.5
            Tensor t = tensor(arena, 0.5f, 0.2f, 0.3f, 4, 5, 6);
            double[] expected = {0.1, 0.2, 0.3, 4, 5, 6};
            assertThrows(AssertionFailedError.class, () -> ResultCheck.matches("case", OUT, t, expected, null, BOUND));
            assertDoesNotThrow(() -> ResultCheck.matches("case", OUT, t, expected, new double[] {50, 0}, BOUND));
        }
    }

    @Test
    void reportsTheWorstElementAndTheBound() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = tensor(arena, 1, 2, 3.5f, 4, 5, 6);
            AssertionFailedError e = assertThrows(AssertionFailedError.class,
                    () -> ResultCheck.matches("case", OUT, t, new double[] {1, 2, 3, 4, 5, 6}, null, BOUND));
            assertTrue(e.getMessage().contains("in 1 of 6 values; worst at [0, 2]: got 3.5, expected 3"), e.getMessage());
        }
    }

    @Test
    void nanNeverPasses() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = tensor(arena, 1, 2, 3, 4, Float.NaN, 6);
            AssertionFailedError e = assertThrows(AssertionFailedError.class,
                    () -> ResultCheck.matches("case", OUT, t, new double[] {1, 2, 3, 4, 5, 6}, null,
                            new Tolerances.Bound(1e9, 1)));
            assertTrue(e.getMessage().contains("worst at [1, 1]: got NaN"), e.getMessage());
        }
    }

    @Test
    void cacheRowsNotWrittenMustStayBitForBit() {
        try (Arena arena = Arena.ofConfined()) {
            Value cache = new Value(4, "cache", DType.F32, Shape.of(2, 3));
            float[] before = {1, 2, 3, 4, 5, 6};
            Tensor after = tensor(arena, 1, 2, 3.00001f, 9, 9, 9);
            BitSet written = new BitSet();
            written.set(1);
            AssertionFailedError e = assertThrows(AssertionFailedError.class, () -> ResultCheck.cacheMatches(
                    "case", cache, after, before, new double[] {1, 2, 3, 9, 9, 9}, written, BOUND));
            assertTrue(e.getMessage().contains("row 0 holds no position written"), e.getMessage());
        }
    }

    private static Tensor tensor(Arena arena, float... values) {
        Tensor t = Tensor.allocate(arena, "t", DType.F32, Shape.of(2, 3));
        for (int i = 0; i < values.length; i++) {
            t.setFloat(i, values[i]);
        }
        return t;
    }
}
