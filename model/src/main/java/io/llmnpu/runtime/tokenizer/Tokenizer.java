package io.llmnpu.runtime.tokenizer;

/**
 * Turns text into token ids and token ids back into bytes. Implementations are immutable and
 * thread-safe.
 */
public interface Tokenizer {

    int vocabSize();

    /** Beginning-of-sequence token id, or -1 if the vocabulary has none. */
    int bos();

    /** End-of-sequence token id, or -1 if the vocabulary has none. */
    int eos();

    /**
     * Encodes text the way the model's reference implementation does (dummy space prefix for
     * SentencePiece, the model's pre-tokenizer for byte-level BPE). User-defined tokens in the text
     * become those tokens; control-token text such as {@code <s>} or {@code <|im_start|>} is plain text.
     *
     * @param addBos whether to put the BOS token first
     */
    default int[] encode(String text, boolean addBos) {
        return encode(text, addBos, false);
    }

    /**
     * As {@link #encode(String, boolean)}, and with {@code parseSpecial} the text of control tokens
     * (and the unknown token) becomes those tokens too, as llama.cpp's {@code parse_special} does: what
     * chat prompts and {@code tokenize --parse-special} need.
     */
    int[] encode(String text, boolean addBos, boolean parseSpecial);

    /**
     * The bytes token {@code id} stands for when it follows {@code previousId} (-1 at the start):
     * byte-fallback tokens give their raw byte, control tokens give nothing, and the leading space a
     * SentencePiece token carries after BOS is dropped. The bytes may be an incomplete UTF-8 sequence;
     * {@link Utf8StreamDecoder} joins them into text.
     */
    byte[] decode(int previousId, int id);

    /** The vocabulary entry of {@code id} as stored (for display and diagnostics). */
    String piece(int id);

    /** Whether the model expects prompts to start with BOS (GGUF {@code tokenizer.ggml.add_bos_token}). */
    boolean addBosByDefault();

    /** A short name of the algorithm: {@code sentencepiece-bpe} or {@code gpt2-bpe}, with its pre-tokenizer. */
    String kind();

    /** Decodes a whole sequence to text (invalid UTF-8 becomes U+FFFD). */
    default String decodeAll(int[] ids) {
        Utf8StreamDecoder out = new Utf8StreamDecoder();
        StringBuilder sb = new StringBuilder();
        int prev = -1;
        for (int id : ids) {
            sb.append(out.push(decode(prev, id)));
            prev = id;
        }
        sb.append(out.flush());
        return sb.toString();
    }
}
