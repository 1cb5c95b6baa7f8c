package io.llmnpu.backend.opencl;

import static org.jocl.CL.*;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * What the driver reports about one OpenCL device, read once at discovery.
 *
 * @param type the CL_DEVICE_TYPE bits
 * @param hostUnifiedMemory whether the device shares the host's memory (CPU devices, integrated GPUs)
 */
public record ClDeviceInfo(String platformName, String platformVersion, String deviceName, String vendor,
                           String driverVersion, String deviceVersion, long type, long globalMemBytes,
                           long maxAllocBytes, long localMemBytes, int computeUnits, int clockMhz,
                           long maxWorkGroupSize, boolean hostUnifiedMemory) {

    // CL_DEVICE_HOST_UNIFIED_MEMORY is deprecated since OpenCL 2.0 but answered by every driver, and
    // the 2.0 replacement (SVM capabilities) says nothing about 1.2 devices.
    @SuppressWarnings("deprecation")
    static ClDeviceInfo read(cl_platform_id platform, cl_device_id device) {
        return new ClDeviceInfo(
                platformString(platform, CL_PLATFORM_NAME),
                platformString(platform, CL_PLATFORM_VERSION),
                deviceString(device, CL_DEVICE_NAME),
                deviceString(device, CL_DEVICE_VENDOR),
                deviceString(device, CL_DRIVER_VERSION),
                deviceString(device, CL_DEVICE_VERSION),
                deviceLong(device, CL_DEVICE_TYPE),
                deviceLong(device, CL_DEVICE_GLOBAL_MEM_SIZE),
                deviceLong(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE),
                deviceLong(device, CL_DEVICE_LOCAL_MEM_SIZE),
                deviceInt(device, CL_DEVICE_MAX_COMPUTE_UNITS),
                deviceInt(device, CL_DEVICE_MAX_CLOCK_FREQUENCY),
                deviceSize(device, CL_DEVICE_MAX_WORK_GROUP_SIZE),
                deviceInt(device, CL_DEVICE_HOST_UNIFIED_MEMORY) != 0);
    }

    public boolean isGpu() {
        return (type & CL_DEVICE_TYPE_GPU) != 0;
    }

    public boolean isCpu() {
        return (type & CL_DEVICE_TYPE_CPU) != 0;
    }

    /** Identifies the compiler that produced a program binary: binaries never cross drivers. */
    String binaryIdentity() {
        return String.join("\n", platformName, platformVersion, deviceName, vendor, driverVersion, deviceVersion)
                .toLowerCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return deviceName + " (" + platformName + ", " + deviceVersion + ", " + (globalMemBytes >> 20) + " MiB)";
    }

    private static String platformString(cl_platform_id platform, int param) {
        long[] size = new long[1];
        ClCall.check(clGetPlatformInfo(platform, param, 0, null, size), "clGetPlatformInfo");
        byte[] bytes = new byte[(int) size[0]];
        ClCall.check(clGetPlatformInfo(platform, param, bytes.length, Pointer.to(bytes), null), "clGetPlatformInfo");
        return cString(bytes);
    }

    private static String deviceString(cl_device_id device, int param) {
        long[] size = new long[1];
        ClCall.check(clGetDeviceInfo(device, param, 0, null, size), "clGetDeviceInfo");
        byte[] bytes = new byte[(int) size[0]];
        ClCall.check(clGetDeviceInfo(device, param, bytes.length, Pointer.to(bytes), null), "clGetDeviceInfo");
        return cString(bytes);
    }

    private static long deviceLong(cl_device_id device, int param) {
        long[] value = new long[1];
        ClCall.check(clGetDeviceInfo(device, param, Sizeof.cl_ulong, Pointer.to(value), null), "clGetDeviceInfo");
        return value[0];
    }

    private static long deviceSize(cl_device_id device, int param) {
        long[] value = new long[1];
        ClCall.check(clGetDeviceInfo(device, param, Sizeof.size_t, Pointer.to(value), null), "clGetDeviceInfo");
        return value[0];
    }

    private static int deviceInt(cl_device_id device, int param) {
        int[] value = new int[1];
        ClCall.check(clGetDeviceInfo(device, param, Sizeof.cl_uint, Pointer.to(value), null), "clGetDeviceInfo");
        return value[0];
    }

    private static String cString(byte[] bytes) {
        int end = 0;
        while (end < bytes.length && bytes[end] != 0) {
            end++;
        }
        return new String(bytes, 0, end, StandardCharsets.UTF_8).trim();
    }
}
