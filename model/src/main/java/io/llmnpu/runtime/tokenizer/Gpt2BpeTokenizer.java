package io.llmnpu.runtime.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-level BPE as GPT-2 introduced it (GGUF {@code tokenizer.ggml.model = gpt2}), with the
 * pre-tokenizer the file names ({@link PreTokenizerType}: GPT-2, Llama 3, Qwen2, ...).
 *
 * <p>Encoding: take special tokens out of the text ({@link SpecialTokenSplitter}), split each stretch
 * of text into words with the pre-tokenizer (with Llama 3's, a word that is itself a vocabulary entry is
 * that token), spell each word's UTF-8
 * bytes in the {@link ByteLevelAlphabet}, then repeatedly merge the adjacent pair with the lowest
 * merge rank (leftmost on ties) until no listed merge applies. Each resulting symbol is a token; a
 * symbol that is not in the vocabulary is written byte by byte. Words repeat a lot in real text, so
 * their ids are cached.
 *
 * <p>User-defined tokens in the text become those tokens; control tokens such as
 * {@code <|endoftext|>} only when special tokens are parsed, otherwise they are plain text.
 */
public final class Gpt2BpeTokenizer implements Tokenizer {
    /** One merge rule: the two adjacent pieces that become one. */
    public record Merge(String left, String right) {
        public Merge {
            Objects.requireNonNull(left, "left");
            Objects.requireNonNull(right, "right");
        }
    }

    /** Words longer than this are not cached: they are rare and would make the cache large. */
    private static final int MAX_CACHED_WORD_CHARS = 64;
    private static final int MAX_CACHED_WORDS = 1 << 16;

    private final String[] tokens;
    private final TokenType[] types;
    private final int bos;
    private final int eos;
    private final boolean addBosByDefault;
    private final Map<String, Integer> textTokenIds;
    private final Map<Merge, Integer> mergeRanks;
    private final byte[][] decodedBytes;
    private final ByteLevelAlphabet alphabet = new ByteLevelAlphabet();
    private final PreTokenizerType preTokenizerType;
    private final PreTokenizer preTokenizer;
    private final SpecialTokenSplitter specials;
    private final Map<String, int[]> wordCache = new ConcurrentHashMap<>();

    /**
     * @param tokens          the vocabulary in the byte-level alphabet, index = token id
     * @param types           type of each token
     * @param merges          merge rules, highest priority first (rank = index)
     * @param bos             BOS id or -1
     * @param eos             EOS id or -1
     * @param addBosByDefault whether the model expects prompts to start with BOS
     * @throws IllegalArgumentException if the vocabulary cannot spell every byte
     */
    public Gpt2BpeTokenizer(List<String> tokens, TokenType[] types, List<Merge> merges, int bos, int eos,
                            boolean addBosByDefault) {
        this(tokens, types, merges, bos, eos, addBosByDefault, PreTokenizerType.GPT2);
    }

    /** As the other constructor, splitting words with {@code preTokenizer}. */
    public Gpt2BpeTokenizer(List<String> tokens, TokenType[] types, List<Merge> merges, int bos, int eos,
                            boolean addBosByDefault, PreTokenizerType preTokenizer) {
        this.preTokenizerType = Objects.requireNonNull(preTokenizer, "preTokenizer");
        this.preTokenizer = preTokenizer.create();
        int n = tokens.size();
        if (types.length != n) {
            throw new IllegalArgumentException("vocabulary has " + n + " tokens but " + types.length + " types");
        }
        if (bos < -1 || bos >= n || eos < -1 || eos >= n) {
            throw new IllegalArgumentException("bos " + bos + " or eos " + eos + " is outside the vocabulary of " + n);
        }
        this.tokens = tokens.toArray(String[]::new);
        this.types = types.clone();
        this.bos = bos;
        this.eos = eos;
        this.addBosByDefault = addBosByDefault;

        textTokenIds = new HashMap<>(n * 2);
        decodedBytes = new byte[n][];
        for (int id = 0; id < n; id++) {
            String token = Objects.requireNonNull(this.tokens[id], "token " + id);
            TokenType type = Objects.requireNonNull(this.types[id], "type of token " + id);
            if (type == TokenType.NORMAL) {
                textTokenIds.putIfAbsent(token, id);
            }
            decodedBytes[id] = switch (type) {
                case CONTROL, UNUSED -> new byte[0];
                // Added tokens are stored as plain text, not in the byte-level alphabet.
                case USER_DEFINED -> token.getBytes(StandardCharsets.UTF_8);
                default -> unspell(token);
            };
        }
        for (int b = 0; b < 256; b++) {
            String single = String.valueOf(alphabet.charOf((byte) b));
            if (!textTokenIds.containsKey(single)) {
                throw new IllegalArgumentException("the vocabulary has no normal token for byte 0x"
                        + Integer.toHexString(b) + " ('" + single + "'), so it cannot encode all text");
            }
        }
        mergeRanks = new HashMap<>(merges.size() * 2);
        for (int rank = 0; rank < merges.size(); rank++) {
            mergeRanks.putIfAbsent(merges.get(rank), rank);
        }
        specials = new SpecialTokenSplitter(this.tokens, this.types, null);
    }

    /** The bytes a byte-level token spells; characters outside the alphabet stand for themselves. */
    private byte[] unspell(String token) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(token.length());
        for (int i = 0; i < token.length(); ) {
            int cp = token.codePointAt(i);
            int b = alphabet.byteOf(cp);
            if (b >= 0) {
                out.write(b);
            } else {
                out.writeBytes(Character.toString(cp).getBytes(StandardCharsets.UTF_8));
            }
            i += Character.charCount(cp);
        }
        return out.toByteArray();
    }

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    @Override
    public int bos() {
        return bos;
    }

    @Override
    public int eos() {
        return eos;
    }

    /** Whether the model expects prompts to start with BOS. */
    public boolean addBosByDefault() {
        return addBosByDefault;
    }

    public TokenType type(int id) {
        checkId(id);
        return types[id];
    }

    @Override
    public String piece(int id) {
        checkId(id);
        return tokens[id];
    }

    @Override
    public String kind() {
        return "gpt2-bpe";
    }

    /** The pre-tokenizer that splits text into words. */
    public PreTokenizerType preTokenizer() {
        return preTokenizerType;
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        Objects.requireNonNull(text, "text");
        IntArrayBuilder out = new IntArrayBuilder(text.length() / 3 + 2);
        if (addBos && bos >= 0) {
            out.add(bos);
        }
        for (SpecialTokenSplitter.Fragment f : specials.split(text, parseSpecial)) {
            switch (f) {
                case SpecialTokenSplitter.Token(int id) -> out.add(id);
                case SpecialTokenSplitter.Text(String stretch) -> {
                    for (String word : preTokenizer.split(stretch)) {
                        out.addAll(encodeWord(word));
                    }
                }
            }
        }
        return out.toArray();
    }

    private int[] encodeWord(String word) {
        int[] cached = wordCache.get(word);
        if (cached != null) {
            return cached;
        }
        String spelled = alphabet.spell(word.getBytes(StandardCharsets.UTF_8));
        Integer whole = preTokenizerType.ignoreMerges() ? textTokenIds.get(spelled) : null;
        int[] ids = whole != null ? new int[] {whole} : mergeWord(spelled);
        if (word.length() <= MAX_CACHED_WORD_CHARS) {
            if (wordCache.size() >= MAX_CACHED_WORDS) {
                wordCache.clear();
            }
            wordCache.put(word, ids);
        }
        return ids;
    }

    /** A candidate merge of two adjacent symbols. */
    private record Candidate(int left, int right, int rank, int span) {
    }

    private int[] mergeWord(String spelled) {
        SymbolChain chain = SymbolChain.ofCodePoints(spelled);
        PriorityQueue<Candidate> queue = new PriorityQueue<>(Math.max(1, chain.count),
                (a, b) -> a.rank != b.rank ? Integer.compare(a.rank, b.rank) : Integer.compare(a.left, b.left));
        for (int i = 1; i < chain.count; i++) {
            offer(chain, spelled, i - 1, i, queue);
        }
        while (!queue.isEmpty()) {
            Candidate best = queue.poll();
            if (!chain.isCurrent(best.left, best.right, best.span)) {
                continue;
            }
            chain.merge(best.left, best.right);
            offer(chain, spelled, chain.prev[best.left], best.left, queue);
            offer(chain, spelled, best.left, chain.next[best.left], queue);
        }
        IntArrayBuilder ids = new IntArrayBuilder(chain.count);
        for (int s = 0; s >= 0 && s < chain.count; s = chain.next[s]) {
            String symbol = chain.text(spelled, s);
            Integer id = textTokenIds.get(symbol);
            if (id != null) {
                ids.add(id);
            } else {
                // A merge whose result is missing from the vocabulary: fall back to the single bytes.
                for (int i = 0; i < symbol.length(); i++) {
                    ids.add(textTokenIds.get(String.valueOf(symbol.charAt(i))));
                }
            }
        }
        return ids.toArray();
    }

    private void offer(SymbolChain chain, String spelled, int left, int right, PriorityQueue<Candidate> queue) {
        if (left < 0 || right < 0) {
            return;
        }
        Integer rank = mergeRanks.get(new Merge(chain.text(spelled, left), chain.text(spelled, right)));
        if (rank != null) {
            queue.add(new Candidate(left, right, rank, chain.length[left] + chain.length[right]));
        }
    }

    @Override
    public byte[] decode(int previousId, int id) {
        checkId(id);
        if (previousId != -1) {
            checkId(previousId);
        }
        return decodedBytes[id].clone();
    }

    private void checkId(int id) {
        if (id < 0 || id >= tokens.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + tokens.length);
        }
    }
}
