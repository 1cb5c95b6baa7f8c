package io.llmnpu.backend.cpu.onednn;

/**
 * How the native backend divides the matrix work.
 *
 * @param minRows      token rows from which a Linear over Q8_0/Q4_0 weights runs in int8 on oneDNN;
 *                     fewer rows (decode) stay on the Vector API kernels, which read the blocks in place
 *                     at the memory-bandwidth bound and keep their exact F32 arithmetic
 * @param outlierShare most input channels of a Linear, as a share of them, computed in F32 as outliers
 *                     instead of int8 (see {@link TokenQuantizer})
 */
record NativeSettings(int minRows, double outlierShare) {

    /** System property that overrides {@link #minRows}. */
    static final String MIN_ROWS_PROPERTY = "llmnpu.native.minRows";

    /**
     * Rows from which int8 products win, measured on the TinyLlama shapes (see the module README): by 16
     * rows oneDNN's int8 kernel is already several times the Vector API's tiled F32 GEMM.
     */
    static final int DEFAULT_MIN_ROWS = 16;
    /** 1/64 of the channels: 32 of TinyLlama's 2048, more than real models show (a handful per layer). */
    static final double DEFAULT_OUTLIER_SHARE = 1.0 / 64;

    NativeSettings {
        if (minRows < 1) {
            throw new IllegalArgumentException("minRows must be >= 1, got " + minRows);
        }
        if (!(outlierShare >= 0 && outlierShare <= 1)) {
            throw new IllegalArgumentException("outlierShare must be in [0, 1], got " + outlierShare);
        }
    }

    /** The defaults, with {@value #MIN_ROWS_PROPERTY} applied when set. */
    static NativeSettings configured() {
        String rows = System.getProperty(MIN_ROWS_PROPERTY, "").strip();
        int minRows = DEFAULT_MIN_ROWS;
        if (!rows.isEmpty()) {
            try {
                minRows = Integer.parseInt(rows);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("-D" + MIN_ROWS_PROPERTY + " must be a whole number, got '" + rows + "'");
            }
        }
        return new NativeSettings(minRows, DEFAULT_OUTLIER_SHARE);
    }

    /** Every Linear over block weights runs in int8, however few its rows: how the conformance suite checks the int8 path. */
    static NativeSettings allProducts() {
        return new NativeSettings(1, DEFAULT_OUTLIER_SHARE);
    }

    int maxOutliers(int channels) {
        return (int) Math.floor(channels * outlierShare);
    }
}
