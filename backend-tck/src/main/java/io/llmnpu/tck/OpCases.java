package io.llmnpu.tck;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The single-op cases every device is checked on. Shapes are drawn from a seeded random source
 * (odd sizes where the op allows them, whole quantization blocks where it does not) around fixed edge
 * cases: one row and several, GQA ratios 1, 2 and 4, both RoPE styles, partial rotary dimensions,
 * padding rows, a chunk that fills the last cache row; for the INT8 and shadow ops, saturating
 * activations and outputs, rounding ties, per-tensor and per-channel scales, hot and cold outliers.
 */
final class OpCases {
    static final List<DType> WEIGHT_TYPES = List.of(DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0,
            DType.Q4_1, DType.Q5_0, DType.Q5_1, DType.IQ4_NL, DType.Q2_K, DType.Q3_K, DType.Q4_K, DType.Q5_K, DType.Q6_K);

    private final Random shapes;
    private final List<OpCase> cases = new ArrayList<>();

    private OpCases(Random shapes) {
        this.shapes = shapes;
    }

    /** Every case, with shapes drawn from {@code shapes}. */
    static List<OpCase> all(Random shapes) {
        OpCases c = new OpCases(shapes);
        c.embeddings();
        c.rmsNorms();
        c.linears();
        c.ropes();
        c.attentions();
        c.elementwise();
        c.selectRows();
        c.quantizedLinears();
        c.outlierShadows();
        c.shadowMerges();
        // Cases added later come last, so the shapes drawn for the earlier ones stay the same.
        c.architectureOps();
        return List.copyOf(c.cases);
    }

    /**
     * Graphs no device can be expected to run: weights in types that carry no scale (I8) or are not
     * weights at all (I32). A device should report them UNSUPPORTED and refuse to compile them.
     */
    static List<OpCase> unrunnable() {
        List<OpCase> list = new ArrayList<>();
        for (DType dtype : List.of(DType.I8, DType.I32)) {
            list.add(new OpCase("Linear " + dtype + " " + Shapes.text(2, 64) + "->" + Shapes.text(2, 8), dtype, data -> {
                SubgraphBuilder g = new SubgraphBuilder("linear-" + dtype);
                Value x = g.input("x", DType.F32, Shape.of(2, 64));
                Value y = g.value("out", DType.F32, Shape.of(2, 8));
                g.add(new Op.Linear(x, data.weights("weight", dtype, Shape.of(8, 64), 1.0), y));
                g.output(y);
                return new OpCase.Data(g.build(), Map.of(x, data.uniform("x", Shape.of(2, 64), 1.0)));
            }));
        }
        list.add(new OpCase("Embedding I32 " + Shapes.text(16, 32) + " tokens " + Shapes.text(2), DType.I32, data -> {
            SubgraphBuilder g = new SubgraphBuilder("embedding-I32");
            Value tokens = g.input("tokens", DType.I32, Shape.of(2));
            Value out = g.value("out", DType.F32, Shape.of(2, 32));
            g.add(new Op.Embedding(tokens, data.weights("table", DType.I32, Shape.of(16, 32), 1.0), out));
            g.output(out);
            return new OpCase.Data(g.build(), Map.of(tokens, data.ints("tokens", new int[] {1, 2})));
        }));
        list.add(new OpCase("RmsNorm " + Shapes.text(2, 32) + " with I8 weight", DType.I8, data -> {
            SubgraphBuilder g = new SubgraphBuilder("rmsnorm-I8");
            Value x = g.input("x", DType.F32, Shape.of(2, 32));
            Value out = g.value("out", DType.F32, Shape.of(2, 32));
            g.add(new Op.RmsNorm(x, data.weights("norm", DType.I8, Shape.of(32), 1.0), 1e-5f, out));
            g.output(out);
            return new OpCase.Data(g.build(), Map.of(x, data.uniform("x", Shape.of(2, 32), 1.0)));
        }));
        return list;
    }

    private void embeddings() {
        for (DType dtype : WEIGHT_TYPES) {
            for (int rows : new int[] {1, 2 + shapes.nextInt(7)}) {
                int vocab = 17 + 2 * shapes.nextInt(20);
                int dim = dtype.isQuantized() ? dtype.blockSize() * (1 + shapes.nextInt(4)) : 3 + 2 * shapes.nextInt(40);
                cases.add(new OpCase("Embedding " + dtype + " " + Shapes.text(vocab, dim) + " tokens "
                        + Shapes.text(rows), dtype, data -> {
                    SubgraphBuilder g = new SubgraphBuilder("embedding");
                    Value tokens = g.input("tokens", DType.I32, Shape.of(rows));
                    Value out = g.value("out", DType.F32, Shape.of(rows, dim));
                    Tensor table = data.weights("table", dtype, Shape.of(vocab, dim), 1.0);
                    g.add(new Op.Embedding(tokens, table, out));
                    g.output(out);
                    int[] ids = new int[rows];
                    for (int t = 0; t < rows; t++) {
                        ids[t] = data.random().nextInt(vocab);
                    }
                    ids[0] = vocab - 1; // both ends of the table
                    if (rows > 1) {
                        ids[1] = 0;
                    }
                    return new OpCase.Data(g.build(), Map.of(tokens, data.ints("tokens", ids)));
                }));
            }
        }
    }

    private void rmsNorms() {
        rmsNorm(1, odd(9, 129), 1e-5f, 1, "");
        rmsNorm(2 + shapes.nextInt(6), odd(9, 129), 1e-5f, 1, "");
        rmsNorm(3, 64, 1e-6f, 1, "");
        // rows whose mean square is far below eps: the result depends on eps itself
        rmsNorm(4, odd(9, 129), 1e-5f, 1e-3, " tiny rows");
        rmsNorm(3, odd(9, 129), 0.5f, 1, "");
    }

    private void rmsNorm(int rows, int n, float eps, double scale, String note) {
        cases.add(new OpCase("RmsNorm " + Shapes.text(rows, n) + " eps " + eps + note, DType.F32, data -> {
            SubgraphBuilder g = new SubgraphBuilder("rmsnorm");
            Value in = g.input("x", DType.F32, Shape.of(rows, n));
            Value out = g.value("out", DType.F32, Shape.of(rows, n));
            g.add(new Op.RmsNorm(in, data.uniform("norm", Shape.of(n), 1.5), eps, out));
            g.output(out);
            return new OpCase.Data(g.build(), Map.of(in, data.uniform("x", Shape.of(rows, n), scale)));
        }));
    }

    private void linears() {
        for (DType dtype : WEIGHT_TYPES) {
            if (dtype.isQuantized()) {
                int block = dtype.blockSize();
                linear(dtype, 2 + shapes.nextInt(7), block * (2 + shapes.nextInt(4)), odd(3, 65));
                linear(dtype, 1, block, 1);
                linear(dtype, 2, Math.max(1024, 2 * block), odd(3, 17));
                // prefill-sized: a backend may switch to a tiled path for many rows
                linear(dtype, 13 + shapes.nextInt(20), block * (1 + shapes.nextInt(2)), odd(3, 33));
            } else {
                linear(dtype, 2 + shapes.nextInt(7), odd(17, 129), odd(3, 65));
                linear(dtype, 1, odd(17, 129), odd(3, 65));
                if (dtype == DType.F32) {
                    linear(dtype, 3, odd(513, 641), 9);
                }
            }
        }
    }

    private void linear(DType dtype, int rows, int in, int out) {
        cases.add(new OpCase("Linear " + dtype + " " + Shapes.text(rows, in) + "->" + Shapes.text(rows, out), dtype, data -> {
            SubgraphBuilder g = new SubgraphBuilder("linear");
            Value x = g.input("x", DType.F32, Shape.of(rows, in));
            Value y = g.value("out", DType.F32, Shape.of(rows, out));
            g.add(new Op.Linear(x, data.weights("weight", dtype, Shape.of(out, in), 1.0), y));
            g.output(y);
            return new OpCase.Data(g.build(), Map.of(x, data.uniform("x", Shape.of(rows, in), 1.0)));
        }));
    }

    private void ropes() {
        for (RopeStyle style : RopeStyle.values()) {
            rope(style, 1, 3, 16, 16, 10_000f, 0);
            rope(style, 6, 3, 16, 16, 10_000f, 2);
            rope(style, 4, 2, 32, 8, 1_000_000f, 1);
            rope(style, 2 + shapes.nextInt(5), 1 + shapes.nextInt(5), 8, 4, 500_000f, 0);
        }
    }

    private void rope(RopeStyle style, int rows, int heads, int headDim, int rotaryDims, float theta, int padding) {
        int cols = heads * headDim;
        String label = "Rope " + style + " " + Shapes.text(rows, cols) + " head " + headDim + " rotary " + rotaryDims
                + " theta " + (long) theta + (padding > 0 ? " (" + padding + " padding rows)" : "");
        cases.add(new OpCase(label, DType.F32, data -> {
            SubgraphBuilder g = new SubgraphBuilder("rope");
            Value in = g.input("x", DType.F32, Shape.of(rows, cols));
            Value positions = g.input("positions", DType.I32, Shape.of(rows));
            Value out = g.value("out", DType.F32, Shape.of(rows, cols));
            g.add(new Op.Rope(in, positions, headDim, rotaryDims, theta, style, out));
            g.output(out);
            int[] pos = new int[rows];
            for (int t = 0; t < rows; t++) {
                pos[t] = 1 + data.random().nextInt(255);
            }
            if (rows > 1) {
                pos[rows - 1] = 0; // position 0 must leave the row as it is
            }
            for (int p = 0; p < padding; p++) {
                pos[p * 2 % rows] = -1; // padding anywhere in the chunk, not only at its end
            }
            return new OpCase.Data(g.build(), Map.of(
                    in, data.uniform("x", Shape.of(rows, cols), 1.0),
                    positions, data.ints("positions", pos)));
        }));
    }

    private void attentions() {
        int[][] ratios = {{4, 4}, {4, 2}, {4, 1}};
        for (int[] r : ratios) {
            attention(r[0], r[1], 8, 1, 2 + shapes.nextInt(10), 0, 16);
            attention(r[0], r[1], 8, 5, 3, 1, 16);
        }
        attention(2, 2, 8, 1, 0, 0, 8);           // the first token sees only itself
        attention(8, 2, 8, 3, 0, 3, 8);           // all padding: zeros out, caches untouched
        attention(4, 2, 12, 4, 12, 0, 16);        // the chunk ends on the last cache row
        attention(6, 3, 16, 7, 0, 2, 12);         // a whole prompt with padding from position 0
    }

    private void attention(int heads, int kvHeads, int headDim, int rows, int start, int padding, int cacheRows) {
        int real = rows - padding;
        String span = real == 0 ? Shapes.text(rows) + " all padding"
                : rows + " rows from pos " + start + (padding > 0 ? ", " + padding + " padding" : "");
        String label = "Attention heads " + heads + " kv " + kvHeads + " head " + headDim + " [" + span + "] cache "
                + Shapes.text(cacheRows, kvHeads * headDim);
        cases.add(new OpCase(label, DType.F32, data -> attentionData(data, heads, kvHeads, headDim, rows, start, padding,
                cacheRows, Op.Attention.defaultScale(headDim), 0f, 0, 2.0, 1.0)));
    }

    /**
     * An attention graph and its inputs: rows from position {@code start} on, the last {@code padding}
     * of them padding, over caches holding {@code start} earlier positions; q and k uniform in
     * +-{@code qMagnitude} and +-{@code kMagnitude}.
     */
    private static OpCase.Data attentionData(RandomTensors data, int heads, int kvHeads, int headDim, int rows, int start,
                                             int padding, int cacheRows, float scale, float softCap, int window,
                                             double qMagnitude, double kMagnitude) {
        int real = rows - padding;
        int qDim = heads * headDim;
        int kvDim = kvHeads * headDim;
        SubgraphBuilder g = new SubgraphBuilder("attention");
        Value q = g.input("q", DType.F32, Shape.of(rows, qDim));
        Value k = g.input("k", DType.F32, Shape.of(rows, kvDim));
        Value v = g.input("v", DType.F32, Shape.of(rows, kvDim));
        Value positions = g.input("positions", DType.I32, Shape.of(rows));
        Value kCache = g.input("cache_k", DType.F32, Shape.of(cacheRows, kvDim));
        Value vCache = g.input("cache_v", DType.F32, Shape.of(cacheRows, kvDim));
        Value out = g.value("out", DType.F32, Shape.of(rows, qDim));
        g.add(new Op.Attention(q, k, v, positions, kCache, vCache, heads, kvHeads, headDim, scale, softCap, window, out));
        g.output(out);
        int[] pos = new int[rows];
        for (int t = 0; t < rows; t++) {
            pos[t] = t < real ? start + t : -1;
        }
        Map<Value, Tensor> inputs = new HashMap<>();
        inputs.put(q, data.uniform("q", Shape.of(rows, qDim), qMagnitude));
        inputs.put(k, data.uniform("k", Shape.of(rows, kvDim), kMagnitude));
        inputs.put(v, data.uniform("v", Shape.of(rows, kvDim), 1.0));
        inputs.put(positions, data.ints("positions", pos));
        inputs.put(kCache, cache(data, "cache_k", cacheRows, kvDim, start));
        inputs.put(vCache, cache(data, "cache_v", cacheRows, kvDim, start));
        return new OpCase.Data(g.build(), inputs);
    }

    /**
     * Rows before {@code history} hold earlier positions; the rest hold large stale values that a
     * causal backend never reads, so attending past position p shows up at once.
     */
    static Tensor cache(RandomTensors data, String name, int rows, int cols, int history) {
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) {
            double magnitude = i < history * cols ? 1.0 : 50.0;
            values[i] = (float) ((data.random().nextDouble() * 2 - 1) * magnitude);
        }
        return data.floats(name, Shape.of(rows, cols), values);
    }

    private void elementwise() {
        for (int rows : new int[] {1, 2 + shapes.nextInt(6)}) {
            int n = odd(9, 129);
            cases.add(new OpCase("SiluMul " + Shapes.text(rows, n), DType.F32, data -> {
                SubgraphBuilder g = new SubgraphBuilder("silumul");
                Value gate = g.input("gate", DType.F32, Shape.of(rows, n));
                Value up = g.input("up", DType.F32, Shape.of(rows, n));
                Value out = g.value("out", DType.F32, Shape.of(rows, n));
                g.add(new Op.SiluMul(gate, up, out));
                g.output(out);
                return new OpCase.Data(g.build(), Map.of(
                        gate, data.uniform("gate", Shape.of(rows, n), 8.0),
                        up, data.uniform("up", Shape.of(rows, n), 2.0)));
            }));
        }
        for (int rows : new int[] {1, 2 + shapes.nextInt(6)}) {
            int n = odd(9, 129);
            cases.add(new OpCase("Add " + Shapes.text(rows, n), DType.F32, data -> {
                SubgraphBuilder g = new SubgraphBuilder("add");
                Value a = g.input("a", DType.F32, Shape.of(rows, n));
                Value b = g.input("b", DType.F32, Shape.of(rows, n));
                Value out = g.value("out", DType.F32, Shape.of(rows, n));
                g.add(new Op.Add(a, b, out));
                g.output(out);
                return new OpCase.Data(g.build(), Map.of(
                        a, data.uniform("a", Shape.of(rows, n), 1.0),
                        b, data.uniform("b", Shape.of(rows, n), 1.0)));
            }));
        }
    }

    private void selectRows() {
        int n = odd(9, 65);
        selectRow(5, n, 0);
        selectRow(5, n, 4);
        int rows = 2 + shapes.nextInt(6);
        selectRow(rows, odd(9, 65), shapes.nextInt(rows));
        selectRow(1, odd(9, 65), 0);
    }

    private void selectRow(int rows, int n, int row) {
        cases.add(new OpCase("SelectRow " + Shapes.text(rows, n) + " row " + row + "->" + Shapes.text(1, n), DType.F32, data -> {
            SubgraphBuilder g = new SubgraphBuilder("selectrow");
            Value in = g.input("x", DType.F32, Shape.of(rows, n));
            Value out = g.value("out", DType.F32, Shape.of(1, n));
            g.add(new Op.SelectRow(in, row, out));
            g.output(out);
            return new OpCase.Data(g.build(), Map.of(in, data.uniform("x", Shape.of(rows, n), 1.0)));
        }));
    }

    private void quantizedLinears() {
        quantizedLinear(1, odd(17, 129), odd(3, 65), false, false);
        quantizedLinear(2 + shapes.nextInt(7), odd(17, 129), odd(3, 65), true, false);
        quantizedLinear(2 + shapes.nextInt(7), odd(17, 129), odd(3, 65), false, true);
        quantizedLinear(1, odd(17, 129), odd(3, 65), true, true);
        quantizedLinear(1, odd(9, 33), 1, true, false);
        quantizedLinear(3, 1024 + odd(1, 63), odd(3, 17), true, true);
    }

    /**
     * Activations uniform in [-1, 1] with an input scale that clips at 0.9, so about one in ten values
     * saturates, plus values placed on exact rounding ties of the codes (rint rounds them to even).
     * With requantization the output scale puts the saturation limit near 1.5 standard deviations of the
     * outputs, so some outputs saturate and most do not.
     */
    private void quantizedLinear(int rows, int in, int out, boolean perRow, boolean requantize) {
        String label = "QuantizedLinear " + (perRow ? "per-channel" : "per-tensor") + " " + Shapes.text(rows, in)
                + "->" + Shapes.text(rows, out) + (requantize ? " INT16 requantized" : "");
        float inputScale = 0.9f / 127;
        double weightScale = 0.02;
        float outputScale = requantize
                ? (float) (1.5 * 73.0 * 73.0 * Math.sqrt(in) * inputScale * weightScale * 0.75 / Op.QuantizedLinear.OUTPUT_LIMIT)
                : 0f;
        cases.add(new OpCase(label, DType.I8, t -> t.quantizedLinear(outputScale), data -> {
            SubgraphBuilder g = new SubgraphBuilder("quantized-linear");
            Value x = g.input("x", DType.F32, Shape.of(rows, in));
            Value y = g.value("out", DType.F32, Shape.of(rows, out));
            g.add(new Op.QuantizedLinear(x, data.int8("weight", out, in, perRow, weightScale), inputScale, outputScale, y));
            g.output(y);
            float[] values = data.uniform("x", Shape.of(rows, in), 1.0).toFloatArray();
            for (int i = 0; i < values.length; i += 5) {
                int code = data.random().nextInt(253) - 126;
                values[i] = (float) ((code + 0.5) * inputScale); // a tie, or within a float step of one
            }
            return new OpCase.Data(g.build(), Map.of(x, data.floats("x", Shape.of(rows, in), values)));
        }));
    }

    private void outlierShadows() {
        outlierShadow(DType.F32, 1, odd(17, 129), odd(3, 65), true, true);
        outlierShadow(DType.F32, 2 + shapes.nextInt(7), odd(17, 129), odd(3, 65), true, false);
        outlierShadow(DType.F32, 2 + shapes.nextInt(7), odd(17, 129), odd(3, 65), false, true);
        outlierShadow(DType.F16, 2 + shapes.nextInt(7), odd(17, 129), odd(3, 65), true, true);
        outlierShadow(DType.Q8_0, 2 + shapes.nextInt(7), 32 * (2 + shapes.nextInt(4)), odd(3, 65), true, true);
        outlierShadow(DType.F32, 3, odd(17, 65), odd(3, 33), false, false);
    }

    /**
     * Activations uniform in [-1, 1] under a clip threshold of 1, so nothing else contributes, plus
     * outliers: large ones (up to 12) in the hot channels and, where {@code coldOutliers}, a few in
     * channels that are not hot. With neither, the output is all zeros.
     */
    private void outlierShadow(DType dtype, int rows, int in, int out, boolean hotOutliers, boolean coldOutliers) {
        int[] hot = new int[Math.max(1, in / 16)];
        for (int i = 0; i < hot.length; i++) {
            hot[i] = i * 16 + i % 16; // spread out, increasing, below in
        }
        String label = "OutlierShadow " + dtype + " " + Shapes.text(rows, in) + "->" + Shapes.text(rows, out) + " "
                + hot.length + " hot channels, outliers " + (hotOutliers ? "hot" : "")
                + (hotOutliers && coldOutliers ? " and " : "") + (coldOutliers ? "cold" : "")
                + (hotOutliers || coldOutliers ? "" : "none");
        float threshold = 1.0f;
        cases.add(new OpCase(label, dtype, data -> {
            SubgraphBuilder g = new SubgraphBuilder("outlier-shadow");
            Value x = g.input("x", DType.F32, Shape.of(rows, in));
            Value y = g.value("out", DType.F32, Shape.of(rows, out));
            g.add(new Op.OutlierShadow(x, threshold, data.weights("weight", dtype, Shape.of(out, in), 1.0), hot, y));
            g.output(y);
            float[] values = data.uniform("x", Shape.of(rows, in), 1.0).toFloatArray();
            Random r = data.random();
            for (int t = 0; t < rows; t++) {
                if (hotOutliers) {
                    for (int c : hot) {
                        if (r.nextInt(3) > 0) {
                            values[t * in + c] = (float) ((r.nextBoolean() ? 1 : -1) * (1.01 + 11 * r.nextDouble()));
                        }
                    }
                }
                if (coldOutliers) {
                    int c = r.nextInt(in);
                    if (Arrays.stream(hot).noneMatch(h -> h == c)) {
                        values[t * in + c] = (float) ((r.nextBoolean() ? 1 : -1) * (1.5 + 5 * r.nextDouble()));
                    }
                }
            }
            values[0] = threshold; // at the threshold: not an outlier, contributes nothing
            return new OpCase.Data(g.build(), Map.of(x, data.floats("x", Shape.of(rows, in), values)));
        }));
    }

    private void shadowMerges() {
        shadowMerge(DType.F32, 1, odd(17, 129), odd(3, 65), 40f);
        shadowMerge(DType.F32, 2 + shapes.nextInt(7), odd(17, 129), odd(3, 65), 40f);
        shadowMerge(DType.F16, 2 + shapes.nextInt(7), odd(17, 129), odd(3, 65), 40f);
        shadowMerge(DType.Q8_0, 2 + shapes.nextInt(7), 32 * (2 + shapes.nextInt(4)), odd(3, 65), 40f);
        shadowMerge(DType.F32, 2 + shapes.nextInt(7), odd(17, 129), odd(3, 65), Float.POSITIVE_INFINITY);
        shadowedLayer(DType.F16, 2 + shapes.nextInt(7), odd(17, 129), odd(3, 65));
    }

    /**
     * The float side of a shadowed layer as the runtime places it on a CPU or GPU: the NPU's output
     * arrives as an input, OutlierShadow makes the correction and ShadowMerge joins them, so the
     * correction travels through an intermediate the device allocates.
     */
    private void shadowedLayer(DType dtype, int rows, int in, int out) {
        float limit = 20f;
        float threshold = 1f;
        String label = "OutlierShadow then ShadowMerge " + dtype + " " + Shapes.text(rows, in) + "->"
                + Shapes.text(rows, out) + " saturation limit " + limit;
        cases.add(new OpCase(label, dtype, t -> t.forComposite(dtype), data -> {
            SubgraphBuilder g = new SubgraphBuilder("shadowed-layer");
            Value npu = g.input("npu", DType.F32, Shape.of(rows, out));
            Value x = g.input("x", DType.F32, Shape.of(rows, in));
            Value shadow = g.value("shadow", DType.F32, Shape.of(rows, out));
            Value y = g.value("out", DType.F32, Shape.of(rows, out));
            Tensor weight = data.weights("weight", dtype, Shape.of(out, in), 1.0);
            g.add(new Op.OutlierShadow(x, threshold, weight, new int[] {0, in / 2}, shadow));
            g.add(new Op.ShadowMerge(npu, shadow, x, weight, limit, y));
            g.output(y);
            float[] npuValues = data.uniform("npu", Shape.of(rows, out), limit).toFloatArray();
            for (int i = 0; i < npuValues.length; i += 4) {
                npuValues[i] = i % 8 == 0 ? limit : -limit;
            }
            float[] xValues = data.uniform("x", Shape.of(rows, in), 1.0).toFloatArray();
            for (int t = 0; t < rows; t++) {
                xValues[t * in + in / 2] = 4f * (t % 2 == 0 ? 1 : -1); // a hot outlier in every row
                xValues[t * in + in - 1] = -2.5f; // and a cold one
            }
            return new OpCase.Data(g.build(), Map.of(
                    npu, data.floats("npu", Shape.of(rows, out), npuValues),
                    x, data.floats("x", Shape.of(rows, in), xValues)));
        }));
    }

    /**
     * NPU outputs uniform in [-limit, limit] with about one in six set to exactly +-limit (saturated,
     * recomputed from the weights) and some to the float just below it (not saturated, added).
     */
    private void shadowMerge(DType dtype, int rows, int in, int out, float limit) {
        String label = "ShadowMerge " + dtype + " " + Shapes.text(rows, in) + "->" + Shapes.text(rows, out)
                + (Float.isInfinite(limit) ? " no saturation limit" : " saturation limit " + limit);
        cases.add(new OpCase(label, dtype, data -> {
            SubgraphBuilder g = new SubgraphBuilder("shadow-merge");
            Value npu = g.input("npu", DType.F32, Shape.of(rows, out));
            Value shadow = g.input("shadow", DType.F32, Shape.of(rows, out));
            Value x = g.input("x", DType.F32, Shape.of(rows, in));
            Value y = g.value("out", DType.F32, Shape.of(rows, out));
            g.add(new Op.ShadowMerge(npu, shadow, x, data.weights("weight", dtype, Shape.of(out, in), 1.0), limit, y));
            g.output(y);
            double magnitude = Float.isInfinite(limit) ? 40 : limit;
            float[] npuValues = data.uniform("npu", Shape.of(rows, out), magnitude).toFloatArray();
            Random r = data.random();
            for (int i = 0; i < npuValues.length; i++) {
                int pick = r.nextInt(12);
                float edge = Float.isInfinite(limit) ? (float) magnitude : limit;
                if (pick < 2) {
                    npuValues[i] = pick == 0 ? edge : -edge;
                } else if (pick == 2) {
                    npuValues[i] = Math.nextDown(edge) * (r.nextBoolean() ? 1 : -1);
                }
            }
            return new OpCase.Data(g.build(), Map.of(
                    npu, data.floats("npu", Shape.of(rows, out), npuValues),
                    shadow, data.uniform("shadow", Shape.of(rows, out), 3.0),
                    x, data.uniform("x", Shape.of(rows, in), 2.0)));
        }));
    }

    /** An odd number in [lo, hi] (lo odd). */
    /**
     * The ops and options that architectures beyond Llama need: RoPE frequency factors, attention with a
     * score scale, soft-capping and a sliding window, LayerNorm with and without bias, biases, GELU,
     * GeGLU, scaling and soft-capping of values.
     */
    private void architectureOps() {
        for (RopeStyle style : RopeStyle.values()) {
            ropeWithFactors(style, 3 + shapes.nextInt(4), 2, 16, style == RopeStyle.NEOX ? 8 : 16);
        }
        attentionWithOptions(4, 2, 8, 5, 9, 1, 16, 0.3f, 0f, 4);     // window inside the chunk
        attentionWithOptions(4, 4, 8, 1, 13, 0, 16, 0.25f, 0f, 6);    // decode row with a window
        attentionWithOptions(4, 1, 16, 4, 3, 0, 12, 0.5f, 5f, 0);     // soft cap, no window
        attentionWithOptions(6, 3, 8, 6, 2, 1, 12, 0.35f, 2f, 3);     // both, with padding
        attentionWithOptions(2, 2, 8, 3, 0, 0, 8, 0.35f, 0f, 1);      // a window of one: only itself
        for (int rows : new int[] {1, 2 + shapes.nextInt(6)}) {
            int n = odd(9, 129);
            unary("Gelu " + Shapes.text(rows, n), rows, n, 6.0, (in, out) -> new Op.Gelu(in, out));
            unary("Scale " + Shapes.text(rows, n) + " by 11.3", rows, n, 1.0, (in, out) -> new Op.Scale(in, 11.3f, out));
            unary("SoftCap " + Shapes.text(rows, n) + " cap 3", rows, n, 9.0, (in, out) -> new Op.SoftCap(in, 3f, out));
            int m = odd(9, 129);
            cases.add(new OpCase("GeluMul " + Shapes.text(rows, m), DType.F32, data -> {
                SubgraphBuilder g = new SubgraphBuilder("gelumul");
                Value gate = g.input("gate", DType.F32, Shape.of(rows, m));
                Value up = g.input("up", DType.F32, Shape.of(rows, m));
                Value out = g.value("out", DType.F32, Shape.of(rows, m));
                g.add(new Op.GeluMul(gate, up, out));
                g.output(out);
                return new OpCase.Data(g.build(), Map.of(
                        gate, data.uniform("gate", Shape.of(rows, m), 6.0),
                        up, data.uniform("up", Shape.of(rows, m), 2.0)));
            }));
            int b = odd(9, 129);
            cases.add(new OpCase("AddBias " + Shapes.text(rows, b), DType.F32, data -> {
                SubgraphBuilder g = new SubgraphBuilder("addbias");
                Value in = g.input("x", DType.F32, Shape.of(rows, b));
                Value out = g.value("out", DType.F32, Shape.of(rows, b));
                g.add(new Op.AddBias(in, data.uniform("bias", Shape.of(b), 2.0), out));
                g.output(out);
                return new OpCase.Data(g.build(), Map.of(in, data.uniform("x", Shape.of(rows, b), 1.0)));
            }));
        }
        layerNorm(1, odd(9, 129), 1e-5f, true, 1, "");
        layerNorm(2 + shapes.nextInt(6), odd(9, 129), 1e-5f, true, 1, "");
        layerNorm(3, 64, 1e-6f, false, 1, " no bias");
        // rows far from zero mean with a small spread: the mean must be taken out before squaring
        layerNorm(4, odd(9, 129), 1e-5f, true, 1e-2, " offset rows");
    }

    @FunctionalInterface
    private interface UnaryOp {
        Op make(Value in, Value out);
    }

    private void unary(String label, int rows, int n, double magnitude, UnaryOp op) {
        cases.add(new OpCase(label, DType.F32, data -> {
            SubgraphBuilder g = new SubgraphBuilder("unary");
            Value in = g.input("x", DType.F32, Shape.of(rows, n));
            Value out = g.value("out", DType.F32, Shape.of(rows, n));
            g.add(op.make(in, out));
            g.output(out);
            return new OpCase.Data(g.build(), Map.of(in, data.uniform("x", Shape.of(rows, n), magnitude)));
        }));
    }

    private void layerNorm(int rows, int n, float eps, boolean bias, double spread, String note) {
        cases.add(new OpCase("LayerNorm " + Shapes.text(rows, n) + " eps " + eps + note, DType.F32, data -> {
            SubgraphBuilder g = new SubgraphBuilder("layernorm");
            Value in = g.input("x", DType.F32, Shape.of(rows, n));
            Value out = g.value("out", DType.F32, Shape.of(rows, n));
            g.add(new Op.LayerNorm(in, data.uniform("norm", Shape.of(n), 1.5),
                    bias ? data.uniform("bias", Shape.of(n), 0.5) : null, eps, out));
            g.output(out);
            float[] x = data.uniform("x", Shape.of(rows, n), spread).toFloatArray();
            for (int i = 0; i < x.length; i++) {
                x[i] += (float) (spread < 1 ? 3.0 : 0.0);
            }
            return new OpCase.Data(g.build(), Map.of(in, data.floats("x", Shape.of(rows, n), x)));
        }));
    }

    private void ropeWithFactors(RopeStyle style, int rows, int heads, int headDim, int rotaryDims) {
        int cols = heads * headDim;
        String label = "Rope " + style + " " + Shapes.text(rows, cols) + " head " + headDim + " rotary " + rotaryDims
                + " theta 500000 with frequency factors";
        cases.add(new OpCase(label, DType.F32, data -> {
            SubgraphBuilder g = new SubgraphBuilder("rope-factors");
            Value in = g.input("x", DType.F32, Shape.of(rows, cols));
            Value positions = g.input("positions", DType.I32, Shape.of(rows));
            Value out = g.value("out", DType.F32, Shape.of(rows, cols));
            float[] factors = new float[rotaryDims / 2];
            for (int i = 0; i < factors.length; i++) {
                factors[i] = (float) (1 + 31 * data.random().nextDouble() * i / factors.length); // 1 .. 32, as Llama 3.1
            }
            g.add(new Op.Rope(in, positions, headDim, rotaryDims, 500_000f, style,
                    data.floats("rope_freqs", Shape.of(factors.length), factors), out));
            g.output(out);
            int[] pos = new int[rows];
            for (int t = 0; t < rows; t++) {
                pos[t] = data.random().nextInt(5000);
            }
            pos[0] = -1;
            return new OpCase.Data(g.build(), Map.of(
                    in, data.uniform("x", Shape.of(rows, cols), 1.0),
                    positions, data.ints("positions", pos)));
        }));
    }

    private void attentionWithOptions(int heads, int kvHeads, int headDim, int rows, int start, int padding,
                                      int cacheRows, float scale, float softCap, int window) {
        String label = "Attention heads " + heads + " kv " + kvHeads + " head " + headDim + " [" + rows
                + " rows from pos " + start + (padding > 0 ? ", " + padding + " padding" : "") + "] scale " + scale
                + (softCap > 0 ? " soft cap " + softCap : "") + (window > 0 ? " window " + window : "");
        cases.add(new OpCase(label, DType.F32, data -> attentionData(data, heads, kvHeads, headDim, rows, start, padding,
                cacheRows, scale, softCap, window, 4.0, 2.0)));
    }

    private int odd(int lo, int hi) {
        return lo + 2 * shapes.nextInt((hi - lo) / 2 + 1);
    }
}
