// Linear for many rows on devices that are CPUs underneath (lavapipe): each subgroup computes 4 x 4
// outputs (4 token rows by 4 weight rows) with its invocations splitting K, every invocation keeping
// 16 partial sums in registers, then 16 subgroup sums. No shared memory and no barriers, which a CPU
// implementation runs far faster than tiles staged through shared memory; on GPUs the tiled matmul
// is used instead. BLOCKS 4 x 4 blocks per work-group.
layout(local_size_x = LWS) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) readonly buffer W { uint w[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint T; uint N; uint K; uint rowBase; uint rows; uint scaleOff; } pc;

#include "weights.glsl"
#if VEC4
#include "vec4.glsl"
#endif

void main() {
    uint blocksN = (pc.rows + 3u) / 4u;
    uint blocksT = (pc.T + 3u) / 4u;
    uint lane = gl_SubgroupInvocationID;
    uint lanes = gl_SubgroupSize;
    for (uint b = gl_WorkGroupID.x * BLOCKS + gl_SubgroupID; b < (gl_WorkGroupID.x + 1u) * BLOCKS; b += gl_NumSubgroups) {
        if (b >= blocksN * blocksT) {
            break;
        }
        uint n0 = (b % blocksN) * 4u;
        uint t0 = (b / blocksN) * 4u;
        // Rows past the end repeat the last one (in bounds); their sums are not stored.
        uint xr[4];
        uint wr[4];
        for (uint i = 0u; i < 4u; i++) {
            xr[i] = min(t0 + i, pc.T - 1u) * pc.K;
            wr[i] = min(n0 + i, pc.rows - 1u) * pc.K;
        }
        float acc[4][4];
        for (uint i = 0u; i < 4u; i++) {
            for (uint j = 0u; j < 4u; j++) {
                acc[i][j] = 0.0;
            }
        }
#if WT == WT_Q8_0 || WT == WT_Q4_0
        // One block (32 values) of each of the 4 weight rows per lane and step: 4 to 8 uvec4 loads of
        // quants and 32 vec4 loads of x feed 512 multiply-adds.
        uint blocks = pc.K / 32u;
        for (uint q = lane; q < blocks; q += lanes) {
            vec4 v[4][8];
            float d[4];
            for (uint j = 0u; j < 4u; j++) {
                uint gb = wr[j] / 32u + q;
                load_block(gb, v[j]);
                d[j] = half_at(pc.scaleOff * 2u + gb);
            }
            for (uint i = 0u; i < 4u; i++) {
                uint xq = (xr[i] + q * 32u) / 4u;
                float s[4] = float[4](0.0, 0.0, 0.0, 0.0);
                for (uint e = 0u; e < 8u; e++) {
                    vec4 xv = x4[xq + e];
                    for (uint j = 0u; j < 4u; j++) {
                        s[j] += dot(xv, v[j][e]);
                    }
                }
                for (uint j = 0u; j < 4u; j++) {
                    acc[i][j] = fma(d[j], s[j], acc[i][j]);
                }
            }
        }
#elif VEC4
        // Whole vec4s (K % 4 == 0): 8 loads feed 64 multiply-adds.
        uint k4s = pc.K / 4u;
        for (uint k4 = lane; k4 < k4s; k4 += lanes) {
            vec4 wv[4];
            for (uint j = 0u; j < 4u; j++) {
                wv[j] = load_weight4(wr[j] / 4u + k4, pc.scaleOff);
            }
            for (uint i = 0u; i < 4u; i++) {
                vec4 xv = x4[xr[i] / 4u + k4];
                for (uint j = 0u; j < 4u; j++) {
                    acc[i][j] += dot(xv, wv[j]);
                }
            }
        }
#else
        for (uint k = lane; k < pc.K; k += lanes) {
            float wv[4];
            for (uint j = 0u; j < 4u; j++) {
                wv[j] = load_weight(wr[j] + k, pc.scaleOff);
            }
            for (uint i = 0u; i < 4u; i++) {
                float xv = x[xr[i] + k];
                for (uint j = 0u; j < 4u; j++) {
                    acc[i][j] = fma(xv, wv[j], acc[i][j]);
                }
            }
        }
#endif
        for (uint i = 0u; i < 4u; i++) {
            for (uint j = 0u; j < 4u; j++) {
                float s = subgroupAdd(acc[i][j]);
                if (subgroupElect() && t0 + i < pc.T && n0 + j < pc.rows) {
                    y[(t0 + i) * pc.N + pc.rowBase + n0 + j] = s;
                }
            }
        }
    }
}
