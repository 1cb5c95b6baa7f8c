package io.llmnpu.backend.opencl;

import static io.llmnpu.backend.opencl.TestTensors.assertClose;
import static io.llmnpu.backend.opencl.TestTensors.rows;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** y += W[:, channels] x[channels] on the device against the double reference. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SparseOutlierGemmTest {
    private OpenClTestDevice cl;

    @BeforeAll
    void open() {
        cl = OpenClTestDevice.open();
    }

    @AfterAll
    void close() {
        if (cl != null) {
            cl.close();
        }
    }

    static Stream<Arguments> cases() {
        return Stream.of(DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0)
                .flatMap(t -> IntStream.of(1, 5).mapToObj(rows -> Arguments.of(t, rows)));
    }

    @ParameterizedTest(name = "{0} weights, {1} rows")
    @MethodSource("cases")
    void addsTheOutlierChannelsContribution(DType type, int rowCount) {
        Random rnd = new Random(type.ordinal() * 10L + rowCount);
        int out = 1 + rnd.nextInt(60);
        int in = type.isQuantized() ? 96 : 1 + rnd.nextInt(120);
        int[] channels = rnd.ints(0, in).distinct().limit(Math.min(in, 1 + rnd.nextInt(9))).toArray();
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = WeightCodec.random(arena, "w", type, out, in, rnd);
            Tensor x = TestTensors.randomF32(arena, "x", Shape.of(rowCount, in), rnd, 20);
            Tensor y = TestTensors.randomF32(arena, "y", Shape.of(rowCount, out), rnd, 1);
            double[][] expected = Reference.outlier(rows(x), WeightCodec.matrix(w), channels, rows(y));
            try (SparseOutlierGemm gemm = cl.device.sparseOutlierGemm(w)) {
                gemm.accumulate(x, channels, y);
            }
            assertClose(expected, rows(y), 1e-5, 1e-5, type + " outliers " + java.util.Arrays.toString(channels));
        }
    }

    @Test
    void emptyChannelListChangesNothingAndBadChannelsFail() {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(3);
            Tensor w = WeightCodec.random(arena, "w", DType.F32, 4, 6, rnd);
            Tensor x = TestTensors.randomF32(arena, "x", Shape.of(2, 6), rnd, 1);
            Tensor y = TestTensors.randomF32(arena, "y", Shape.of(2, 4), rnd, 1);
            float[] before = y.toFloatArray();
            try (SparseOutlierGemm gemm = cl.device.sparseOutlierGemm(w)) {
                gemm.accumulate(x, new int[0], y);
                assertArrayEquals(before, y.toFloatArray());
                assertThrows(BackendException.class, () -> gemm.accumulate(x, new int[] {6}, y));
                assertThrows(BackendException.class, () -> gemm.accumulate(x, new int[] {-1}, y));
                assertThrows(BackendException.class,
                        () -> gemm.accumulate(x, new int[] {0}, TestTensors.randomF32(arena, "y", Shape.of(2, 5), rnd, 1)));
            }
        }
    }
}
