package io.llmnpu.runtime.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a prompt into fixed-size chunks so that prefill always runs graphs of a few static shapes.
 * Every chunk has {@code chunkSize} rows; the last one is padded and its padding masked (a negative
 * position) so that it changes neither logits nor the KV cache. A prompt shorter than one chunk
 * uses the smallest power-of-two bucket (at least {@link #MIN_BUCKET}) that holds it, which keeps
 * the set of shapes small while not computing hundreds of padding rows for a short prompt.
 */
public final class ChunkPlanner {
    public static final int MIN_BUCKET = 16;
    private final int chunkSize;

    public ChunkPlanner(int chunkSize) {
        if (chunkSize < 1 || chunkSize > 4096) {
            throw new IllegalArgumentException("chunk size " + chunkSize + " must be in 1..4096");
        }
        this.chunkSize = chunkSize;
    }

    public int chunkSize() {
        return chunkSize;
    }

    /**
     * One chunk of a prompt.
     *
     * @param start     index of the chunk's first token in the prompt
     * @param length    number of real tokens in the chunk
     * @param rows      static row count of the graph that runs it (length plus padding)
     */
    public record Chunk(int start, int length, int rows) {
        public int padding() {
            return rows - length;
        }
    }

    public List<Chunk> plan(int promptLength) {
        if (promptLength < 0) {
            throw new IllegalArgumentException("negative prompt length " + promptLength);
        }
        List<Chunk> chunks = new ArrayList<>();
        if (promptLength == 0) {
            return chunks;
        }
        if (promptLength < chunkSize) {
            chunks.add(new Chunk(0, promptLength, bucketFor(promptLength)));
            return chunks;
        }
        for (int start = 0; start < promptLength; start += chunkSize) {
            chunks.add(new Chunk(start, Math.min(chunkSize, promptLength - start), chunkSize));
        }
        return chunks;
    }

    private int bucketFor(int length) {
        int bucket = Math.min(MIN_BUCKET, chunkSize);
        while (bucket < length) {
            bucket *= 2;
        }
        return Math.min(bucket, chunkSize);
    }
}
