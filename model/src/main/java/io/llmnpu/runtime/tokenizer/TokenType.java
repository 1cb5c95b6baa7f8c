package io.llmnpu.runtime.tokenizer;

/**
 * What a vocabulary entry is, with the codes GGUF stores in {@code tokenizer.ggml.token_type}
 * (the SentencePiece piece types).
 */
public enum TokenType {
    NORMAL(1),
    UNKNOWN(2),
    CONTROL(3),
    USER_DEFINED(4),
    UNUSED(5),
    BYTE(6);

    private final int code;

    TokenType(int code) {
        this.code = code;
    }

    /** The GGUF code of this type. */
    public int code() {
        return code;
    }

    /** The type with GGUF code {@code code}, or null when the code is not one of 1..6. */
    public static TokenType fromCode(long code) {
        for (TokenType type : values()) {
            if (type.code == code) {
                return type;
            }
        }
        return null;
    }

    /**
     * Types for a vocabulary that stores none (llama2.c files, old GGUFs): byte pieces by their
     * {@code <0xHH>} name, the given special ids as unknown or control, everything else normal.
     */
    static TokenType[] inferFromPieces(java.util.List<String> pieces, int unknown, int bos, int eos) {
        TokenType[] types = new TokenType[pieces.size()];
        for (int id = 0; id < types.length; id++) {
            if (id == unknown) {
                types[id] = UNKNOWN;
            } else if (id == bos || id == eos) {
                types[id] = CONTROL;
            } else if (BytePieces.parse(pieces.get(id)) >= 0) {
                types[id] = BYTE;
            } else {
                types[id] = NORMAL;
            }
        }
        return types;
    }

    /** Whether text can be encoded to this token (special and placeholder entries never match text). */
    boolean matchesText() {
        return this == NORMAL || this == USER_DEFINED;
    }
}
