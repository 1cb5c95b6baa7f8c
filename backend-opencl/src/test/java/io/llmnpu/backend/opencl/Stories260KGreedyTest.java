package io.llmnpu.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.RopeStyle;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The real stories260K model (llama2.c checkpoint, read here directly) run entirely on the OpenCL
 * device must reproduce llama2.c's greedy tokens from BOS (listed in ../shared/models/README.md),
 * both token by token and with the prompt as one padded prefill chunk followed by decode steps.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Stories260KGreedyTest {
    /** Greedy continuation of BOS by llama2.c run.c ("Once upon a time, there was a little girl named Lily..."). */
    private static final int[] EXPECTED = {403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426,
            338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385};
    private static final int BOS = 1;
    private static final int CONTEXT = 64;

    private OpenClTestDevice cl;
    private Arena arena;
    private Checkpoint model;

    /** The llama2.c legacy checkpoint: a 7-int header, then F32 tensors in a fixed order. */
    private record Checkpoint(int dim, int hidden, int layers, int heads, int kvHeads, int vocab, Tensor embedding,
                              List<Tensor[]> blocks, Tensor finalNorm) {
        int headDim() {
            return dim / heads;
        }

        int kvDim() {
            return kvHeads * headDim();
        }

        static Checkpoint map(Path file, Arena arena) throws IOException {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                MemorySegment m = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
                int[] h = new int[7];
                for (int i = 0; i < 7; i++) {
                    h[i] = m.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
                }
                int dim = h[0], hidden = h[1], layers = h[2], heads = h[3], kvHeads = h[4], vocab = Math.abs(h[5]);
                int kvDim = kvHeads * (dim / heads);
                long[] at = {28};
                Tensor embedding = next(m, at, "token_embedding", vocab, dim);
                Tensor[] attNorm = perLayer(m, at, "rms_att", layers, dim);
                Tensor[] wq = perLayer(m, at, "wq", layers, dim, dim);
                Tensor[] wk = perLayer(m, at, "wk", layers, kvDim, dim);
                Tensor[] wv = perLayer(m, at, "wv", layers, kvDim, dim);
                Tensor[] wo = perLayer(m, at, "wo", layers, dim, dim);
                Tensor[] ffnNorm = perLayer(m, at, "rms_ffn", layers, dim);
                Tensor[] w1 = perLayer(m, at, "w1", layers, hidden, dim);
                Tensor[] w2 = perLayer(m, at, "w2", layers, dim, hidden);
                Tensor[] w3 = perLayer(m, at, "w3", layers, hidden, dim);
                Tensor finalNorm = next(m, at, "rms_final", dim);
                List<Tensor[]> blocks = new ArrayList<>();
                for (int l = 0; l < layers; l++) {
                    blocks.add(new Tensor[] {attNorm[l], wq[l], wk[l], wv[l], wo[l], ffnNorm[l], w1[l], w2[l], w3[l]});
                }
                return new Checkpoint(dim, hidden, layers, heads, kvHeads, vocab, embedding, blocks, finalNorm);
            }
        }

        private static Tensor[] perLayer(MemorySegment m, long[] at, String name, int layers, int... dims) {
            Tensor[] out = new Tensor[layers];
            for (int l = 0; l < layers; l++) {
                out[l] = next(m, at, name + "." + l, dims);
            }
            return out;
        }

        private static Tensor next(MemorySegment m, long[] at, String name, int... dims) {
            Shape shape = Shape.of(dims);
            long bytes = shape.elements() * Float.BYTES;
            Tensor t = new Tensor(name, DType.F32, shape, m.asSlice(at[0], bytes));
            at[0] += bytes;
            return t;
        }
    }

    /** The whole model for T rows: logits of every row; the caches are inputs 2.. in layer order. */
    private record ModelGraph(Subgraph graph, Value tokens, Value positions, List<Value> caches, Value logits) {
    }

    @BeforeAll
    void open() throws IOException {
        Path file = sharedDir().resolve("models").resolve("stories260K.bin");
        assumeTrue(Files.isRegularFile(file), "stories260K.bin not found under ../shared/models");
        cl = OpenClTestDevice.open();
        arena = Arena.ofShared();
        model = Checkpoint.map(file, arena);
    }

    @AfterAll
    void close() {
        if (cl != null) {
            cl.close();
        }
        if (arena != null) {
            arena.close();
        }
    }

    @Test
    void tokenByTokenDecodeMatchesLlama2c() {
        List<Tensor> caches = newCaches();
        ModelGraph step = graph(1);
        int[] produced = new int[EXPECTED.length];
        try (CompiledGraph g = cl.device.compile(step.graph())) {
            int token = BOS;
            for (int pos = 0; pos < EXPECTED.length; pos++) {
                float[][] logits = run(g, step, new int[] {token}, new int[] {pos}, caches);
                token = argmax(logits[0]);
                produced[pos] = token;
            }
        }
        assertArrayEquals(EXPECTED, produced, "greedy tokens: " + Arrays.toString(produced));
    }

    @Test
    void paddedPrefillChunkThenDecodeMatchesLlama2c() {
        List<Tensor> caches = newCaches();
        int[] prompt = {BOS, EXPECTED[0], EXPECTED[1], EXPECTED[2], EXPECTED[3]};
        ModelGraph chunk = graph(8);
        ModelGraph step = graph(1);
        int[] produced = new int[EXPECTED.length - 4];
        try (CompiledGraph gChunk = cl.device.compile(chunk.graph()); CompiledGraph gStep = cl.device.compile(step.graph())) {
            int[] tokens = {prompt[0], prompt[1], prompt[2], prompt[3], prompt[4], 0, 0, 0};
            int[] positions = {0, 1, 2, 3, 4, -1, -1, -1};
            float[][] logits = run(gChunk, chunk, tokens, positions, caches);
            int token = argmax(logits[prompt.length - 1]);
            for (int i = 0; i < produced.length; i++) {
                produced[i] = token;
                if (i + 1 < produced.length) {
                    token = argmax(run(gStep, step, new int[] {token}, new int[] {prompt.length + i}, caches)[0]);
                }
            }
        }
        assertArrayEquals(Arrays.copyOfRange(EXPECTED, 4, EXPECTED.length), produced, Arrays.toString(produced));
    }

    private List<Tensor> newCaches() {
        List<Tensor> caches = new ArrayList<>();
        for (int i = 0; i < 2 * model.layers(); i++) {
            caches.add(Tensor.allocate(arena, "cache" + i, DType.F32, Shape.of(CONTEXT, model.kvDim())));
        }
        return caches;
    }

    private float[][] run(CompiledGraph g, ModelGraph mg, int[] tokens, int[] positions, List<Tensor> caches) {
        Map<Value, Tensor> b = new HashMap<>();
        b.put(mg.tokens(), TestTensors.ints(arena, "tokens", tokens));
        b.put(mg.positions(), TestTensors.ints(arena, "positions", positions));
        for (int i = 0; i < caches.size(); i++) {
            b.put(mg.caches().get(i), caches.get(i));
        }
        Tensor logits = TestTensors.zeros(arena, mg.logits());
        b.put(mg.logits(), logits);
        g.execute(b);
        float[] flat = logits.toFloatArray();
        float[][] rows = new float[tokens.length][];
        for (int t = 0; t < tokens.length; t++) {
            rows[t] = Arrays.copyOfRange(flat, t * model.vocab(), (t + 1) * model.vocab());
        }
        return rows;
    }

    private ModelGraph graph(int rows) {
        Checkpoint m = model;
        int dim = m.dim();
        SubgraphBuilder g = new SubgraphBuilder("stories260K-" + rows);
        Value tokens = g.input("tokens", DType.I32, Shape.of(rows));
        Value positions = g.input("positions", DType.I32, Shape.of(rows));
        List<Value> caches = new ArrayList<>();
        for (int i = 0; i < 2 * m.layers(); i++) {
            caches.add(g.input("cache" + i, DType.F32, Shape.of(CONTEXT, m.kvDim())));
        }
        Value x = g.add(new Op.Embedding(tokens, m.embedding(), g.value("x", DType.F32, Shape.of(rows, dim)))).out();
        for (int l = 0; l < m.layers(); l++) {
            Tensor[] w = m.blocks().get(l);
            Value xn = g.add(new Op.RmsNorm(x, w[0], 1e-5f, g.value("xn", DType.F32, Shape.of(rows, dim)))).out();
            Value q = g.add(new Op.Linear(xn, w[1], g.value("q", DType.F32, Shape.of(rows, dim)))).out();
            Value k = g.add(new Op.Linear(xn, w[2], g.value("k", DType.F32, Shape.of(rows, m.kvDim())))).out();
            Value v = g.add(new Op.Linear(xn, w[3], g.value("v", DType.F32, Shape.of(rows, m.kvDim())))).out();
            Value qr = g.add(new Op.Rope(q, positions, m.headDim(), m.headDim(), 10000f, RopeStyle.ADJACENT,
                    g.value("qr", DType.F32, Shape.of(rows, dim)))).out();
            Value kr = g.add(new Op.Rope(k, positions, m.headDim(), m.headDim(), 10000f, RopeStyle.ADJACENT,
                    g.value("kr", DType.F32, Shape.of(rows, m.kvDim())))).out();
            Value att = g.add(new Op.Attention(qr, kr, v, positions, caches.get(2 * l), caches.get(2 * l + 1), m.heads(),
                    m.kvHeads(), m.headDim(), g.value("att", DType.F32, Shape.of(rows, dim)))).out();
            Value o = g.add(new Op.Linear(att, w[4], g.value("o", DType.F32, Shape.of(rows, dim)))).out();
            Value h = g.add(new Op.Add(x, o, g.value("h", DType.F32, Shape.of(rows, dim)))).out();
            Value hn = g.add(new Op.RmsNorm(h, w[5], 1e-5f, g.value("hn", DType.F32, Shape.of(rows, dim)))).out();
            Value gate = g.add(new Op.Linear(hn, w[6], g.value("gate", DType.F32, Shape.of(rows, m.hidden())))).out();
            Value up = g.add(new Op.Linear(hn, w[8], g.value("up", DType.F32, Shape.of(rows, m.hidden())))).out();
            Value act = g.add(new Op.SiluMul(gate, up, g.value("act", DType.F32, Shape.of(rows, m.hidden())))).out();
            Value down = g.add(new Op.Linear(act, w[7], g.value("down", DType.F32, Shape.of(rows, dim)))).out();
            x = g.add(new Op.Add(h, down, g.value("out", DType.F32, Shape.of(rows, dim)))).out();
        }
        Value xn = g.add(new Op.RmsNorm(x, m.finalNorm(), 1e-5f, g.value("final", DType.F32, Shape.of(rows, dim)))).out();
        // The classifier is shared with the embedding table: the device holds that weight once.
        Value logits = g.add(new Op.Linear(xn, m.embedding(), g.value("logits", DType.F32, Shape.of(rows, m.vocab())))).out();
        g.output(logits);
        return new ModelGraph(g.build(), tokens, positions, caches, logits);
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /** ../shared as the build passes it, else from the environment, else beside the checkout. */
    private static Path sharedDir() {
        String property = System.getProperty("llmnpu.shared.dir");
        if (property != null && !property.isBlank()) {
            return Path.of(property);
        }
        String env = System.getenv("LLMNPU_SHARED_DIR");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return Stream.of(Path.of("../shared"), Path.of("../../shared")).filter(Files::isDirectory).findFirst()
                .orElse(Path.of("../shared"));
    }
}
