package io.llmnpu.backend.cpu.onednn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Groups of int8 products share work buffers exactly when their spans in the graph do not overlap. */
class ProductScratchTest {

    private static final int TOKENS = 32;
    private static final int K = 256;

    @Test
    void groupsOneAfterAnotherShareBuffersOverlappingOnesDoNot() {
        ProductScratch scratch = new ProductScratch(List.of(
                new ProductScratch.Need(0, 2, 100, 400), // q, k, v
                new ProductScratch.Need(3, 3, 100, 200), // o: after the first group's last op
                new ProductScratch.Need(4, 6, 50, 800),  // a group spanning ops 4..6
                new ProductScratch.Need(5, 5, 70, 40))); // another one inside that span
        assertEquals(scratch.codes(0).address(), scratch.codes(1).address());
        assertEquals(scratch.sums(0).address(), scratch.sums(2).address());
        assertNotEquals(scratch.sums(2).address(), scratch.sums(3).address());
        assertEquals(70, scratch.codes(3).byteSize());
        assertEquals(800, scratch.sums(2).byteSize());
        scratch.acquire();
        scratch.release(); // the planner's hold
        scratch.codes(0).fill((byte) 1); // a group still holds them
        scratch.release();
        assertThrows(IllegalStateException.class, () -> scratch.codes(0).fill((byte) 1), "freed with the last holder");
    }

    /**
     * Ops a1, b, a2 in that order, a1 and a2 reading x and b reading z: a2 takes its columns from the
     * sums a1's execution made, after b's execution, so b must not work in the same buffers. Every output
     * equals the op's output alone.
     */
    @Test
    void interleavedGroupsGiveWhatEachOpGivesAlone() {
        Random random = new Random(3);
        try (Arena arena = Arena.ofShared(); Backend backend = NativeBackends.open(NativeSettings.configured())) {
            Tensor xIn = gaussian(arena, "x", random);
            Tensor zIn = gaussian(arena, "z", random);
            SubgraphBuilder b = new SubgraphBuilder("interleaved");
            Value x = b.input("x", DType.F32, Shape.of(TOKENS, K));
            Value z = b.input("z", DType.F32, Shape.of(TOKENS, K));
            int[] outs = {64, 96, 32};
            Value[] reads = {x, z, x};
            Tensor[] weights = new Tensor[outs.length];
            for (int i = 0; i < outs.length; i++) {
                float[] values = new float[outs[i] * K];
                for (int j = 0; j < values.length; j++) {
                    values[j] = (float) (random.nextGaussian() * 0.02);
                }
                weights[i] = BlockWeights.encode(arena, DType.Q8_0, values, outs[i], K);
                Value y = b.value("y" + i, DType.F32, Shape.of(TOKENS, outs[i]));
                b.add(new Op.Linear(reads[i], weights[i], y));
                b.output(y);
            }
            Subgraph graph = b.build();
            Map<Value, Tensor> bindings = new HashMap<>();
            bindings.put(x, xIn);
            bindings.put(z, zIn);
            graph.outputs().forEach(v -> bindings.put(v, Tensor.allocate(arena, v.name(), DType.F32, v.shape())));
            try (CompiledGraph compiled = backend.devices().getFirst().compile(graph)) {
                compiled.execute(bindings);
            }
            for (int i = 0; i < outs.length; i++) {
                SubgraphBuilder single = new SubgraphBuilder("alone");
                Value sx = single.input("x", DType.F32, Shape.of(TOKENS, K));
                Value sy = single.add(new Op.Linear(sx, weights[i], single.value("y", DType.F32, Shape.of(TOKENS, outs[i])))).out();
                single.output(sy);
                float[] alone = NativeBackends.run(backend.devices().getFirst(), single.build(), reads[i] == x ? xIn : zIn, arena);
                assertArrayEquals(alone, bindings.get(graph.outputs().get(i)).toFloatArray(), "output " + i);
            }
        }
    }

    private static Tensor gaussian(Arena arena, String name, Random random) {
        Tensor t = Tensor.allocate(arena, name, DType.F32, Shape.of(TOKENS, K));
        for (long i = 0; i < t.shape().elements(); i++) {
            t.data().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) random.nextGaussian());
        }
        return t;
    }
}
