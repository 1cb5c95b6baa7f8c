package io.llmnpu.runtime.quant;

import io.llmnpu.api.tensor.Shape;
import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.model.MappedFile;
import io.llmnpu.runtime.model.gguf.GgmlType;
import io.llmnpu.runtime.model.gguf.GgufFile;
import io.llmnpu.runtime.model.gguf.GgufMetadataCopier;
import io.llmnpu.runtime.model.gguf.GgufTensorInfo;
import io.llmnpu.runtime.model.gguf.GgufValueType;
import io.llmnpu.runtime.model.gguf.GgufWriter;
import io.llmnpu.runtime.model.gguf.LlamaFileType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Rewrites a GGUF model with its weight matrices in other types, as a {@link QuantRecipe} chooses
 * them (one type everywhere, or one of llama.cpp's k-quant mixes), keeping all metadata (with
 * {@code general.file_type} updated) and every other tensor as it is. Tensors are converted row by row
 * on all cores and streamed to the output, so models of any size convert in flat memory.
 *
 * <p>Which tensors are converted: every 2-D tensor whose type llmnpu can read and whose rows are a
 * whole number of its new type's blocks. 1-D tensors (norms) stay as they are, as in llama.cpp; so do
 * matrices that cannot be converted, and the report names them with the reason.
 */
public final class GgufQuantizer {
    private static final String QUANTIZATION_VERSION = "general.quantization_version";
    private static final String ALIGNMENT = "general.alignment";
    private static final int DEFAULT_ALIGNMENT = 32;

    private final QuantRecipe recipe;
    private final boolean pure;
    private final int threads;

    /** A matrix left in its type, and why. */
    public record Kept(String name, GgmlType type, Shape shape, String reason) {
    }

    /**
     * What a conversion did.
     *
     * @param converted   matrices written in a new type
     * @param types       how many matrices were written in each type (converted or already in that type)
     * @param kept        matrices left as they were, with the reason
     * @param vectors     1-D (and other non-matrix) tensors copied unchanged
     * @param inputBytes  size of the input file
     * @param outputBytes size of the output file
     * @param nanos       time taken
     */
    public record Report(Path input, Path output, QuantRecipe recipe, int converted, Map<GgmlType, Integer> types,
                         List<Kept> kept, int vectors, long inputBytes, long outputBytes, long nanos) {
        public Report {
            types = Map.copyOf(types);
            kept = List.copyOf(kept);
        }
    }

    /**
     * @param recipe  which type each matrix gets
     * @param pure    every matrix in the recipe's base type, even for a k-quant mix
     * @param threads conversion threads; 0 for one per core
     */
    public GgufQuantizer(QuantRecipe recipe, boolean pure, int threads) {
        this.recipe = recipe;
        this.pure = pure;
        this.threads = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }

    /** Every matrix in {@code recipe}'s type or mix, on {@code threads} threads (0: one per core). */
    public GgufQuantizer(QuantRecipe recipe, int threads) {
        this(recipe, false, threads);
    }

    /**
     * Converts {@code input} into {@code output} (replaced if it exists), reporting input bytes done.
     *
     * @throws IllegalArgumentException if input and output are the same file
     * @throws io.llmnpu.runtime.model.ModelFormatException if the input is not a valid GGUF file
     */
    public Report convert(Path input, Path output, ProgressListener progress) throws IOException {
        long start = System.nanoTime();
        if (Files.exists(output) && Files.isSameFile(input, output)) {
            throw new IllegalArgumentException("the output " + output + " is the input file; write to another file");
        }
        try (Arena arena = Arena.ofShared()) {
            GgufFile gguf = GgufFile.open(input, arena);
            MemorySegment file = MappedFile.map(input, arena); // raw bytes, also of types llmnpu cannot compute with
            GgufWriter writer = new GgufWriter(gguf.alignment());
            copyMetadata(gguf, writer);
            long totalBytes = gguf.tensorInfos().stream().mapToLong(GgufTensorInfo::byteSize).sum();
            String stage = "converting " + input.getFileName() + " to " + recipe.label() + (pure ? " (pure)" : "");
            QuantRecipe.ModelFacts facts = facts(gguf);
            Map<GgmlType, Integer> types = new EnumMap<>(GgmlType.class);
            AtomicLong done = new AtomicLong();
            progress.progress(stage, 0, totalBytes);
            List<Kept> kept = new ArrayList<>();
            int converted = 0;
            int vectors = 0;
            ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
                Thread t = new Thread(r, "llmnpu-quantize");
                t.setDaemon(true);
                return t;
            });
            try {
                for (GgufTensorInfo info : gguf.tensorInfos()) {
                    MemorySegment data = file.asSlice(info.offset(), info.byteSize());
                    int rows = info.shape().rows();
                    if (info.byteSize() == 0 || rows == 0) {
                        writer.addTensor(info.name(), info.type(), info.shape(), data);
                        continue;
                    }
                    long inRowBytes = info.byteSize() / rows;
                    GgmlType target = info.shape().rank() == 2
                            ? recipe.typeFor(info.name(), info.shape().cols(), facts, pure) : info.type();
                    String reason = reasonToKeep(info, target);
                    GgmlType outType = reason == null ? target : info.type();
                    long outRowBytes = reason == null ? WeightEncoder.rowBytes(target, info.shape().cols()) : inRowBytes;
                    ParallelTensorWriter.RowEncoder encoder = reason == null
                            ? (first, count, out) -> convertRows(info, target, data, inRowBytes, outRowBytes, first, count, out)
                            : (first, count, out) -> MemorySegment.copy(data, first * inRowBytes, out, 0, count * inRowBytes);
                    if (reason == null) {
                        converted++;
                    } else if (info.shape().rank() == 2) {
                        kept.add(new Kept(info.name(), info.type(), info.shape(), reason));
                    } else {
                        vectors++;
                    }
                    if (info.shape().rank() == 2 && outType == target) {
                        types.merge(outType, 1, Integer::sum);
                    }
                    writer.addTensor(info.name(), outType, info.shape(), new ParallelTensorWriter(rows, outRowBytes,
                            encoder, pool, 2 * threads,
                            n -> progress.progress(stage, done.addAndGet(n * inRowBytes), totalBytes)));
                }
                writer.write(output);
            } finally {
                pool.shutdownNow();
            }
            progress.progress(stage, totalBytes, totalBytes);
            return new Report(input, output, recipe, converted, types, kept, vectors, Files.size(input),
                    Files.size(output), System.nanoTime() - start);
        }
    }

    private static void convertRows(GgufTensorInfo info, GgmlType target, MemorySegment data, long inRowBytes,
                                    long outRowBytes, int first, int count, MemorySegment out) {
        int cols = info.shape().cols();
        for (int r = 0; r < count; r++) {
            float[] values = WeightEncoder.decode(info.type(), data.asSlice((first + r) * inRowBytes, inRowBytes), cols);
            WeightEncoder.encode(target, values, cols, out.asSlice(r * outRowBytes, outRowBytes));
        }
    }

    private void copyMetadata(GgufFile gguf, GgufWriter writer) {
        // A writer with a non-default alignment records general.alignment itself.
        Set<String> dropped = gguf.alignment() == DEFAULT_ALIGNMENT ? Set.of() : Set.of(ALIGNMENT);
        GgufMetadataCopier.Replacement fileType = new GgufMetadataCopier.Replacement(GgufValueType.UINT32,
                (long) recipe.fileType());
        GgufMetadataCopier.copy(gguf, writer, dropped, Map.of(LlamaFileType.KEY, fileType));
        if (!gguf.has(LlamaFileType.KEY)) {
            writer.put(LlamaFileType.KEY, fileType.type(), fileType.value());
        }
        if (recipe.baseType().blockSize() > 1 && !gguf.has(QUANTIZATION_VERSION)) {
            writer.putUInt32(QUANTIZATION_VERSION, 2);
        }
    }

    /** What the recipe needs to know about the model, from its metadata and tensor names. */
    private static QuantRecipe.ModelFacts facts(GgufFile gguf) {
        String arch = gguf.optString("general.architecture").orElse("");
        int heads = gguf.optInt(arch + ".attention.head_count").orElse(1);
        int attentionValues = (int) gguf.tensorInfos().stream().map(GgufTensorInfo::name)
                .filter(n -> n.contains("attn_v.weight") || n.contains("attn_qkv.weight")).count();
        return new QuantRecipe.ModelFacts(arch, gguf.optInt(arch + ".block_count").orElse(attentionValues), heads,
                gguf.optInt(arch + ".attention.head_count_kv").orElse(heads), gguf.hasTensor("output.weight"),
                attentionValues);
    }

    /** Null if the tensor is converted to {@code target}, else why it is not. */
    private static String reasonToKeep(GgufTensorInfo info, GgmlType target) {
        if (info.shape().rank() != 2) {
            return "not a matrix";
        }
        if (info.type() == target) {
            return "already " + target;
        }
        if (!WeightEncoder.canDecode(info.type())) {
            return "llmnpu cannot read " + info.type() + " values";
        }
        if (info.shape().cols() % target.blockSize() != 0) {
            return "rows of " + info.shape().cols() + " values are not whole " + target + " blocks of " + target.blockSize();
        }
        return null;
    }
}
