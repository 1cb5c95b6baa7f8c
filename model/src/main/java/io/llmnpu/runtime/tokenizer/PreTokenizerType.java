package io.llmnpu.runtime.tokenizer;

import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The byte-level BPE pre-tokenizers llmnpu implements, by the names GGUF files give them in
 * {@code tokenizer.ggml.pre} (llama.cpp's names).
 */
public enum PreTokenizerType {
    /** GPT-2's expression: GPT-2, Phi-2, MPT, OLMo, ... */
    GPT2(false),
    /** Llama 3's expression (numbers in groups of up to three); whole words found in the vocabulary skip merging. */
    LLAMA3(true),
    /** Qwen2's expression: Llama 3's with every digit a word of its own. */
    QWEN2(false),
    /** Every digit a word, GPT-2's expression between them: StarCoder, SmolLM, Command-R, ... */
    DIGITS_THEN_GPT2(false);

    private static final Map<String, PreTokenizerType> BY_NAME = new TreeMap<>();

    static {
        for (String name : new String[] {"gpt-2", "phi-2", "mpt", "olmo", "jais", "roberta-bpe", "jina-es", "jina-de",
                "gigachat", "jina-v1-en", "jina-v2-es", "jina-v2-de", "jina-v2-code"}) {
            BY_NAME.put(name, GPT2);
        }
        for (String name : new String[] {"llama-bpe", "llama3", "llama-v3", "falcon3", "smaug-bpe", "dbrx"}) {
            BY_NAME.put(name, LLAMA3);
        }
        for (String name : new String[] {"qwen2", "deepseek-r1-qwen", "stablelm2", "megrez"}) {
            BY_NAME.put(name, QWEN2);
        }
        for (String name : new String[] {"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone",
                "minerva-7b"}) {
            BY_NAME.put(name, DIGITS_THEN_GPT2);
        }
    }

    private final boolean ignoreMerges;

    PreTokenizerType(boolean ignoreMerges) {
        this.ignoreMerges = ignoreMerges;
    }

    /** The type a {@code tokenizer.ggml.pre} name stands for, or empty if llmnpu does not implement it. */
    public static Optional<PreTokenizerType> forName(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }

    /** Every name llmnpu understands, for messages. */
    public static java.util.Set<String> names() {
        return BY_NAME.keySet();
    }

    /** Whether a word that is itself a vocabulary entry becomes that token without merging (Llama 3). */
    public boolean ignoreMerges() {
        return ignoreMerges;
    }

    PreTokenizer create() {
        return switch (this) {
            case GPT2 -> new Gpt2PreTokenizer();
            case LLAMA3 -> new Llama3PreTokenizer(3);
            case QWEN2 -> new Llama3PreTokenizer(1);
            case DIGITS_THEN_GPT2 -> new DigitSplittingPreTokenizer(new Gpt2PreTokenizer());
        };
    }
}
