package io.llmnpu.backend.cpu.onednn;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;

/** Test helpers: the native backend where oneDNN is usable (a skip with the reason elsewhere), and one-graph runs. */
final class NativeBackends {

    private NativeBackends() {
    }

    /** A native backend with {@code settings} and two threads; skips the test with the reason if it cannot run here. */
    static Backend open(NativeSettings settings) {
        NativeCpuBackendProvider provider = new NativeCpuBackendProvider(settings);
        String reason = provider.unavailableReason();
        Assumptions.assumeTrue(reason.isEmpty(), () -> "cpu-native cannot run here: " + reason);
        return provider.create(new BackendOptions(2));
    }

    /** Compiles {@code graph} on {@code device}, runs it once with {@code x} bound to its only input, returns its only output. */
    static float[] run(Device device, Subgraph graph, Tensor x, Arena arena) {
        Value out = graph.outputs().getFirst();
        Tensor y = Tensor.allocate(arena, "y", DType.F32, out.shape());
        try (CompiledGraph compiled = device.compile(graph)) {
            compiled.execute(Map.of(graph.inputs().getFirst(), x, out, y));
        }
        return y.toFloatArray();
    }
}
