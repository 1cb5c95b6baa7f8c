// Embedding gather: out[t] = table[tokens[t]], decoding the table row from its storage type.
// Ids outside the table give zeros (the host rejects them before a launch).
__kernel void embedding(__global const int* tokens, __global const uchar* table, int wtype,
                        __global float* out, int dim, int vocab) {
    int e = get_global_id(0);
    int t = get_global_id(1);
    if (e >= dim) {
        return;
    }
    int token = tokens[t];
    out[(size_t) t * dim + e] = (token >= 0 && token < vocab) ? load_weight(table, (size_t) token * dim + e, wtype) : 0.0f;
}
