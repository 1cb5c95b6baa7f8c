// Work-group reductions (sum, maximum) of one float per invocation; every invocation gets the result.
// With subgroups each subgroup reduces in registers and one shared slot per subgroup remains; without,
// a tree in shared memory. Both add in a fixed order, so results do not depend on timing. Every
// invocation of the work-group must call them (they contain barriers). LWS is a power of two.
shared float red_buf[LWS];

float workgroup_sum(float v) {
#if SUBGROUPS
    float s = subgroupAdd(v);
    if (subgroupElect()) {
        red_buf[gl_SubgroupID] = s;
    }
    barrier();
    float total = 0.0;
    for (uint i = 0; i < gl_NumSubgroups; i++) {
        total += red_buf[i];
    }
    barrier();
    return total;
#else
    uint lid = gl_LocalInvocationIndex;
    red_buf[lid] = v;
    barrier();
    for (uint s = LWS / 2; s > 0; s >>= 1) {
        if (lid < s) {
            red_buf[lid] += red_buf[lid + s];
        }
        barrier();
    }
    float total = red_buf[0];
    barrier();
    return total;
#endif
}

float workgroup_max(float v) {
#if SUBGROUPS
    float s = subgroupMax(v);
    if (subgroupElect()) {
        red_buf[gl_SubgroupID] = s;
    }
    barrier();
    float m = red_buf[0];
    for (uint i = 1; i < gl_NumSubgroups; i++) {
        m = max(m, red_buf[i]);
    }
    barrier();
    return m;
#else
    uint lid = gl_LocalInvocationIndex;
    red_buf[lid] = v;
    barrier();
    for (uint s = LWS / 2; s > 0; s >>= 1) {
        if (lid < s) {
            red_buf[lid] = max(red_buf[lid], red_buf[lid + s]);
        }
        barrier();
    }
    float m = red_buf[0];
    barrier();
    return m;
#endif
}
