package io.llmnpu.backend.vulkan;

/**
 * The compute shaders of the backend (GLSL resources under {@code shaders/}) with their interface:
 * storage buffer bindings 0..{@code bindings - 1} and {@code pushWords} 4-byte push constants, in the
 * order the shader declares them.
 */
enum Kernel {
    MATVEC("matvec.comp", 3, 6),
    MATMUL("matmul.comp", 3, 6),
    MATMUL_SUBGROUPS("matmul_sg.comp", 3, 6),
    RMSNORM("rmsnorm.comp", 3, 2),
    EMBEDDING("embedding.comp", 3, 4),
    ROPE("rope.comp", 4, 4),
    KV_STORE("kv_store.comp", 7, 2),
    ATTENTION("attention.comp", 5, 7),
    ELEMENTWISE("elementwise.comp", 3, 3),
    ADD_BIAS("add_bias.comp", 3, 3),
    LAYERNORM("layernorm.comp", 3, 2),
    OUTLIER_SHADOW("outlier_shadow.comp", 3, 6),
    SHADOW_MERGE("shadow_merge.comp", 5, 6);

    /** Invocations per work-group of the one-dimensional kernels (LWS in the shaders). */
    static final int LWS = 64;
    /** Weight rows per work-group of the matrix-vector shader when subgroups compute whole rows. */
    static final int MATVEC_ROWS = 8;
    /** 4 x 4 output blocks per work-group of the subgroup matmul. */
    static final int MATMUL_SG_BLOCKS = 8;
    /** The matmul tile: BM token rows by BN output features per work-group. */
    static final int MATMUL_TILE = 64;

    private final String file;
    private final int bindings;
    private final int pushWords;

    Kernel(String file, int bindings, int pushWords) {
        this.file = file;
        this.bindings = bindings;
        this.pushWords = pushWords;
    }

    String file() {
        return file;
    }

    int bindings() {
        return bindings;
    }

    int pushWords() {
        return pushWords;
    }
}
