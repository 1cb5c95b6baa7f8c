package io.llmnpu.backend.opencl;

import io.llmnpu.api.backend.BackendException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The OpenCL C sources of the backend, shipped as resources and built into one program per device:
 * one build (and one cached binary) instead of one per op.
 */
final class KernelSources {
    private static final String FOLDER = "/io/llmnpu/backend/opencl/kernels/";
    /** {@code common.cl} first: the others use its loaders and constants. */
    static final List<String> FILES = List.of(
            "common.cl", "linear.cl", "norm.cl", "rope.cl", "attention.cl", "elementwise.cl", "embedding.cl", "outlier.cl");

    private KernelSources() {
    }

    /** All sources concatenated in dependency order. */
    static String program() {
        StringBuilder all = new StringBuilder();
        for (String file : FILES) {
            all.append("// ---- ").append(file).append('\n').append(read(file)).append('\n');
        }
        return all.toString();
    }

    private static String read(String file) {
        try (InputStream in = KernelSources.class.getResourceAsStream(FOLDER + file)) {
            if (in == null) {
                throw new BackendException("kernel source " + FOLDER + file + " is missing from the backend jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new BackendException("cannot read kernel source " + file, e);
        }
    }
}
