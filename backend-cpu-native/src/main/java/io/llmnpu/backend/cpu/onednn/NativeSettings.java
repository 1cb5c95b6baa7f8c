package io.llmnpu.backend.cpu.onednn;

/**
 * How the native backend finds oneDNN and divides the matrix work.
 *
 * @param library      the oneDNN 2.x shared library: a file name the system's loader finds (Debian's
 *                     {@code libdnnl2} puts {@value OneDnn#LIBRARY} on its path) or a path, e.g. to a
 *                     oneAPI install
 * @param minRows      token rows from which a Linear over block-quantized weights runs in int8 on oneDNN;
 *                     fewer rows (decode) stay on the Vector API kernels, which read the blocks in place
 *                     at the memory-bandwidth bound and keep their exact F32 arithmetic
 * @param outlierShare most input channels of a Linear, as a share of them, computed in F32 as outliers
 *                     instead of int8 (see {@link TokenQuantizer})
 */
record NativeSettings(String library, int minRows, double outlierShare) {

    /** System property naming another oneDNN library than {@value OneDnn#LIBRARY}. */
    static final String LIBRARY_PROPERTY = "llmnpu.onednn.library";
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
        if (library == null || library.isBlank()) {
            throw new IllegalArgumentException("no oneDNN library named");
        }
        if (minRows < 1) {
            throw new IllegalArgumentException("minRows must be >= 1, got " + minRows);
        }
        if (!(outlierShare >= 0 && outlierShare <= 1)) {
            throw new IllegalArgumentException("outlierShare must be in [0, 1], got " + outlierShare);
        }
    }

    /** The defaults, with {@value #LIBRARY_PROPERTY} and {@value #MIN_ROWS_PROPERTY} applied when set. */
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
        String library = System.getProperty(LIBRARY_PROPERTY, "").strip();
        return new NativeSettings(library.isEmpty() ? OneDnn.LIBRARY : library, minRows, DEFAULT_OUTLIER_SHARE);
    }

    /** Every Linear over block weights runs in int8, however few its rows: how the conformance suite checks the int8 path. */
    static NativeSettings allProducts() {
        return configured().withMinRows(1);
    }

    NativeSettings withMinRows(int rows) {
        return new NativeSettings(library, rows, outlierShare);
    }

    NativeSettings withOutlierShare(double share) {
        return new NativeSettings(library, minRows, share);
    }

    NativeSettings withLibrary(String name) {
        return new NativeSettings(name, minRows, outlierShare);
    }

    int maxOutliers(int channels) {
        return (int) Math.floor(channels * outlierShare);
    }
}
