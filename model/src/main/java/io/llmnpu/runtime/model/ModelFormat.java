package io.llmnpu.runtime.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** The model file formats llmnpu reads, and their detection from the first bytes of a file. */
public enum ModelFormat {
    /** GGUF (llama.cpp), versions 2 and 3. */
    GGUF,
    /** llama.cpp's llama2.c export "version 1": a 256-byte header starting with magic {@code ak42}. */
    LLAMA2C_V1,
    /** The original llama2.c checkpoint (read by run.c): a bare 7-int header, no magic. */
    LLAMA2C_LEGACY;

    /** "GGUF" read as a little-endian int. */
    public static final int GGUF_MAGIC = 0x46554747;
    /** "ak42" read as a little-endian int; shared by every versioned llama2.c export. */
    public static final int LLAMA2C_MAGIC = 0x616b3432;
    /** Bytes of the legacy llama2.c header: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len. */
    public static final int LLAMA2C_LEGACY_HEADER_BYTES = 28;

    /**
     * Detects the format by magic. A legacy llama2.c checkpoint has no magic, so it is the fallback,
     * chosen only when the first 28 bytes read as a plausible header.
     *
     * @throws ModelFormatException if the file cannot be read or matches no format
     */
    public static ModelFormat detect(Path file) {
        if (Files.isDirectory(file)) {
            throw new ModelFormatException(file, -1, "is a folder, not a model file");
        }
        if (!Files.exists(file)) {
            throw new ModelFormatException(file, -1, "does not exist");
        }
        ByteBuffer head = ByteBuffer.allocate(LLAMA2C_LEGACY_HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            while (head.hasRemaining() && channel.read(head) >= 0) {
                // read until the header is full or the file ends
            }
        } catch (IOException e) {
            throw new ModelFormatException(file, -1, "cannot read the file: " + e, e);
        }
        head.flip();
        if (head.remaining() >= 4 && head.getInt(0) == GGUF_MAGIC) {
            return GGUF;
        }
        if (head.remaining() >= 4 && head.getInt(0) == LLAMA2C_MAGIC) {
            return LLAMA2C_V1;
        }
        if (head.remaining() == LLAMA2C_LEGACY_HEADER_BYTES && plausibleLegacyHeader(head)) {
            return LLAMA2C_LEGACY;
        }
        throw new ModelFormatException(file, 0, "unrecognized model file: no GGUF or llama2.c magic, "
                + "and the first " + LLAMA2C_LEGACY_HEADER_BYTES + " bytes are not a plausible legacy llama2.c header");
    }

    private static boolean plausibleLegacyHeader(ByteBuffer head) {
        int dim = head.getInt(0);
        int hidden = head.getInt(4);
        int layers = head.getInt(8);
        int heads = head.getInt(12);
        int kvHeads = head.getInt(16);
        int vocab = head.getInt(20);
        int seqLen = head.getInt(24);
        return inRange(dim) && inRange(hidden) && inRange(layers) && inRange(heads) && inRange(kvHeads)
                && vocab != 0 && vocab != Integer.MIN_VALUE && inRange(Math.abs(vocab)) && inRange(seqLen)
                && dim % heads == 0 && heads % kvHeads == 0;
    }

    private static boolean inRange(int v) {
        return v > 0 && v <= ModelConfig.MAX_DIMENSION;
    }
}
