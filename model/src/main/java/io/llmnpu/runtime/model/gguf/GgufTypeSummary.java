package io.llmnpu.runtime.model.gguf;

/**
 * How much of a GGUF file one tensor type takes (for {@code info}-style listings).
 *
 * @param type     the ggml type
 * @param tensors  number of tensors of that type
 * @param elements total number of values
 * @param bytes    total bytes of data
 */
public record GgufTypeSummary(GgmlType type, int tensors, long elements, long bytes) {
}
