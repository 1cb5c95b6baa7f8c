// Embedding gather: out[t] = table[tokens[t]], decoding the table row from its storage type.
// Ids outside the table give zeros (the host rejects them before a launch).
#define DEFINE_EMBEDDING(WT)                                                                     \
__kernel void embedding_##WT(__global const int* tokens, __global const uchar* table,           \
                             __global float* out, int dim, int vocab) {                         \
    int e = get_global_id(0);                                                                   \
    int t = get_global_id(1);                                                                   \
    if (e >= dim) {                                                                             \
        return;                                                                                 \
    }                                                                                           \
    int token = tokens[t];                                                                      \
    out[(size_t) t * dim + e] = (token >= 0 && token < vocab)                                   \
            ? load_##WT(table, (size_t) token * dim + e) : 0.0f;                                \
}

DEFINE_EMBEDDING(f32)
DEFINE_EMBEDDING(f16)
DEFINE_EMBEDDING(bf16)
DEFINE_EMBEDDING(q8_0)
DEFINE_EMBEDDING(q4_0)
