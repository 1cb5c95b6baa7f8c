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

// GELU in its tanh form, as GPT-2, Phi-2 and llama.cpp compute it.
inline float gelu_tanh(float x) {
    return 0.5f * x * (1.0f + tanh(0.7978845608f * (x + 0.044715f * x * x * x)));
}

__kernel void gelu_mul(__global const float* gate, __global const float* up, __global float* out, int n) {
    int i = get_global_id(0);
    if (i < n) {
        out[i] = gelu_tanh(gate[i]) * up[i];
    }
}

__kernel void gelu(__global const float* in, __global float* out, int n) {
    int i = get_global_id(0);
    if (i < n) {
        out[i] = gelu_tanh(in[i]);
    }
}

__kernel void scale(__global const float* in, __global float* out, int n, float factor) {
    int i = get_global_id(0);
    if (i < n) {
        out[i] = in[i] * factor;
    }
}

// Soft-capping: cap * tanh(x / cap).
__kernel void soft_cap(__global const float* in, __global float* out, int n, float cap) {
    int i = get_global_id(0);
    if (i < n) {
        out[i] = cap * tanh(in[i] / cap);
    }
}

// out[t][e] = in[t][e] + bias[e] over [rows, width].
__kernel void add_bias(__global const float* in, __global const uchar* bias, int btype, __global float* out,
                       int width) {
    int e = get_global_id(0);
    int t = get_global_id(1);
    if (e < width) {
        size_t at = (size_t) t * width + e;
        out[at] = in[at] + load_weight(bias, e, btype);
    }
}
