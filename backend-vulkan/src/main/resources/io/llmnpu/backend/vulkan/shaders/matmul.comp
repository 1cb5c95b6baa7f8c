// Linear for many rows (prefill): a 16 x 16 work-group computes a BM x BN tile of y (token rows x
// output features of the weight slice), each invocation 4 x 4 outputs held in registers. Tiles of
// x and W (decoded once per tile) are staged through shared memory BK values deep; every staged value
// feeds 4 multiply-adds. Shared memory: 2 x 16 x 64 floats = 8 KiB, within every device's 16 KiB.
#define BM 64
#define BN 64
#define BK 16
layout(local_size_x = 16, local_size_y = 16) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { uint w[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint T; uint N; uint K; uint rowBase; uint rows; uint scaleOff; } pc;

#include "weights.glsl"

shared float xs[BK][BM];
shared float ws[BK][BN];

void main() {
    uint tx = gl_LocalInvocationID.x;
    uint ty = gl_LocalInvocationID.y;
    uint li = ty * 16u + tx;
    uint n0 = gl_WorkGroupID.x * BN;
    uint t0 = gl_WorkGroupID.y * BM;
    float acc[4][4];
    for (uint i = 0u; i < 4u; i++) {
        for (uint j = 0u; j < 4u; j++) {
            acc[i][j] = 0.0;
        }
    }
    for (uint k0 = 0u; k0 < pc.K; k0 += BK) {
        for (uint e = li; e < BM * BK; e += 256u) {
            uint row = e / BK;
            uint kk = e % BK;
            uint t = t0 + row;
            uint k = k0 + kk;
            xs[kk][row] = (t < pc.T && k < pc.K) ? x[t * pc.K + k] : 0.0;
            uint n = n0 + row;
            ws[kk][row] = (n < pc.rows && k < pc.K) ? load_weight(n * pc.K + k, pc.scaleOff) : 0.0;
        }
        barrier();
        for (uint kk = 0u; kk < BK; kk++) {
            float a[4];
            float b[4];
            for (uint i = 0u; i < 4u; i++) {
                a[i] = xs[kk][ty + 16u * i];
                b[i] = ws[kk][tx + 16u * i];
            }
            for (uint i = 0u; i < 4u; i++) {
                for (uint j = 0u; j < 4u; j++) {
                    acc[i][j] = fma(a[i], b[j], acc[i][j]);
                }
            }
        }
        barrier();
    }
    for (uint i = 0u; i < 4u; i++) {
        uint t = t0 + ty + 16u * i;
        for (uint j = 0u; j < 4u; j++) {
            uint n = n0 + tx + 16u * j;
            if (t < pc.T && n < pc.rows) {
                y[t * pc.N + pc.rowBase + n] = acc[i][j];
            }
        }
    }
}
