package io.llmnpu.runtime.engine;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.runtime.model.gguf.GgmlType;
import io.llmnpu.runtime.model.gguf.GgufFile;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;

/**
 * The CPU backends the logits tests run on, by name: the Vector API backend, and the one with oneDNN's
 * int8 matrix products, which is skipped with its reason where oneDNN is missing.
 */
public final class CpuBackends {

    public static final List<String> NAMES = List.of("cpu", "cpu-native");

    /**
     * Weight types whose decode kernels round the token row to int8 (Q4_K, Q6_K; the nibbles of the
     * 32-value 4- and 5-bit types): on both backends, logits of a model with such linears are not
     * float-exact, and the tests bound them as a share of the logits' {@link #spread}.
     */
    private static final Set<GgmlType> ROUNDED_DECODE = EnumSet.of(GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.Q4_0,
            GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1);

    private CpuBackends() {
    }

    /** Skips the calling test unless backend {@code name} is on the class path and can run here. */
    public static void assumeUsable(String name) {
        BackendProvider provider = ServiceLoader.load(BackendProvider.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p.name().equals(name)).findFirst().orElse(null);
        assumeTrue(provider != null, "backend " + name + " is not on the class path");
        String reason = provider.unavailableReason();
        assumeTrue(reason.isEmpty(), () -> "backend " + name + " cannot run here: " + reason);
    }

    /** Whether a linear weight of the model is of a type whose decode rounds activations to int8. */
    public static boolean roundsDecodeActivations(Path gguf) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            return GgufFile.open(gguf, arena).tensorInfos().stream()
                    .filter(t -> t.shape().rank() == 2 && !t.name().equals("token_embd.weight"))
                    .anyMatch(t -> ROUNDED_DECODE.contains(t.type()));
        }
    }

    /** The standard deviation of the logits: the scale int8 rounding is measured and bounded in. */
    public static double spread(double[] logits) {
        double mean = Arrays.stream(logits).average().orElseThrow();
        return Math.sqrt(Arrays.stream(logits).map(v -> (v - mean) * (v - mean)).average().orElseThrow());
    }
}
