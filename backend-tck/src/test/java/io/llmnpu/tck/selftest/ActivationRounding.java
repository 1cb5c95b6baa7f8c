package io.llmnpu.tck.selftest;

import io.llmnpu.api.tensor.DType;

/**
 * How a lossy (but conforming) test backend rounds a Linear's activations before the dot product,
 * chosen by the weight type the way low-precision kernels do: F16 or BF16 activations against F16 or
 * BF16 weights, and activations quantized to 8 bits per 32-value block (an F16 scale, as in
 * llama.cpp's Q8_0) against Q8_0 or Q4_0 weights.
 */
enum ActivationRounding {
    NONE, F16, BF16, Q8_BLOCKS;

    static ActivationRounding forWeights(DType weightType) {
        return switch (weightType) {
            case F16 -> F16;
            case BF16 -> BF16;
            case Q8_0, Q4_0 -> Q8_BLOCKS;
            default -> NONE;
        };
    }

    /** A copy of {@code x} as the device would see it. */
    float[] apply(float[] x) {
        float[] out = x.clone();
        switch (this) {
            case NONE -> { }
            case F16 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = Float.float16ToFloat(Float.floatToFloat16(out[i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < out.length; i++) {
                    int bits = Float.floatToRawIntBits(out[i]);
                    bits += 0x7fff + ((bits >>> 16) & 1); // round to nearest even on the dropped half
                    out[i] = Float.intBitsToFloat(bits & 0xffff0000);
                }
            }
            case Q8_BLOCKS -> {
                for (int b = 0; b < out.length; b += 32) {
                    int end = Math.min(out.length, b + 32);
                    float amax = 0;
                    for (int i = b; i < end; i++) {
                        amax = Math.max(amax, Math.abs(out[i]));
                    }
                    float d = amax / 127;
                    float inverse = d == 0 ? 0 : 1 / d;
                    float storedScale = Float.float16ToFloat(Float.floatToFloat16(d));
                    for (int i = b; i < end; i++) {
                        out[i] = Math.round(out[i] * inverse) * storedScale;
                    }
                }
            }
        }
        return out;
    }
}
