package io.llmnpu.runtime.reference;

import java.util.Arrays;
import java.util.function.ToIntFunction;

/**
 * run.c's {@code generate} loop for an empty prompt: start from BOS at position 0, one forward
 * pass per position, stop after {@code steps} positions or when BOS is chosen (BOS not included).
 */
public final class ReferenceGeneration {

    public static final int BOS = 1;

    private ReferenceGeneration() {
    }

    /** Ids generated after BOS; {@code choose} maps the double logits of one position to the next id. */
    public static int[] fromBos(ReferenceLlama model, int steps, ToIntFunction<double[]> choose) {
        int[] out = new int[steps];
        int count = 0;
        int token = BOS;
        for (int pos = 0; pos < steps; pos++) {
            int next = choose.applyAsInt(model.forward(token, pos));
            if (next == BOS) {
                break;
            }
            out[count++] = next;
            token = next;
        }
        return Arrays.copyOf(out, count);
    }

    /** The logits rounded to float32, as an engine computing in float would hand them to a sampler. */
    public static float[] toFloat(double[] logits) {
        float[] out = new float[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = (float) logits[i];
        }
        return out;
    }
}
