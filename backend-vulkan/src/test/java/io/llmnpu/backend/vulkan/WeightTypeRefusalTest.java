package io.llmnpu.backend.vulkan;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/**
 * Weight types without a Vulkan shader are refused out loud: affinity says UNSUPPORTED (so the
 * scheduler places the product elsewhere) and compiling anyway fails with the type in the message.
 */
class WeightTypeRefusalTest {

    @Test
    void quantizedTypesWithoutShadersAreUnsupportedWithAReason() {
        try (VulkanTestDevice vk = VulkanTestDevice.open(); Arena arena = Arena.ofConfined()) {
            int checked = 0;
            for (DType type : DType.values()) {
                if (!type.isQuantized() || WeightLayout.SUPPORTED.contains(type)) {
                    continue;
                }
                int k = 256; // whole blocks of every quantized type
                SubgraphBuilder b = new SubgraphBuilder("linear-" + type);
                Value x = b.input("x", DType.F32, Shape.of(1, k));
                Tensor w = Tensor.allocate(arena, "w", type, Shape.of(4, k));
                Op.Linear linear = new Op.Linear(x, w, b.value("y", DType.F32, Shape.of(1, 4)));
                b.output(b.add(linear).out());
                assertFalse(vk.device.affinity(linear).isSupported(), type + " must be UNSUPPORTED");
                BackendException e = assertThrows(BackendException.class, () -> vk.device.compile(b.build()).close());
                assertTrue(e.getMessage().contains(type.name()), "the refusal names " + type + ": " + e.getMessage());
                checked++;
            }
            assertTrue(checked >= 7, "the k-quants and small-block types are covered, checked " + checked);
        }
    }
}
