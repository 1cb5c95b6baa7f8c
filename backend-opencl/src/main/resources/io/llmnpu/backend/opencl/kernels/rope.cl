// Rotary position embedding. One work-item per output element: element e of row t belongs to head
// e / headDim; its first rotaryDims dimensions rotate, pairing (2i, 2i+1) (ADJACENT) or
// (i, i + rotaryDims/2) (NEOX), by angle positions[t] * freq_i. Rows with a negative position are
// padding and pass through unchanged.
//
// freq_i = theta^(-2i/rotaryDims) arrives from the host, computed in double and split into
// freqHi + freqLo; the product pos * freq is carried as hi + lo too (the fma gives the rounding
// error of pos * freqHi exactly), so the angle is accurate far beyond float even at large positions.
__kernel void rope(__global const float* x, __global const int* positions,
                   __global const float* freqHi, __global const float* freqLo,
                   __global float* y, int width, int headDim, int rotaryDims, int neox) {
    int e = get_global_id(0);
    int t = get_global_id(1);
    if (e >= width) {
        return;
    }
    size_t at = (size_t) t * width + e;
    int d = e % headDim;
    int pos = positions[t];
    if (pos < 0 || d >= rotaryDims) {
        y[at] = x[at];
        return;
    }
    int half_dims = rotaryDims / 2;
    int pair;
    bool first;
    int partnerOffset;
    if (neox) {
        first = d < half_dims;
        pair = first ? d : d - half_dims;
        partnerOffset = first ? half_dims : -half_dims;
    } else {
        first = (d & 1) == 0;
        pair = d >> 1;
        partnerOffset = first ? 1 : -1;
    }
    float p = (float) pos;
    float fHi = freqHi[pair];
    float angle = p * fHi;
    float angleLo = fma(p, fHi, -angle) + p * freqLo[pair];
    float c0;
    float s0 = sincos(angle, &c0);
    float c = c0 - s0 * angleLo;
    float s = s0 + c0 * angleLo;
    float self = x[at];
    float partner = x[at + partnerOffset];
    // first of a pair: a*c - b*s; second: a*s + b*c, where (a, b) is the pair in order.
    y[at] = first ? self * c - partner * s : partner * s + self * c;
}
