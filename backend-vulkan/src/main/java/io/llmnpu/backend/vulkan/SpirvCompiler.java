package io.llmnpu.backend.vulkan;

import static org.lwjgl.util.shaderc.Shaderc.*;

import io.llmnpu.api.backend.BackendException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Optional;
import org.lwjgl.Version;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compiles GLSL compute shaders to SPIR-V (Vulkan 1.1, SPIR-V 1.3) with shaderc through LWJGL, and
 * keeps the results on disk under {@code <cacheDir>/spirv}, keyed by a hash of the source and the
 * compiler: SPIR-V does not depend on the device, so one cache serves every device and driver. shaderc
 * (an 8 MB library whose first compile takes a few tenths of a second) is loaded only on a cache miss.
 * Thread-safe.
 */
final class SpirvCompiler implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SpirvCompiler.class);

    private final CacheFiles cache;
    private long compiler;
    private long options;
    private int compiled;
    private int cached;

    /** @param cacheDir the backend's cache folder, or null for none */
    SpirvCompiler(Path cacheDir) {
        this.cache = cacheDir == null ? null : new CacheFiles(cacheDir.resolve("spirv"));
    }

    /** The compiler's identity, part of every cache key: LWJGL's version fixes the bundled shaderc. */
    static String identity() {
        return "shaderc from LWJGL " + Version.getVersion() + ", vulkan1.1, performance";
    }

    /** SPIR-V words (as bytes) for {@code source}; {@code name} appears in error messages. */
    synchronized byte[] compile(String name, String source) {
        String key = CacheFiles.sha256Hex(identity() + "\n" + source) + ".spv";
        if (cache != null) {
            Optional<byte[]> hit = cache.read(key);
            if (hit.isPresent() && hit.get().length % 4 == 0 && hit.get().length > 0) {
                cached++;
                return hit.get();
            }
        }
        byte[] spirv = shaderc(name, source);
        compiled++;
        if (cache != null) {
            cache.write(key, spirv);
        }
        return spirv;
    }

    private byte[] shaderc(String name, String source) {
        if (compiler == 0) {
            long start = System.nanoTime();
            compiler = NativeLibraries.load(() -> shaderc_compiler_initialize());
            if (compiler == 0) {
                throw new BackendException("shaderc could not be initialised");
            }
            options = shaderc_compile_options_initialize();
            shaderc_compile_options_set_target_env(options, shaderc_target_env_vulkan, shaderc_env_version_vulkan_1_1);
            shaderc_compile_options_set_optimization_level(options, shaderc_optimization_level_performance);
            LOG.debug("shaderc loaded in {} ms", (System.nanoTime() - start) / 1_000_000);
        }
        long result = shaderc_compile_into_spv(compiler, source, shaderc_compute_shader, name, "main", options);
        if (result == 0) {
            throw new BackendException("shaderc could not compile " + name + " (out of memory)");
        }
        try {
            if (shaderc_result_get_compilation_status(result) != shaderc_compilation_status_success) {
                throw new BackendException("compute shader " + name + " failed to compile:\n"
                        + shaderc_result_get_error_message(result));
            }
            ByteBuffer bytes = shaderc_result_get_bytes(result);
            if (bytes == null || bytes.remaining() == 0) {
                throw new BackendException("shaderc returned no SPIR-V for " + name);
            }
            byte[] spirv = new byte[bytes.remaining()];
            bytes.get(spirv);
            return spirv;
        } finally {
            shaderc_result_release(result);
        }
    }

    /** Shaders compiled by shaderc, and read from the cache, since creation. */
    synchronized int[] counts() {
        return new int[] {compiled, cached};
    }

    @Override
    public synchronized void close() {
        if (options != 0) {
            shaderc_compile_options_release(options);
            options = 0;
        }
        if (compiler != 0) {
            shaderc_compiler_release(compiler);
            compiler = 0;
        }
    }
}
