// Elementwise ops over n values.
__kernel void silu_mul(__global const float* gate, __global const float* up, __global float* out, int n) {
    int i = get_global_id(0);
    if (i < n) {
        float g = gate[i];
        out[i] = g / (1.0f + exp(-g)) * up[i];
    }
}

__kernel void add(__global const float* a, __global const float* b, __global float* out, int n) {
    int i = get_global_id(0);
    if (i < n) {
        out[i] = a[i] + b[i];
    }
}
