package io.llmnpu.tck;

import io.llmnpu.api.tensor.Shape;
import java.util.Arrays;
import java.util.stream.Collectors;

/** Writes shapes the way test names show them: {@code [7x96]}. */
final class Shapes {
    private Shapes() {
    }

    static String text(Shape shape) {
        return Arrays.stream(shape.dims()).mapToObj(Integer::toString).collect(Collectors.joining("x", "[", "]"));
    }

    static String text(int... dims) {
        return text(Shape.of(dims));
    }
}
