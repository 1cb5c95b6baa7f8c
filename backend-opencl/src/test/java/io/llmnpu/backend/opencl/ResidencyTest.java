package io.llmnpu.backend.opencl;

import static io.llmnpu.backend.opencl.TestTensors.assertClose;
import static io.llmnpu.backend.opencl.TestTensors.rows;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What lives on the device between calls: weights shared by graphs, KV caches kept resident (or
 * uploaded each time), and the host copies kept current.
 */
class ResidencyTest {
    private static final int HEADS = 2;
    private static final int HEAD_DIM = 8;
    private static final int WIDTH = HEADS * HEAD_DIM;
    private static final int CONTEXT = 6;

    /** Attention-only graph over T rows, its values by role. */
    private record AttentionGraph(Subgraph graph, Value q, Value k, Value v, Value pos, Value kc, Value vc, Value out) {
        static AttentionGraph of(int rows) {
            SubgraphBuilder g = new SubgraphBuilder("attention-" + rows);
            Value q = g.input("q", DType.F32, Shape.of(rows, WIDTH));
            Value k = g.input("k", DType.F32, Shape.of(rows, WIDTH));
            Value v = g.input("v", DType.F32, Shape.of(rows, WIDTH));
            Value pos = g.input("positions", DType.I32, Shape.of(rows));
            Value kc = g.input("k_cache", DType.F32, Shape.of(CONTEXT, WIDTH));
            Value vc = g.input("v_cache", DType.F32, Shape.of(CONTEXT, WIDTH));
            Value out = g.value("out", DType.F32, Shape.of(rows, WIDTH));
            g.add(new Op.Attention(q, k, v, pos, kc, vc, HEADS, HEADS, HEAD_DIM, out));
            g.output(out);
            return new AttentionGraph(g.build(), q, k, v, pos, kc, vc, out);
        }

        /** Runs one step with random q/k/v and checks output and caches against the reference. */
        void stepAndCheck(CompiledGraph compiled, Arena arena, Random rnd, int[] positions, Tensor kCache, Tensor vCache) {
            int rows = positions.length;
            Tensor qt = TestTensors.randomF32(arena, "q", Shape.of(rows, WIDTH), rnd, 1);
            Tensor kt = TestTensors.randomF32(arena, "k", Shape.of(rows, WIDTH), rnd, 1);
            Tensor vt = TestTensors.randomF32(arena, "v", Shape.of(rows, WIDTH), rnd, 1);
            Tensor outT = Tensor.allocate(arena, "out", DType.F32, Shape.of(rows, WIDTH));
            double[][] refK = rows(kCache);
            double[][] refV = rows(vCache);
            double[][] expected = Reference.attention(rows(qt), rows(kt), rows(vt), positions, refK, refV, HEADS, HEADS, HEAD_DIM);
            Map<Value, Tensor> b = new HashMap<>();
            b.put(q, qt);
            b.put(k, kt);
            b.put(v, vt);
            b.put(pos, TestTensors.ints(arena, "p", positions));
            b.put(kc, kCache);
            b.put(vc, vCache);
            b.put(out, outT);
            compiled.execute(b);
            assertClose(expected, rows(outT), 1e-6, 1e-5, "attention at " + java.util.Arrays.toString(positions));
            assertClose(refK, rows(kCache), 0, 0, "host key cache is current");
            assertClose(refV, rows(vCache), 0, 0, "host value cache is current");
        }
    }

    @Test
    void weightsAreUploadedOncePerDeviceAndFreedWithTheLastGraph() {
        try (OpenClTestDevice cl = OpenClTestDevice.open(); Arena arena = Arena.ofConfined()) {
            Tensor w = WeightCodec.random(arena, "w", DType.Q8_0, 40, 64, new Random(1));
            // A second tensor record over the same memory, as two loads of one mapped model would give.
            Tensor sameMemory = new Tensor("w-again", w.dtype(), w.shape(), w.data());
            int weightsBefore = cl.device.residentWeights();
            long bytesBefore = cl.device.weightUploadBytes();
            CompiledGraph one = cl.device.compile(linear(w, 1));
            CompiledGraph many = cl.device.compile(linear(sameMemory, 9));
            assertEquals(weightsBefore + 1, cl.device.residentWeights());
            assertEquals(bytesBefore + w.byteSize(), cl.device.weightUploadBytes(), "uploaded once");
            one.close();
            assertEquals(weightsBefore + 1, cl.device.residentWeights(), "still used by the other graph");
            many.close();
            assertEquals(weightsBefore, cl.device.residentWeights(), "freed with the last graph");
        }
    }

    @Test
    void cachesStayResidentAcrossGraphsAndHostCopiesStayCurrent() {
        try (OpenClTestDevice cl = OpenClTestDevice.open(); Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(2);
            Tensor kCache = TestTensors.randomF32(arena, "k_cache", Shape.of(CONTEXT, WIDTH), rnd, 1);
            Tensor vCache = TestTensors.randomF32(arena, "v_cache", Shape.of(CONTEXT, WIDTH), rnd, 1);
            AttentionGraph chunk = AttentionGraph.of(3);
            AttentionGraph step = AttentionGraph.of(1);
            try (CompiledGraph g3 = cl.device.compile(chunk.graph()); CompiledGraph g1 = cl.device.compile(step.graph())) {
                long before = cl.device.stateUploadBytes();
                chunk.stepAndCheck(g3, arena, rnd, new int[] {0, 1, 2}, kCache, vCache);
                assertEquals(before + 2 * kCache.byteSize(), cl.device.stateUploadBytes(), "first binding uploads both caches");
                assertEquals(2, cl.device.residentStates());
                step.stepAndCheck(g1, arena, rnd, new int[] {3}, kCache, vCache);
                chunk.stepAndCheck(g3, arena, rnd, new int[] {4, 5, -1}, kCache, vCache);
                assertEquals(before + 2 * kCache.byteSize(), cl.device.stateUploadBytes(), "resident: no further uploads");

                // A cache changed on the host is seen again once the device forgets its copy.
                kCache.setFloat(3, 7.5f);
                assertTrue(cl.device.forgetResidentState(kCache));
                assertFalse(cl.device.forgetResidentState(kCache));
                step.stepAndCheck(g1, arena, rnd, new int[] {5}, kCache, vCache);
            }
        }
    }

    @Test
    void uploadEachExecuteSeesHostChangesWithoutBeingTold() {
        OpenClOptions options = new OpenClOptions(OpenClTestDevice.TEST_CACHE, OpenClOptions.StateResidency.UPLOAD_EACH_EXECUTE);
        try (OpenClTestDevice cl = OpenClTestDevice.open(options); Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(3);
            Tensor kCache = TestTensors.randomF32(arena, "k_cache", Shape.of(CONTEXT, WIDTH), rnd, 1);
            Tensor vCache = TestTensors.randomF32(arena, "v_cache", Shape.of(CONTEXT, WIDTH), rnd, 1);
            AttentionGraph step = AttentionGraph.of(1);
            try (CompiledGraph g1 = cl.device.compile(step.graph())) {
                step.stepAndCheck(g1, arena, rnd, new int[] {2}, kCache, vCache);
                // Another device wrote rows 0..3 (as an NPU running a prefill chunk would).
                for (int i = 0; i < 4 * WIDTH; i++) {
                    kCache.setFloat(i, (float) rnd.nextGaussian());
                    vCache.setFloat(i, (float) rnd.nextGaussian());
                }
                step.stepAndCheck(g1, arena, rnd, new int[] {4}, kCache, vCache);
            }
        }
    }

    @Test
    void closingTheCacheArenaReleasesTheDeviceCopy() {
        try (OpenClTestDevice cl = OpenClTestDevice.open(); Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(4);
            AttentionGraph step = AttentionGraph.of(1);
            try (CompiledGraph g1 = cl.device.compile(step.graph())) {
                try (Arena generation = Arena.ofConfined()) {
                    Tensor kCache = Tensor.allocate(generation, "k", DType.F32, Shape.of(CONTEXT, WIDTH));
                    Tensor vCache = Tensor.allocate(generation, "v", DType.F32, Shape.of(CONTEXT, WIDTH));
                    step.stepAndCheck(g1, arena, rnd, new int[] {0}, kCache, vCache);
                    assertEquals(2, cl.device.residentStates());
                }
                // A new generation's caches, possibly at the same addresses, start from their own contents.
                try (Arena generation = Arena.ofConfined()) {
                    Tensor kCache = TestTensors.randomF32(generation, "k", Shape.of(CONTEXT, WIDTH), rnd, 1);
                    Tensor vCache = TestTensors.randomF32(generation, "v", Shape.of(CONTEXT, WIDTH), rnd, 1);
                    step.stepAndCheck(g1, arena, rnd, new int[] {3}, kCache, vCache);
                    assertEquals(2, cl.device.residentStates(), "the closed generation's copies were dropped");
                }
            }
        }
    }

    @Test
    void weightsCanComeFromAReadOnlyMappedFile(@TempDir Path dir) throws IOException {
        Random rnd = new Random(5);
        try (OpenClTestDevice cl = OpenClTestDevice.open(); Arena arena = Arena.ofConfined()) {
            Tensor source = WeightCodec.random(arena, "w", DType.F16, 7, 33, rnd);
            Path file = dir.resolve("weights.bin");
            Files.write(file, source.data().toArray(ValueLayout.JAVA_BYTE));
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                MemorySegment mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, source.byteSize(), arena);
                Tensor w = new Tensor("w", DType.F16, source.shape(), mapped);
                Subgraph graph = linear(w, 2);
                Value x = graph.inputs().getFirst();
                Value y = graph.outputs().getFirst();
                Tensor xt = TestTensors.randomF32(arena, "x", x.shape(), rnd, 1);
                Tensor yt = TestTensors.zeros(arena, y);
                try (CompiledGraph compiled = cl.device.compile(graph)) {
                    compiled.execute(Map.of(x, xt, y, yt));
                }
                assertClose(Reference.linear(rows(xt), WeightCodec.matrix(source)), rows(yt), 1e-6, 1e-5, "mapped weight");
            }
        }
    }

    @Test
    void heapTensorsWork() {
        try (OpenClTestDevice cl = OpenClTestDevice.open(); Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(6);
            Tensor native_ = WeightCodec.random(arena, "w", DType.F32, 5, 9, rnd);
            Tensor w = new Tensor("w", DType.F32, native_.shape(), MemorySegment.ofArray(native_.data().toArray(ValueLayout.JAVA_FLOAT)));
            Subgraph graph = linear(w, 3);
            Value x = graph.inputs().getFirst();
            Value y = graph.outputs().getFirst();
            Tensor xt = new Tensor("x", DType.F32, x.shape(), MemorySegment.ofArray(new float[27]));
            for (int i = 0; i < 27; i++) {
                xt.setFloat(i, rnd.nextFloat());
            }
            Tensor yt = new Tensor("y", DType.F32, y.shape(), MemorySegment.ofArray(new float[15]));
            try (CompiledGraph compiled = cl.device.compile(graph)) {
                compiled.execute(Map.of(x, xt, y, yt));
            }
            assertClose(Reference.linear(rows(xt), WeightCodec.matrix(native_)), rows(yt), 1e-6, 1e-5, "heap tensors");
        }
    }

    private static Subgraph linear(Tensor w, int rows) {
        SubgraphBuilder g = new SubgraphBuilder("linear-" + rows);
        Value x = g.input("x", DType.F32, Shape.of(rows, w.shape().dim(1)));
        Value y = g.value("y", DType.F32, Shape.of(rows, w.shape().dim(0)));
        g.add(new Op.Linear(x, w, y));
        g.output(y);
        return g.build();
    }
}
