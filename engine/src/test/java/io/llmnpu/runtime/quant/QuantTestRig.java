package io.llmnpu.runtime.quant;

import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.Device;
import io.llmnpu.backend.cpu.CpuBackend;
import io.llmnpu.backend.npu.reference.NpuSettings;
import io.llmnpu.backend.npu.reference.ReferenceNpuBackend;
import io.llmnpu.runtime.engine.DevicePlan;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** A CPU backend and a reference NPU (with its compile cache in a given folder) for quantization tests. */
public final class QuantTestRig implements AutoCloseable {

    final CpuBackend cpuBackend;
    final ReferenceNpuBackend npuBackend;

    public QuantTestRig(Path npuCache) {
        cpuBackend = new CpuBackend(new BackendOptions(2));
        npuBackend = new ReferenceNpuBackend(new NpuSettings(1, npuCache));
    }

    public Device cpu() {
        return cpuBackend.devices().getFirst();
    }

    public Device npu() {
        return npuBackend.devices().getFirst();
    }

    /** Random token sequences from BOS, avoiding the control tokens. */
    public static List<int[]> randomSequences(int count, int length, int vocab, long seed) {
        Random r = new Random(seed);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[] s = new int[length];
            s[0] = 1;
            for (int t = 1; t < length; t++) {
                s[t] = 3 + r.nextInt(vocab - 3);
            }
            out.add(s);
        }
        return out;
    }

    /** The reference NPU and the CPU as the engine's devices, NPU first; the rig keeps their backends. */
    public DevicePlan plan() {
        return DevicePlan.of(npu(), cpu());
    }

    @Override
    public void close() {
        npuBackend.close();
        cpuBackend.close();
    }
}
