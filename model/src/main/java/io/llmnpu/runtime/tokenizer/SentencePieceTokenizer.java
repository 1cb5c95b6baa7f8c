package io.llmnpu.runtime.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;

/**
 * SentencePiece BPE with byte fallback, as used by Llama 1 and 2 (llama.cpp's SPM tokenizer and
 * llama2.c's {@code run.c} encode the same way).
 *
 * <p>Encoding: optionally put a space in front (the "dummy prefix"), replace spaces by the
 * vocabulary's space symbol (U+2581 in SentencePiece and GGUF vocabularies, a plain space in llama2.c
 * files), split into code points, then repeatedly merge the adjacent pair whose concatenation is a
 * vocabulary piece with the highest score, the leftmost pair on ties. A symbol left without a piece
 * is written as its UTF-8 bytes through the {@code <0xHH>} byte tokens. Candidate pairs sit in a
 * priority queue over a linked list of symbols, so encoding is O(n log n) in the text length.
 *
 * <p>Decoding turns the space symbol back into spaces and byte pieces into their raw byte; control
 * and unused pieces give nothing, the unknown piece gives U+2047. When the encoder adds the dummy
 * prefix, the leading space of a token at the start of the text (no previous token, or a control
 * token such as BOS before it) is dropped again, as run.c and llama.cpp do, so that
 * {@code decodeAll(encode(text))} is {@code text}.
 *
 * <p>Before merging, special tokens are taken out of the text (see {@link SpecialTokenSplitter}):
 * user-defined pieces always, control pieces such as {@code <s>} only when asked to parse special
 * tokens. The dummy prefix goes before every stretch of text that starts the input or follows a
 * special token, as in llama.cpp. Within a stretch only normal and user-defined pieces match text.
 */
public final class SentencePieceTokenizer implements Tokenizer {
    /** The space symbol of SentencePiece vocabularies (LOWER ONE EIGHTH BLOCK). */
    public static final char SENTENCEPIECE_SPACE = '\u2581';
    /** What an unknown token decodes to, as SentencePiece shows it. */
    private static final byte[] UNKNOWN_SURFACE = "\u2047".getBytes(StandardCharsets.UTF_8);

    /** Ids of the special tokens; -1 where the vocabulary has none. */
    public record SpecialTokens(int bos, int eos, int unknown) {
    }

    private final String[] pieces;
    private final float[] scores;
    private final TokenType[] types;
    private final SpecialTokens special;
    private final char spaceSymbol;
    private final boolean addSpacePrefix;
    private final boolean addBosByDefault;
    private final Map<String, Integer> textPieceIds;
    private final int[] byteTokenIds;
    private final byte[][] decodedBytes;
    private final SpecialTokenSplitter specials;

    /**
     * @param pieces          the vocabulary, index = token id
     * @param scores          merge priority of each piece (higher merges first)
     * @param types           type of each piece
     * @param special         BOS, EOS and unknown ids (-1 for none)
     * @param spaceSymbol     what stands for a space inside pieces: {@link #SENTENCEPIECE_SPACE}, or
     *                        {@code ' '} for llama2.c vocabularies
     * @param addSpacePrefix  whether a space is put in front of the text (and dropped again from
     *                        the first decoded token)
     * @param addBosByDefault whether the model expects prompts to start with BOS
     */
    public SentencePieceTokenizer(List<String> pieces, float[] scores, TokenType[] types,
                                  SpecialTokens special, char spaceSymbol, boolean addSpacePrefix,
                                  boolean addBosByDefault) {
        this(pieces, scores, types, special, spaceSymbol, addSpacePrefix, addBosByDefault, null);
    }

    /**
     * As the other constructor, with {@code stripRight} marking (per id) the special tokens after which
     * whitespace is dropped, as llama.cpp does for Phi-3's chat tokens; null for none.
     */
    public SentencePieceTokenizer(List<String> pieces, float[] scores, TokenType[] types,
                                  SpecialTokens special, char spaceSymbol, boolean addSpacePrefix,
                                  boolean addBosByDefault, boolean[] stripRight) {
        Objects.requireNonNull(special, "special");
        int n = pieces.size();
        if (n == 0) {
            throw new IllegalArgumentException("the vocabulary is empty");
        }
        if (scores.length != n || types.length != n) {
            throw new IllegalArgumentException("vocabulary has " + n + " pieces but " + scores.length
                    + " scores and " + types.length + " types");
        }
        this.pieces = pieces.toArray(String[]::new);
        this.scores = scores.clone();
        this.types = types.clone();
        for (int id = 0; id < n; id++) {
            Objects.requireNonNull(this.pieces[id], "piece " + id);
            Objects.requireNonNull(this.types[id], "type of piece " + id);
        }
        checkSpecialId("bos", special.bos(), n);
        checkSpecialId("eos", special.eos(), n);
        checkSpecialId("unknown", special.unknown(), n);
        this.special = special;
        this.spaceSymbol = spaceSymbol;
        this.addSpacePrefix = addSpacePrefix;
        this.addBosByDefault = addBosByDefault;

        textPieceIds = new HashMap<>(n * 2);
        byteTokenIds = new int[256];
        Arrays.fill(byteTokenIds, -1);
        decodedBytes = new byte[n][];
        for (int id = 0; id < n; id++) {
            String piece = this.pieces[id];
            TokenType type = this.types[id];
            if (type.matchesText()) {
                textPieceIds.putIfAbsent(piece, id);
            }
            if (type == TokenType.BYTE) {
                int value = BytePieces.parse(piece);
                if (value < 0) {
                    throw new IllegalArgumentException("byte token " + id + " is '" + piece
                            + "', not of the form <0xHH>");
                }
                if (byteTokenIds[value] < 0) {
                    byteTokenIds[value] = id;
                }
                decodedBytes[id] = new byte[] {(byte) value};
            } else {
                decodedBytes[id] = switch (type) {
                    case NORMAL, USER_DEFINED -> piece.replace(spaceSymbol, ' ').getBytes(StandardCharsets.UTF_8);
                    case UNKNOWN -> UNKNOWN_SURFACE;
                    default -> new byte[0];
                };
            }
        }
        specials = new SpecialTokenSplitter(this.pieces, this.types, stripRight);
    }

    private static void checkSpecialId(String name, int id, int vocabSize) {
        if (id < -1 || id >= vocabSize) {
            throw new IllegalArgumentException(name + " token id " + id + " is outside the vocabulary of "
                    + vocabSize);
        }
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public int bos() {
        return special.bos();
    }

    @Override
    public int eos() {
        return special.eos();
    }

    /** Unknown-token id, or -1 if the vocabulary has none. */
    public int unknown() {
        return special.unknown();
    }

    /** Whether the model expects prompts to start with BOS. */
    public boolean addBosByDefault() {
        return addBosByDefault;
    }

    public float score(int id) {
        checkId(id);
        return scores[id];
    }

    public TokenType type(int id) {
        checkId(id);
        return types[id];
    }

    @Override
    public String piece(int id) {
        checkId(id);
        return pieces[id];
    }

    @Override
    public String kind() {
        return "sentencepiece-bpe";
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        Objects.requireNonNull(text, "text");
        IntArrayBuilder out = new IntArrayBuilder(text.length() + 1);
        if (addBos && special.bos() >= 0) {
            out.add(special.bos());
        }
        // Like SentencePiece and run.c: no dummy prefix for empty text (there is no fragment at all).
        boolean afterSpecial = true;
        for (SpecialTokenSplitter.Fragment f : specials.split(text, parseSpecial)) {
            switch (f) {
                case SpecialTokenSplitter.Token(int id) -> {
                    out.add(id);
                    afterSpecial = true;
                }
                case SpecialTokenSplitter.Text(String stretch) -> {
                    encodeStretch(stretch, addSpacePrefix && afterSpecial, out);
                    afterSpecial = false;
                }
            }
        }
        return out.toArray();
    }

    private void encodeStretch(String text, boolean prefix, IntArrayBuilder out) {
        String normalized = (prefix ? " " + text : text).replace(' ', spaceSymbol);
        SymbolChain chain = mergeSymbols(normalized);
        for (int s = 0; s >= 0 && s < chain.count; s = chain.next[s]) {
            emitSymbol(chain.text(normalized, s), out);
        }
    }

    /** A candidate merge of two adjacent symbols into the piece of the given score. */
    private record Candidate(int left, int right, float score, int span) {
    }

    private SymbolChain mergeSymbols(String text) {
        SymbolChain chain = SymbolChain.ofCodePoints(text);
        PriorityQueue<Candidate> queue = new PriorityQueue<>(Math.max(1, chain.count),
                (a, b) -> a.score != b.score ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
        for (int i = 1; i < chain.count; i++) {
            offer(chain, text, i - 1, i, queue);
        }
        while (!queue.isEmpty()) {
            Candidate best = queue.poll();
            if (!chain.isCurrent(best.left, best.right, best.span)) {
                continue;
            }
            chain.merge(best.left, best.right);
            offer(chain, text, chain.prev[best.left], best.left, queue);
            offer(chain, text, best.left, chain.next[best.left], queue);
        }
        return chain;
    }

    private void offer(SymbolChain chain, String text, int left, int right, PriorityQueue<Candidate> queue) {
        if (left < 0 || right < 0) {
            return;
        }
        Integer id = textPieceIds.get(chain.pairText(text, left, right));
        if (id != null) {
            queue.add(new Candidate(left, right, scores[id], chain.length[left] + chain.length[right]));
        }
    }

    private void emitSymbol(String symbol, IntArrayBuilder out) {
        Integer id = textPieceIds.get(symbol);
        if (id != null) {
            out.add(id);
            return;
        }
        byte[] bytes = symbol.getBytes(StandardCharsets.UTF_8);
        for (byte b : bytes) {
            if (byteTokenIds[b & 0xFF] < 0) {
                // Without byte fallback SentencePiece writes the whole character as <unk>.
                if (special.unknown() < 0) {
                    throw new IllegalArgumentException("the vocabulary can represent neither '" + symbol
                            + "' nor its bytes, and has no unknown token");
                }
                out.add(special.unknown());
                return;
            }
        }
        for (byte b : bytes) {
            out.add(byteTokenIds[b & 0xFF]);
        }
    }

    @Override
    public byte[] decode(int previousId, int id) {
        checkId(id);
        if (previousId != -1) {
            checkId(previousId);
        }
        byte[] bytes = decodedBytes[id];
        boolean startOfText = previousId == -1 || types[previousId] == TokenType.CONTROL;
        if (addSpacePrefix && startOfText && types[id].matchesText() && bytes.length > 0 && bytes[0] == ' ') {
            // The dummy prefix the encoder added is not part of the text.
            return Arrays.copyOfRange(bytes, 1, bytes.length);
        }
        return bytes.clone();
    }

    private void checkId(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + pieces.length);
        }
    }
}
