package io.llmnpu.runtime.model.llama2c;

import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.LayerWeights;
import io.llmnpu.runtime.model.ParsedModel;
import io.llmnpu.runtime.model.MappedFile;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelFormat;
import io.llmnpu.runtime.model.ModelFormatException;
import io.llmnpu.runtime.model.ModelWeights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A llama2.c checkpoint: the legacy format run.c reads (a 7-int header, no magic) or the "version 1"
 * export (256-byte header with magic {@code ak42}). All weights are float32 and are returned as views of
 * the mapped file, named like their GGUF counterparts ({@code token_embd.weight},
 * {@code blk.N.attn_q.weight}, ...).
 *
 * <p>The file size must match the header exactly. Trailing bytes are an error rather than a warning:
 * they mean the header does not describe the file (a different layout or a damaged header), and
 * running such weights would produce garbage without any other sign.
 *
 * @param file             the checkpoint
 * @param version          0 for the legacy format, 1 for the versioned export
 * @param config           hyper-parameters (llama2.c fixes RoPE base 10000, adjacent pairs, RMS eps 1e-5)
 * @param weights          views of the mapped file
 * @param sharedClassifier whether the LM head is the token embedding table
 */
public record Llama2cCheckpoint(Path file, int version, ModelConfig config, ModelWeights weights, boolean sharedClassifier) {
    static final int V1_HEADER_BYTES = 256;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final String[] PARAM_NAMES = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};

    /** The checkpoint as a format-independent model. */
    public ParsedModel toParsedModel() {
        return new ParsedModel(file, version == 0 ? ModelFormat.LLAMA2C_LEGACY : ModelFormat.LLAMA2C_V1, config, weights);
    }

    /**
     * Maps and validates a checkpoint.
     *
     * @throws ModelFormatException naming the file, offset and problem if the file is not a valid
     *                              legacy or version-1 llama2.c checkpoint
     */
    public static Llama2cCheckpoint read(Path file, Arena arena) {
        MemorySegment data = MappedFile.map(file, arena);
        long size = data.byteSize();
        if (size < 4) {
            throw new ModelFormatException(file, 0, "file of " + size + " bytes is too short for a llama2.c header");
        }
        int version;
        long paramsAt;
        long headerBytes;
        if (data.get(I32, 0) == ModelFormat.LLAMA2C_MAGIC) {
            if (size < 8) {
                throw new ModelFormatException(file, 4, "file is truncated inside the llama2.c header");
            }
            version = data.get(I32, 4);
            if (version == 2) {
                throw new ModelFormatException(file, 4, "llama2.c version 2 (int8) checkpoints are not supported; convert to GGUF");
            }
            if (version != 1) {
                throw new ModelFormatException(file, 4, "unknown llama2.c checkpoint version " + version + " (supported: 1, and the legacy format without magic)");
            }
            paramsAt = 8;
            headerBytes = V1_HEADER_BYTES;
        } else {
            version = 0;
            paramsAt = 0;
            headerBytes = ModelFormat.LLAMA2C_LEGACY_HEADER_BYTES;
        }
        if (size < headerBytes) {
            throw new ModelFormatException(file, size, "file is truncated: the llama2.c header needs " + headerBytes
                    + " bytes but the file has " + size);
        }
        int[] p = new int[PARAM_NAMES.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = data.get(I32, paramsAt + 4L * i);
        }
        long vocabAt = paramsAt + 20;
        boolean shared;
        if (version == 0) {
            // run.c: a negative vocab_size means the classifier is stored separately at the end
            if (p[5] == Integer.MIN_VALUE) {
                throw new ModelFormatException(file, vocabAt, "vocab_size " + p[5] + " is out of range");
            }
            shared = p[5] > 0;
            p[5] = Math.abs(p[5]);
        } else {
            byte flag = data.get(ValueLayout.JAVA_BYTE, paramsAt + 28);
            if (flag != 0 && flag != 1) {
                throw new ModelFormatException(file, paramsAt + 28, "shared_classifier flag is " + flag + ", expected 0 or 1");
            }
            shared = flag == 1;
        }
        for (int i = 0; i < p.length; i++) {
            if (p[i] <= 0 || p[i] > ModelConfig.MAX_DIMENSION) {
                throw new ModelFormatException(file, paramsAt + 4L * i, PARAM_NAMES[i] + " = " + p[i]
                        + " is outside 1.." + ModelConfig.MAX_DIMENSION);
            }
        }
        Llama2cLayout layout = new Llama2cLayout(p[0], p[1], p[2], p[3], p[4], p[5], p[6]);
        if (layout.dim() % layout.heads() != 0) {
            throw new ModelFormatException(file, paramsAt, "dim " + layout.dim() + " is not a multiple of n_heads " + layout.heads());
        }
        if (layout.heads() % layout.kvHeads() != 0) {
            throw new ModelFormatException(file, paramsAt + 12, "n_heads " + layout.heads() + " is not a multiple of n_kv_heads " + layout.kvHeads());
        }
        if (layout.headSize() % 2 != 0) {
            throw new ModelFormatException(file, paramsAt, "head size " + layout.headSize() + " (dim / n_heads) must be even for RoPE");
        }
        long expected;
        try {
            expected = Math.addExact(headerBytes, Math.multiplyExact(4L, layout.floatCount(version, shared)));
        } catch (ArithmeticException e) {
            throw new ModelFormatException(file, paramsAt, "header sizes overflow: " + layout);
        }
        if (size < expected) {
            throw new ModelFormatException(file, size, "file is truncated: the header (" + layout + ") describes "
                    + expected + " bytes but the file has " + size);
        }
        if (size > expected) {
            throw new ModelFormatException(file, expected, "file has " + (size - expected) + " unexpected bytes after the last tensor "
                    + "(the header " + layout + " describes " + expected + " bytes)");
        }
        ModelConfig config = new ModelConfig("llama", layout.dim(), layout.hiddenDim(), layout.layers(), layout.heads(),
                layout.kvHeads(), layout.headSize(), layout.vocab(), layout.seqLen(), layout.headSize(), 10000f,
                RopeStyle.ADJACENT, 1e-5f);
        ModelWeights weights = new TensorSlicer(data, headerBytes, layout).slice(version, shared);
        return new Llama2cCheckpoint(file, version, config, weights, shared);
    }

    /** Header values and the sizes they imply. */
    record Llama2cLayout(int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocab, int seqLen) {
        int headSize() {
            return dim / heads;
        }

        int kvDim() {
            return headSize() * kvHeads;
        }

        /** Number of float32 values after the header. */
        long floatCount(int version, boolean shared) {
            long l = layers;
            long d = dim;
            long perLayer = Math.addExact(Math.addExact(2 * d, Math.multiplyExact(2 * d, d)),
                    Math.addExact(Math.multiplyExact(2L * kvDim(), d), Math.multiplyExact(3L * hiddenDim, d)));
            long total = Math.addExact(Math.multiplyExact(l, perLayer), d);
            long embedding = Math.multiplyExact((long) vocab, d);
            total = Math.addExact(total, shared ? embedding : Math.multiplyExact(2L, embedding));
            if (version == 0) {
                total = Math.addExact(total, (long) seqLen * headSize()); // obsolete freq_cis_real + freq_cis_imag
            }
            return total;
        }

        @Override
        public String toString() {
            return "dim=" + dim + " hidden_dim=" + hiddenDim + " n_layers=" + layers + " n_heads=" + heads
                    + " n_kv_heads=" + kvHeads + " vocab_size=" + vocab + " seq_len=" + seqLen;
        }
    }

    /** Cuts the float arrays that follow the header into tensors, in the order of the format version. */
    private static final class TensorSlicer {
        private final MemorySegment data;
        private final Llama2cLayout layout;
        private long position;

        TensorSlicer(MemorySegment data, long start, Llama2cLayout layout) {
            this.data = data;
            this.position = start;
            this.layout = layout;
        }

        ModelWeights slice(int version, boolean shared) {
            int d = layout.dim();
            int h = layout.hiddenDim();
            int kv = layout.kvDim();
            Tensor embedding = null;
            Tensor[] attnNorm;
            Tensor[] ffnNorm;
            Tensor finalNorm = null;
            if (version == 0) {
                embedding = next("token_embd.weight", layout.vocab(), d);
                attnNorm = perLayer("attn_norm", d);
            } else {
                attnNorm = perLayer("attn_norm", d);
            }
            Tensor[] wq;
            Tensor[] wk;
            Tensor[] wv;
            Tensor[] wo;
            Tensor[] w1;
            Tensor[] w2;
            Tensor[] w3;
            if (version == 0) {
                wq = perLayer("attn_q", d, d);
                wk = perLayer("attn_k", kv, d);
                wv = perLayer("attn_v", kv, d);
                wo = perLayer("attn_output", d, d);
                ffnNorm = perLayer("ffn_norm", d);
            } else {
                ffnNorm = perLayer("ffn_norm", d);
                finalNorm = next("output_norm.weight", d);
                embedding = next("token_embd.weight", layout.vocab(), d);
                wq = perLayer("attn_q", d, d);
                wk = perLayer("attn_k", kv, d);
                wv = perLayer("attn_v", kv, d);
                wo = perLayer("attn_output", d, d);
            }
            w1 = perLayer("ffn_gate", h, d);
            w2 = perLayer("ffn_down", d, h);
            w3 = perLayer("ffn_up", h, d);
            if (version == 0) {
                finalNorm = next("output_norm.weight", d);
                position += 4L * layout.seqLen() * layout.headSize(); // skip freq_cis_real and freq_cis_imag
            }
            Tensor output = shared ? embedding : next("output.weight", layout.vocab(), d);
            List<LayerWeights> layers = new ArrayList<>(layout.layers());
            for (int i = 0; i < layout.layers(); i++) {
                layers.add(new LayerWeights(attnNorm[i], wq[i], wk[i], wv[i], wo[i], ffnNorm[i], w1[i], w2[i], w3[i]));
            }
            return new ModelWeights(embedding, layers, finalNorm, output);
        }

        private Tensor[] perLayer(String kind, int... dims) {
            Tensor[] out = new Tensor[layout.layers()];
            for (int i = 0; i < out.length; i++) {
                out[i] = next("blk." + i + "." + kind + ".weight", dims);
            }
            return out;
        }

        private Tensor next(String name, int... dims) {
            Shape shape = Shape.of(dims);
            long bytes = DType.F32.byteSize(shape.elements());
            Tensor t = new Tensor(name, DType.F32, shape, data.asSlice(position, bytes));
            position += bytes;
            return t;
        }
    }
}
