package io.llmnpu.backend.opencl;

import static org.jocl.CL.*;

import io.llmnpu.api.backend.BackendException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_program;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backend's kernels built for one device, from a cached binary when one exists and is accepted,
 * otherwise from source (and then cached).
 *
 * @param origin where the program came from: tells tests and logs whether the cache was used
 */
record ClProgram(cl_program program, Origin origin, double buildSeconds) {
    private static final Logger LOG = LoggerFactory.getLogger(ClProgram.class);

    enum Origin { SOURCE, BINARY_CACHE }

    /**
     * Builds {@code source} with {@code options} for {@code device}.
     *
     * @param cache the device's binary cache, or null to always compile
     */
    static ClProgram build(cl_context context, cl_device_id device, String source, String options,
                           ProgramBinaryCache cache) {
        long start = System.nanoTime();
        String key = Hashes.sha256Hex(source + "\n// build options: " + options);
        if (cache != null) {
            Optional<byte[]> binary = cache.read(key);
            if (binary.isPresent()) {
                Optional<cl_program> fromBinary = fromBinary(context, device, binary.get(), options);
                if (fromBinary.isPresent()) {
                    return new ClProgram(fromBinary.get(), Origin.BINARY_CACHE, seconds(start));
                }
                LOG.warn("the driver rejected cached program binary {}; compiling from source", cache.fileFor(key));
            }
        }
        cl_program program = fromSource(context, device, source, options);
        if (cache != null) {
            cacheBinary(cache, key, program);
        }
        return new ClProgram(program, Origin.SOURCE, seconds(start));
    }

    private static Optional<cl_program> fromBinary(cl_context context, cl_device_id device, byte[] binary, String options) {
        int[] status = new int[1];
        int[] binaryStatus = new int[1];
        cl_program program;
        try {
            program = clCreateProgramWithBinary(context, 1, new cl_device_id[] {device},
                    new long[] {binary.length}, new byte[][] {binary}, binaryStatus, status);
        } catch (RuntimeException e) {
            LOG.debug("clCreateProgramWithBinary threw", e);
            return Optional.empty();
        }
        if (status[0] != CL_SUCCESS || binaryStatus[0] != CL_SUCCESS || program == null) {
            if (program != null) {
                clReleaseProgram(program);
            }
            return Optional.empty();
        }
        int built;
        try {
            built = clBuildProgram(program, 1, new cl_device_id[] {device}, options, null, null);
        } catch (RuntimeException e) {
            built = CL_BUILD_PROGRAM_FAILURE;
        }
        if (built != CL_SUCCESS) {
            clReleaseProgram(program);
            return Optional.empty();
        }
        return Optional.of(program);
    }

    private static cl_program fromSource(cl_context context, cl_device_id device, String source, String options) {
        int[] status = new int[1];
        cl_program program = clCreateProgramWithSource(context, 1, new String[] {source}, null, status);
        ClCall.check(status[0], "clCreateProgramWithSource");
        int built = clBuildProgram(program, 1, new cl_device_id[] {device}, options, null, null);
        if (built != CL_SUCCESS) {
            String log = buildLog(program, device);
            clReleaseProgram(program);
            throw new BackendException("OpenCL kernels failed to build (" + stringFor_errorCode(built) + "):\n" + log);
        }
        return program;
    }

    private static void cacheBinary(ProgramBinaryCache cache, String key, cl_program program) {
        try {
            byte[] binary = binaryOf(program);
            if (binary.length > 0) {
                cache.write(key, binary);
            }
        } catch (BackendException e) {
            LOG.warn("cannot read the program binary back from the driver, so it is not cached: {}", e.getMessage());
        }
    }

    private static byte[] binaryOf(cl_program program) {
        long[] size = new long[1];
        ClCall.check(clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, Sizeof.size_t, Pointer.to(size), null),
                "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)");
        byte[] binary = new byte[Math.toIntExact(size[0])];
        Pointer target = Pointer.to(binary);
        ClCall.check(clGetProgramInfo(program, CL_PROGRAM_BINARIES, Sizeof.POINTER, Pointer.to(target), null),
                "clGetProgramInfo(CL_PROGRAM_BINARIES)");
        return binary;
    }

    private static String buildLog(cl_program program, cl_device_id device) {
        long[] size = new long[1];
        clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, null, size);
        if (size[0] <= 1) {
            return "(no build log)";
        }
        byte[] log = new byte[(int) size[0]];
        clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, log.length, Pointer.to(log), null);
        return new String(log, 0, log.length - 1, StandardCharsets.UTF_8);
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    void release() {
        clReleaseProgram(program);
    }
}
