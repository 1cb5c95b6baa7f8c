package io.llmnpu.runtime.synth;

import io.llmnpu.api.tensor.Dequantizer;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelReader;
import io.llmnpu.runtime.model.ParsedModel;
import io.llmnpu.runtime.quant.BlockQuantizer;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

/**
 * Writes a GGUF model's weights, dequantized to float with the scalar reference dequantizer, as a
 * llama2.c legacy checkpoint, so that the double-precision {@code ReferenceLlama} can run any model
 * llmnpu writes (adjacent-pair RoPE, theta 10000, RMS epsilon 1e-5, as llama2.c assumes).
 */
public final class DequantizedCheckpoint {
    private DequantizedCheckpoint() {
    }

    public static Path write(Path gguf, Path out) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            ParsedModel model = ModelReader.read(gguf, arena);
            ModelConfig c = model.config();
            var w = model.weights();
            var layers = w.layers();
            boolean tied = w.tiedOutput();
            ByteBuffer header = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN)
                    .putInt(c.dim()).putInt(c.hiddenDim()).putInt(c.layers()).putInt(c.heads()).putInt(c.kvHeads())
                    .putInt(tied ? c.vocabSize() : -c.vocabSize()).putInt(c.contextLength());
            try (OutputStream o = Files.newOutputStream(out)) {
                o.write(header.array());
                floats(o, w.tokenEmbedding());
                perLayer(o, layers, l -> l.attnNorm());
                perLayer(o, layers, l -> l.wq());
                perLayer(o, layers, l -> l.wk());
                perLayer(o, layers, l -> l.wv());
                perLayer(o, layers, l -> l.wo());
                perLayer(o, layers, l -> l.ffnNorm());
                perLayer(o, layers, l -> l.wGate());
                perLayer(o, layers, l -> l.wDown());
                perLayer(o, layers, l -> l.wUp());
                floats(o, w.finalNorm());
                o.write(new byte[2 * 4 * (c.contextLength() * c.headDim() / 2)]); // obsolete freq_cis tables
                if (!tied) {
                    floats(o, w.output());
                }
            }
        }
        return out;
    }

    private static <T> void perLayer(OutputStream o, List<T> layers, Function<T, Tensor> tensor) throws IOException {
        for (T layer : layers) {
            floats(o, tensor.apply(layer));
        }
    }

    private static void floats(OutputStream o, Tensor t) throws IOException {
        float[] values = Dequantizer.dequantize(t.dtype(), t.data(), Math.toIntExact(t.shape().elements()));
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        o.write(b.array());
    }
}
