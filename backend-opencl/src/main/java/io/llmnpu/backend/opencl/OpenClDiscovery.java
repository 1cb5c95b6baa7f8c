package io.llmnpu.backend.opencl;

import static org.jocl.CL.*;

import io.llmnpu.api.backend.BackendException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * Lists the OpenCL devices of every installed platform. Loading JOCL's native library fails with a
 * {@link LinkageError} where no OpenCL ICD loader is installed; a loader without a driver reports
 * no platforms. Both surface to the caller, which decides whether that is an error.
 */
@FunctionalInterface
interface OpenClDiscovery {

    /**
     * @throws LinkageError if the OpenCL library cannot be loaded
     * @throws BackendException if the driver reports an error or no platform exists
     */
    List<ClDeviceHandle> devices();

    /** The discovery that asks the installed OpenCL ICD loader. */
    static List<ClDeviceHandle> installed() {
        requireLoader();
        // Status codes are checked here; JOCL's exception mode is process-wide and left alone.
        int[] count = new int[1];
        int status = clGetPlatformIDs(0, null, count);
        if (status == CL_PLATFORM_NOT_FOUND_KHR || (status == CL_SUCCESS && count[0] == 0)) {
            throw new BackendException("no OpenCL platform is installed (the ICD loader found no driver);"
                    + " install a driver, e.g. the Debian package pocl-opencl-icd for CPUs or the GPU vendor's ICD");
        }
        ClCall.check(status, "clGetPlatformIDs");
        cl_platform_id[] platforms = new cl_platform_id[count[0]];
        ClCall.check(clGetPlatformIDs(platforms.length, platforms, null), "clGetPlatformIDs");
        List<ClDeviceHandle> found = new ArrayList<>();
        for (cl_platform_id platform : platforms) {
            int[] deviceCount = new int[1];
            int rc = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, null, deviceCount);
            if (rc == CL_DEVICE_NOT_FOUND || deviceCount[0] == 0) {
                continue;
            }
            ClCall.check(rc, "clGetDeviceIDs");
            cl_device_id[] devices = new cl_device_id[deviceCount[0]];
            ClCall.check(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, devices.length, devices, null), "clGetDeviceIDs");
            for (cl_device_id device : devices) {
                found.add(new ClDeviceHandle(platform, device, ClDeviceInfo.read(platform, device)));
            }
        }
        return found;
    }

    /**
     * Fails with an {@link UnsatisfiedLinkError} if no OpenCL ICD loader can be loaded, checked before
     * JOCL's classes initialise: JOCL's native code prints "Could not load libOpenCL..." to the
     * process's standard output when the loader is missing, which would end up in users' output.
     * Elsewhere than on Linux JOCL is left to find the library itself.
     */
    private static void requireLoader() {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            return;
        }
        List<String> failures = new ArrayList<>();
        for (String name : List.of("libOpenCL.so.1", "libOpenCL.so")) { // the names JOCL tries, in its order
            try (Arena arena = Arena.ofConfined()) {
                SymbolLookup.libraryLookup(name, arena); // loads and, when the arena closes, unloads it
                return;
            } catch (IllegalArgumentException e) {
                failures.add(e.getMessage());
            }
        }
        throw new UnsatisfiedLinkError("no OpenCL ICD loader: " + String.join("; ", failures));
    }
}
