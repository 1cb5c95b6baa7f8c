package io.llmnpu.runtime.sampling;

/** Creates the sampler a {@link SamplerConfig} describes. */
public final class Samplers {

    private Samplers() {
    }

    /** A new, independent sampler (fresh random state and history) for one generation. */
    public static Sampler create(SamplerConfig config) {
        return switch (config.mode()) {
            case STANDARD -> new StandardSampler(config);
            case LLAMA2C -> new Llama2cSampler(config);
        };
    }
}
