package io.llmnpu.backend.opencl;

import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/** One device found by {@link OpenClDiscovery}, with the platform that exposes it. */
record ClDeviceHandle(cl_platform_id platform, cl_device_id device, ClDeviceInfo info) {
}
