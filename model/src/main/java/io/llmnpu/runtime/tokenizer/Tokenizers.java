package io.llmnpu.runtime.tokenizer;

import io.llmnpu.runtime.model.ModelFormatException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Builds the tokenizer a GGUF file describes in its {@code tokenizer.ggml.*} metadata. Metadata
 * values follow the GGUF reader's mapping: integers are {@link Long}, float32 {@link Float}, bool
 * {@link Boolean}, strings {@link String}, arrays {@code List<Object>}.
 */
public final class Tokenizers {
    private static final Logger LOG = LoggerFactory.getLogger(Tokenizers.class);

    static final String MODEL = "tokenizer.ggml.model";
    static final String PRE = "tokenizer.ggml.pre";
    static final String TOKENS = "tokenizer.ggml.tokens";
    static final String SCORES = "tokenizer.ggml.scores";
    static final String TOKEN_TYPE = "tokenizer.ggml.token_type";
    static final String MERGES = "tokenizer.ggml.merges";
    static final String BOS = "tokenizer.ggml.bos_token_id";
    static final String EOS = "tokenizer.ggml.eos_token_id";
    static final String UNKNOWN = "tokenizer.ggml.unknown_token_id";
    static final String ADD_BOS = "tokenizer.ggml.add_bos_token";
    static final String ADD_SPACE_PREFIX = "tokenizer.ggml.add_space_prefix";

    /** GGUF writers store "no such token" as uint32 -1. */
    private static final long NO_TOKEN_UINT32 = 0xFFFF_FFFFL;

    private Tokenizers() {
    }

    /**
     * @param metadata       the GGUF metadata
     * @param fileForErrors  the file the metadata came from, named in error messages
     * @throws ModelFormatException if a key is missing, has the wrong type or an impossible value,
     *                              or the tokenizer model is not one llmnpu implements
     */
    public static Tokenizer fromGguf(Map<String, Object> metadata, Path fileForErrors) {
        MetadataReader in = new MetadataReader(metadata, fileForErrors);
        String model = in.requiredString(MODEL);
        return switch (model) {
            case "llama" -> sentencePiece(in);
            case "gpt2" -> gpt2(in);
            default -> throw new ModelFormatException(fileForErrors, -1, "unsupported tokenizer model " + model
                    + " (" + MODEL + "); llmnpu reads 'llama' (SentencePiece) and 'gpt2' (byte-level BPE)");
        };
    }

    /**
     * Per id, whether whitespace after the special token is dropped: llama.cpp does that for the chat
     * tokens of Phi-3 models (known by their name) except {@code <unk>}, {@code <s>} and
     * {@code <|endoftext|>}; null for every other model.
     */
    private static boolean[] stripRight(MetadataReader in, List<String> tokens, TokenType[] types) {
        String name = in.optionalString("general.name");
        String lower = name == null ? "" : name.toLowerCase(java.util.Locale.ROOT);
        if (!lower.contains("phi-3") && !lower.contains("phi3")) {
            return null;
        }
        boolean[] strip = new boolean[tokens.size()];
        for (int id = 0; id < strip.length; id++) {
            boolean special = types[id] == TokenType.CONTROL || types[id] == TokenType.USER_DEFINED
                    || types[id] == TokenType.UNKNOWN;
            String t = tokens.get(id);
            strip[id] = (special || t.equals("</s>")) && !t.equals("<unk>") && !t.equals("<s>") && !t.equals("<|endoftext|>");
        }
        return strip;
    }

    private static SentencePieceTokenizer sentencePiece(MetadataReader in) {
        List<String> tokens = in.requiredStrings(TOKENS);
        int n = tokens.size();
        float[] scores = in.requiredFloats(SCORES, n);
        int bos = in.tokenId(BOS, n, 1);
        int eos = in.tokenId(EOS, n, 2);
        int unknown = in.tokenId(UNKNOWN, n, 0);
        TokenType[] types = in.tokenTypes(n);
        if (types == null) {
            types = TokenType.inferFromPieces(tokens, unknown, bos, eos);
        }
        boolean addBos = in.optionalBoolean(ADD_BOS, true);
        boolean addSpacePrefix = in.optionalBoolean(ADD_SPACE_PREFIX, true);
        try {
            return new SentencePieceTokenizer(tokens, scores, types,
                    new SentencePieceTokenizer.SpecialTokens(bos, eos, unknown),
                    SentencePieceTokenizer.SENTENCEPIECE_SPACE, addSpacePrefix, addBos, stripRight(in, tokens, types));
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(in.file, -1, "unusable SentencePiece vocabulary: " + e.getMessage(), e);
        }
    }

    private static Gpt2BpeTokenizer gpt2(MetadataReader in) {
        String pre = in.optionalString(PRE);
        PreTokenizerType preTokenizer;
        if (pre == null) {
            LOG.warn("{} has no {}; splitting words the GPT-2 way", in.file, PRE);
            preTokenizer = PreTokenizerType.GPT2;
        } else {
            preTokenizer = PreTokenizerType.forName(pre).orElseThrow(() -> new ModelFormatException(in.file, -1,
                    "unsupported pre-tokenizer " + pre + " (" + PRE + "); llmnpu implements " + PreTokenizerType.names()));
        }
        List<String> tokens = in.requiredStrings(TOKENS);
        int n = tokens.size();
        int bos = in.tokenId(BOS, n, -1);
        int eos = in.tokenId(EOS, n, -1);
        TokenType[] types = in.tokenTypes(n);
        if (types == null) {
            types = new TokenType[n];
            Arrays.fill(types, TokenType.NORMAL);
            if (bos >= 0) {
                types[bos] = TokenType.CONTROL;
            }
            if (eos >= 0) {
                types[eos] = TokenType.CONTROL;
            }
        }
        List<String> mergeLines = in.requiredStrings(MERGES);
        List<Gpt2BpeTokenizer.Merge> merges = new ArrayList<>(mergeLines.size());
        for (int i = 0; i < mergeLines.size(); i++) {
            String line = mergeLines.get(i);
            // Search from index 1 so that a merge whose left side is itself a space still splits.
            int space = line.indexOf(' ', 1);
            if (space < 0 || space == line.length() - 1) {
                throw new ModelFormatException(in.file, -1, MERGES + "[" + i + "] is '" + line
                        + "', not two pieces separated by a space");
            }
            merges.add(new Gpt2BpeTokenizer.Merge(line.substring(0, space), line.substring(space + 1)));
        }
        // Llama 3 vocabularies expect BOS unless the file says otherwise, as llama.cpp assumes.
        boolean addBos = in.optionalBoolean(ADD_BOS, preTokenizer == PreTokenizerType.LLAMA3);
        try {
            return new Gpt2BpeTokenizer(tokens, types, merges, bos, eos, addBos, preTokenizer);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(in.file, -1, "unusable GPT-2 vocabulary: " + e.getMessage(), e);
        }
    }

    /** Typed access to metadata values, with errors that name the key. */
    private record MetadataReader(Map<String, Object> metadata, Path file) {

        private Object required(String key) {
            Object value = metadata.get(key);
            if (value == null) {
                throw new ModelFormatException(file, -1, "missing metadata key " + key + ", which the tokenizer needs");
            }
            return value;
        }

        private ModelFormatException wrongType(String key, Object value, String expected) {
            return new ModelFormatException(file, -1, "metadata key " + key + " should be " + expected
                    + " but is " + describe(value));
        }

        private static String describe(Object value) {
            return value instanceof List<?> list ? "an array of " + list.size() : "a " + value.getClass().getSimpleName();
        }

        String requiredString(String key) {
            Object value = required(key);
            if (!(value instanceof String s)) {
                throw wrongType(key, value, "a string");
            }
            return s;
        }

        String optionalString(String key) {
            Object value = metadata.get(key);
            if (value == null) {
                return null;
            }
            if (!(value instanceof String s)) {
                throw wrongType(key, value, "a string");
            }
            return s;
        }

        boolean optionalBoolean(String key, boolean fallback) {
            Object value = metadata.get(key);
            if (value == null) {
                return fallback;
            }
            if (!(value instanceof Boolean b)) {
                throw wrongType(key, value, "a bool");
            }
            return b;
        }

        private List<?> requiredList(String key) {
            Object value = required(key);
            if (!(value instanceof List<?> list)) {
                throw wrongType(key, value, "an array");
            }
            return list;
        }

        List<String> requiredStrings(String key) {
            List<?> list = requiredList(key);
            if (list.isEmpty()) {
                throw new ModelFormatException(file, -1, "metadata key " + key + " is an empty array");
            }
            List<String> strings = new ArrayList<>(list.size());
            for (int i = 0; i < list.size(); i++) {
                if (!(list.get(i) instanceof String s)) {
                    throw new ModelFormatException(file, -1, "metadata key " + key + " should be an array of strings but element "
                            + i + " is " + describe(list.get(i)));
                }
                strings.add(s);
            }
            return strings;
        }

        float[] requiredFloats(String key, int expectedLength) {
            List<?> list = requiredList(key);
            checkLength(key, list, expectedLength);
            float[] floats = new float[list.size()];
            for (int i = 0; i < floats.length; i++) {
                Object element = list.get(i);
                if (element instanceof Float f) {
                    floats[i] = f;
                } else if (element instanceof Double d) {
                    floats[i] = d.floatValue();
                } else {
                    throw new ModelFormatException(file, -1, "metadata key " + key + " should be an array of floats but element "
                            + i + " is " + describe(element));
                }
            }
            return floats;
        }

        /** The token types, or null when the file stores none. */
        TokenType[] tokenTypes(int expectedLength) {
            if (!metadata.containsKey(TOKEN_TYPE)) {
                return null;
            }
            List<?> list = requiredList(TOKEN_TYPE);
            checkLength(TOKEN_TYPE, list, expectedLength);
            TokenType[] types = new TokenType[list.size()];
            for (int i = 0; i < types.length; i++) {
                Object element = list.get(i);
                if (!isInteger(element)) {
                    throw new ModelFormatException(file, -1, "metadata key " + TOKEN_TYPE
                            + " should be an array of integers but element " + i + " is " + describe(element));
                }
                long code = ((Number) element).longValue();
                types[i] = TokenType.fromCode(code);
                if (types[i] == null) {
                    throw new ModelFormatException(file, -1, "metadata key " + TOKEN_TYPE + "[" + i + "] is " + code
                            + ", not a token type (1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte)");
                }
            }
            return types;
        }

        /** A token id: {@code fallback} when the key is absent, -1 when the file stores "no token". */
        int tokenId(String key, int vocabSize, int fallback) {
            Object value = metadata.get(key);
            if (value == null) {
                return fallback < vocabSize ? fallback : -1;
            }
            if (!isInteger(value)) {
                throw wrongType(key, value, "an integer");
            }
            long id = ((Number) value).longValue();
            if (id == -1 || id == NO_TOKEN_UINT32) {
                return -1;
            }
            if (id < 0 || id >= vocabSize) {
                throw new ModelFormatException(file, -1, "metadata key " + key + " is " + id
                        + ", outside the vocabulary of " + vocabSize + " tokens");
            }
            return (int) id;
        }

        private void checkLength(String key, List<?> list, int expectedLength) {
            if (list.size() != expectedLength) {
                throw new ModelFormatException(file, -1, "metadata key " + key + " has " + list.size()
                        + " entries but " + TOKENS + " has " + expectedLength);
            }
        }

        private static boolean isInteger(Object value) {
            return value instanceof Long || value instanceof Integer || value instanceof Short || value instanceof Byte;
        }
    }
}
