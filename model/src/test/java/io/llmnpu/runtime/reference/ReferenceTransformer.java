package io.llmnpu.runtime.reference;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * A deliberately plain forward pass in double precision for F32 GGUF files of the families llmnpu
 * runs (llama, qwen2, phi3, gemma, gemma2, phi2): scalar loops, its own GGUF parsing, its own KV
 * cache, nothing shared with the engine. Each family's differences are spelled out inline from the
 * architectures' published definitions, so the engine's graph builders are checked against a second,
 * independent reading of them. Slow; for tiny models only.
 */
public final class ReferenceTransformer {

    /** How attention rounds its operands. */
    public enum Precision {
        /** Everything in double. */
        EXACT,
        /**
         * As llama.cpp computes on the CPU with its default settings: keys and values stored in F16, and
         * the query and the attention probabilities rounded to F16 where they meet the F16 cache in a
         * matrix product. Used to show that llama.cpp's outputs are reproduced once its precision is.
         */
        LLAMA_CPP_F16_ATTENTION
    }

    private final String arch;
    private final Precision precision;
    private final Map<String, Object> meta = new HashMap<>();
    private final Map<String, double[]> tensors = new HashMap<>();
    private final Map<String, long[]> shapes = new HashMap<>();

    private final int dim;
    private final int hidden;
    private final int layers;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int rotary;
    private final int vocab;
    private final double theta;
    private final double eps;
    private final int window;
    private final double attnCap;
    private final double finalCap;
    private final double[][] keys;
    private final double[][] values;
    private final int maxPositions;

    public ReferenceTransformer(Path file, int maxPositions) throws IOException {
        this(file, maxPositions, Precision.EXACT);
    }

    public ReferenceTransformer(Path file, int maxPositions, Precision precision) throws IOException {
        this.maxPositions = maxPositions;
        this.precision = precision;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size()).order(ByteOrder.LITTLE_ENDIAN);
            parse(b);
        }
        arch = (String) meta.get("general.architecture");
        dim = meta("embedding_length");
        hidden = meta("feed_forward_length");
        layers = meta("block_count");
        heads = meta("attention.head_count");
        kvHeads = meta.containsKey(arch + ".attention.head_count_kv") ? meta("attention.head_count_kv") : heads;
        headDim = meta.containsKey(arch + ".attention.key_length") ? meta("attention.key_length") : dim / heads;
        rotary = meta.containsKey(arch + ".rope.dimension_count") ? meta("rope.dimension_count") : headDim;
        vocab = (int) shapes.get("token_embd.weight")[1];
        theta = meta.containsKey(arch + ".rope.freq_base") ? ((Number) meta.get(arch + ".rope.freq_base")).doubleValue() : 10000;
        String epsKey = arch.equals("phi2") ? ".attention.layer_norm_epsilon" : ".attention.layer_norm_rms_epsilon";
        eps = ((Number) meta.get(arch + epsKey)).doubleValue();
        window = meta.containsKey(arch + ".attention.sliding_window") ? meta("attention.sliding_window")
                : arch.equals("gemma2") ? 4096 : 0;
        attnCap = arch.equals("gemma2") ? ((Number) meta.getOrDefault("gemma2.attn_logit_softcapping", 50f)).doubleValue() : 0;
        finalCap = arch.equals("gemma2") ? ((Number) meta.getOrDefault("gemma2.final_logit_softcapping", 30f)).doubleValue() : 0;
        keys = new double[layers][maxPositions * kvHeads * headDim];
        values = new double[layers][maxPositions * kvHeads * headDim];
    }

    private int meta(String key) {
        return ((Number) meta.get(arch + "." + key)).intValue();
    }

    public int vocabSize() {
        return vocab;
    }

    /** Logits after feeding {@code tokens} from position {@code start} on. */
    public double[] forward(int[] tokens, int start) {
        double[] logits = null;
        for (int i = 0; i < tokens.length; i++) {
            logits = forward(tokens[i], start + i);
        }
        return logits;
    }

    /** Logits after {@code token} at position {@code pos}; positions must come in order from 0. */
    public double[] forward(int token, int pos) {
        double[] x = row("token_embd.weight", token, dim);
        if (arch.startsWith("gemma")) {
            scale(x, Math.sqrt(dim));
        }
        for (int l = 0; l < layers; l++) {
            String p = "blk." + l + ".";
            double[] xn = arch.equals("phi2") ? layerNorm(x, t(p + "attn_norm.weight"), t(p + "attn_norm.bias"))
                    : rmsNorm(x, t(p + "attn_norm.weight"));
            double[] attn = attention(l, p, xn, pos);
            if (arch.equals("phi2")) {
                double[] ffn = matVec(p + "ffn_down", gelu(matVec(p + "ffn_up", xn)));
                for (int i = 0; i < dim; i++) {
                    x[i] += attn[i] + ffn[i];
                }
                continue;
            }
            if (arch.equals("gemma2")) {
                attn = rmsNorm(attn, t(p + "post_attention_norm.weight"));
            }
            add(x, attn);
            double[] hn = rmsNorm(x, t(p + "ffn_norm.weight"));
            double[] gate;
            double[] up;
            if (arch.equals("phi3")) {
                double[] both = matVec(p + "ffn_up", hn); // [gate; up]
                gate = java.util.Arrays.copyOfRange(both, 0, hidden);
                up = java.util.Arrays.copyOfRange(both, hidden, 2 * hidden);
            } else {
                gate = matVec(p + "ffn_gate", hn);
                up = matVec(p + "ffn_up", hn);
            }
            double[] act = new double[hidden];
            for (int i = 0; i < hidden; i++) {
                double g = arch.startsWith("gemma") ? gelu(gate[i]) : gate[i] / (1 + Math.exp(-gate[i]));
                act[i] = g * up[i];
            }
            double[] down = matVec(p + "ffn_down", act);
            if (arch.equals("gemma2")) {
                down = rmsNorm(down, t(p + "post_ffw_norm.weight"));
            }
            add(x, down);
        }
        double[] out = arch.equals("phi2") ? layerNorm(x, t("output_norm.weight"), t("output_norm.bias"))
                : rmsNorm(x, t("output_norm.weight"));
        // matVec adds output.bias where the file has one (Phi-2)
        double[] logits = matVec(tensors.containsKey("output.weight") ? "output" : "token_embd", out);
        if (finalCap > 0) {
            for (int i = 0; i < logits.length; i++) {
                logits[i] = finalCap * Math.tanh(logits[i] / finalCap);
            }
        }
        return logits;
    }

    private double[] attention(int l, String p, double[] xn, int pos) {
        int qDim = heads * headDim;
        int kvDim = kvHeads * headDim;
        double[] q;
        double[] k;
        double[] v;
        if (tensors.containsKey(p + "attn_qkv.weight")) {
            double[] qkv = matVec(p + "attn_qkv", xn);
            q = java.util.Arrays.copyOfRange(qkv, 0, qDim);
            k = java.util.Arrays.copyOfRange(qkv, qDim, qDim + kvDim);
            v = java.util.Arrays.copyOfRange(qkv, qDim + kvDim, qDim + 2 * kvDim);
        } else {
            q = matVec(p + "attn_q", xn);
            k = matVec(p + "attn_k", xn);
            v = matVec(p + "attn_v", xn);
        }
        // llama and mistral rotate adjacent pairs, the others NeoX halves
        boolean neox = !arch.equals("llama") && !arch.equals("mistral");
        double[] factors = tensors.get("rope_freqs.weight");
        rope(q, pos, neox, factors);
        rope(k, pos, neox, factors);
        boolean f16 = precision == Precision.LLAMA_CPP_F16_ATTENTION;
        if (f16) {
            for (int i = 0; i < kvDim; i++) {
                k[i] = half(k[i]);
                v[i] = half(v[i]);
            }
            for (int i = 0; i < qDim; i++) {
                q[i] = half(q[i]);
            }
        }
        System.arraycopy(k, 0, keys[l], pos * kvDim, kvDim);
        System.arraycopy(v, 0, values[l], pos * kvDim, kvDim);
        boolean slides = window > 0 && (!arch.equals("gemma2") || l % 2 == 0);
        int first = slides ? Math.max(0, pos - window + 1) : 0;
        double scale = 1 / Math.sqrt(arch.equals("gemma2") && layers == 46 ? (double) dim / heads : headDim);
        double[] out = new double[qDim];
        for (int h = 0; h < heads; h++) {
            int kvh = h / (heads / kvHeads);
            double[] s = new double[pos + 1];
            double max = Double.NEGATIVE_INFINITY;
            for (int j = first; j <= pos; j++) {
                double dot = 0;
                for (int d = 0; d < headDim; d++) {
                    dot += q[h * headDim + d] * keys[l][j * kvDim + kvh * headDim + d];
                }
                s[j] = dot * scale;
                if (attnCap > 0) {
                    s[j] = attnCap * Math.tanh(s[j] / attnCap);
                }
                max = Math.max(max, s[j]);
            }
            double sum = 0;
            for (int j = first; j <= pos; j++) {
                s[j] = Math.exp(s[j] - max);
                sum += s[j];
            }
            if (f16) {
                for (int j = first; j <= pos; j++) {
                    s[j] = half(s[j] / sum);
                }
                sum = 1;
            }
            for (int d = 0; d < headDim; d++) {
                double acc = 0;
                for (int j = first; j <= pos; j++) {
                    acc += s[j] * values[l][j * kvDim + kvh * headDim + d];
                }
                out[h * headDim + d] = acc / sum;
            }
        }
        return matVec(p + "attn_output", out);
    }

    private static double half(double x) {
        return Float.float16ToFloat(Float.floatToFloat16((float) x));
    }

    private void rope(double[] x, int pos, boolean neox, double[] factors) {
        int half = rotary / 2;
        for (int h = 0; h < x.length / headDim; h++) {
            int base = h * headDim;
            for (int i = 0; i < half; i++) {
                double angle = pos * Math.pow(theta, -2.0 * i / rotary) / (factors == null ? 1 : factors[i]);
                int a = neox ? base + i : base + 2 * i;
                int b = neox ? base + i + half : base + 2 * i + 1;
                double x0 = x[a];
                double x1 = x[b];
                x[a] = x0 * Math.cos(angle) - x1 * Math.sin(angle);
                x[b] = x0 * Math.sin(angle) + x1 * Math.cos(angle);
            }
        }
    }

    /** weight · x plus the bias tensor if the file has one ({@code name}.weight, {@code name}.bias). */
    private double[] matVec(String name, double[] x) {
        double[] w = t(name + ".weight");
        int cols = (int) shapes.get(name + ".weight")[0];
        int rows = w.length / cols;
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int c = 0; c < cols; c++) {
                s += w[r * cols + c] * x[c];
            }
            out[r] = s;
        }
        double[] bias = tensors.get(name + ".bias");
        if (bias != null) {
            add(out, bias);
        }
        return out;
    }

    private double[] rmsNorm(double[] x, double[] w) {
        double ss = 0;
        for (double v : x) {
            ss += v * v;
        }
        double inv = 1 / Math.sqrt(ss / x.length + eps);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * inv * w[i];
        }
        return out;
    }

    private double[] layerNorm(double[] x, double[] w, double[] b) {
        double mean = 0;
        for (double v : x) {
            mean += v;
        }
        mean /= x.length;
        double var = 0;
        for (double v : x) {
            var += (v - mean) * (v - mean);
        }
        var /= x.length;
        double inv = 1 / Math.sqrt(var + eps);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (x[i] - mean) * inv * w[i] + b[i];
        }
        return out;
    }

    private static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    private static double[] gelu(double[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = gelu(x[i]);
        }
        return out;
    }

    private static void add(double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }

    private static void scale(double[] x, double f) {
        for (int i = 0; i < x.length; i++) {
            x[i] *= f;
        }
    }

    private double[] row(String name, int r, int cols) {
        double[] out = new double[cols];
        System.arraycopy(t(name), r * cols, out, 0, cols);
        return out;
    }

    private double[] t(String name) {
        double[] v = tensors.get(name);
        if (v == null) {
            throw new IllegalArgumentException("no tensor " + name);
        }
        return v;
    }

    // --- a minimal GGUF v3 reader: metadata scalars and strings, F32 tensors only ---

    private void parse(ByteBuffer b) {
        if (b.getInt() != 0x46554747) {
            throw new IllegalArgumentException("not a GGUF file");
        }
        b.getInt(); // version
        long tensorCount = b.getLong();
        long kvCount = b.getLong();
        for (long i = 0; i < kvCount; i++) {
            String key = string(b);
            meta.put(key, value(b, b.getInt()));
        }
        String[] names = new String[(int) tensorCount];
        long[] offsets = new long[names.length];
        for (int i = 0; i < names.length; i++) {
            names[i] = string(b);
            long[] dims = new long[b.getInt()];
            for (int d = 0; d < dims.length; d++) {
                dims[d] = b.getLong();
            }
            if (b.getInt() != 0) {
                throw new IllegalArgumentException("the reference reads F32 tensors only; " + names[i] + " is not");
            }
            offsets[i] = b.getLong();
            shapes.put(names[i], dims);
        }
        int alignment = meta.containsKey("general.alignment") ? ((Number) meta.get("general.alignment")).intValue() : 32;
        long data = (b.position() + alignment - 1) / alignment * alignment;
        for (int i = 0; i < names.length; i++) {
            long n = 1;
            for (long d : shapes.get(names[i])) {
                n *= d;
            }
            double[] v = new double[(int) n];
            for (int j = 0; j < v.length; j++) {
                v[j] = b.getFloat((int) (data + offsets[i] + 4L * j));
            }
            tensors.put(names[i], v);
        }
    }

    private static String string(ByteBuffer b) {
        byte[] bytes = new byte[(int) b.getLong()];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static Object value(ByteBuffer b, int type) {
        return switch (type) {
            case 0 -> b.get();
            case 1 -> b.get() & 0xFF;
            case 2 -> b.getShort();
            case 3 -> b.getShort() & 0xFFFF;
            case 4 -> b.getInt();
            case 5 -> b.getInt() & 0xFFFFFFFFL;
            case 6 -> b.getFloat();
            case 7 -> b.get() != 0;
            case 8 -> string(b);
            case 9 -> {
                int elementType = b.getInt();
                long count = b.getLong();
                for (long i = 0; i < count; i++) {
                    value(b, elementType); // arrays (the vocabulary) are skipped
                }
                yield "array";
            }
            case 10 -> b.getLong();
            case 11 -> b.getLong();
            case 12 -> b.getDouble();
            default -> throw new IllegalArgumentException("GGUF value type " + type);
        };
    }
}
