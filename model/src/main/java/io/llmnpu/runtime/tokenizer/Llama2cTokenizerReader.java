package io.llmnpu.runtime.tokenizer;

import io.llmnpu.runtime.model.ModelFormatException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a llama2.c tokenizer file ({@code tokenizer.bin}): int32 {@code max_token_length}, then per
 * token id a float32 score, an int32 byte length and that many UTF-8 bytes, all little-endian. The
 * file does not store the vocabulary size; it comes from the model header. Pieces use a plain space
 * where SentencePiece uses U+2581; id 0 is unknown, 1 BOS, 2 EOS, and the byte pieces are named
 * {@code <0xHH>}. Every length is checked against the bytes that remain before anything is
 * allocated, so damaged or hostile files fail with a {@link ModelFormatException}.
 */
public final class Llama2cTokenizerReader {
    /** Real tokenizer files are well under a megabyte; this only keeps a wrong path from filling the heap. */
    private static final long MAX_FILE_BYTES = 256L << 20;
    private static final int UNKNOWN_ID = 0;
    private static final int BOS_ID = 1;
    private static final int EOS_ID = 2;
    /** Smallest possible entry: a score and a length with no bytes. */
    private static final int MIN_ENTRY_BYTES = 8;

    private Llama2cTokenizerReader() {
    }

    /**
     * @param file      the tokenizer file
     * @param vocabSize the number of tokens, from the model header (at least 3: unknown, BOS, EOS)
     */
    public static SentencePieceTokenizer read(Path file, int vocabSize) throws IOException {
        if (vocabSize < 3) {
            throw new IllegalArgumentException("vocabulary size " + vocabSize
                    + " is too small for a llama2.c tokenizer (ids 0-2 are unknown, BOS and EOS)");
        }
        long size = Files.size(file);
        if (size > MAX_FILE_BYTES) {
            throw new ModelFormatException(file, -1, "is " + size + " bytes, more than the " + MAX_FILE_BYTES
                    + " a llama2.c tokenizer file can plausibly have; is it the model file?");
        }
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (in.remaining() < 4) {
            throw new ModelFormatException(file, 0, "file of " + in.remaining()
                    + " bytes is too short for the max_token_length header");
        }
        int maxTokenLength = in.getInt();
        if (maxTokenLength < 0) {
            throw new ModelFormatException(file, 0, "max_token_length is negative (" + maxTokenLength + ")");
        }
        if ((long) vocabSize * MIN_ENTRY_BYTES > in.remaining()) {
            throw new ModelFormatException(file, in.position(), "the model's vocabulary of " + vocabSize
                    + " tokens needs at least " + (long) vocabSize * MIN_ENTRY_BYTES + " bytes but only "
                    + in.remaining() + " remain; does this tokenizer belong to the model?");
        }
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        List<String> pieces = new ArrayList<>(vocabSize);
        float[] scores = new float[vocabSize];
        for (int id = 0; id < vocabSize; id++) {
            if (in.remaining() < MIN_ENTRY_BYTES) {
                throw new ModelFormatException(file, in.position(), "file ends inside the entry of token " + id
                        + " of " + vocabSize);
            }
            scores[id] = in.getFloat();
            int lengthOffset = in.position();
            int length = in.getInt();
            if (length < 0 || length > in.remaining()) {
                throw new ModelFormatException(file, lengthOffset, "token " + id + " claims " + length
                        + " bytes but " + in.remaining() + " remain in the file");
            }
            ByteBuffer bytes = in.slice(in.position(), length);
            try {
                pieces.add(utf8.decode(bytes).toString());
            } catch (CharacterCodingException e) {
                throw new ModelFormatException(file, in.position(), "token " + id + " is not valid UTF-8", e);
            }
            in.position(in.position() + length);
        }
        TokenType[] types = TokenType.inferFromPieces(pieces, UNKNOWN_ID, BOS_ID, EOS_ID);
        // run.c always puts the dummy space in front and always starts prompts with BOS.
        return new SentencePieceTokenizer(pieces, scores, types,
                new SentencePieceTokenizer.SpecialTokens(BOS_ID, EOS_ID, UNKNOWN_ID), ' ', true, true);
    }
}
