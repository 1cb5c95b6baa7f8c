package io.llmnpu.backend.opencl;

import org.jocl.cl_kernel;

/** One command of a compiled graph, enqueued in order on the device's queue. */
sealed interface Step {

    /** A kernel launch; {@code local} null lets the driver choose the work-group size. */
    record Launch(cl_kernel kernel, String name, long[] global, long[] local) implements Step {
    }

    /** A device-side copy between the buffers of two values (SelectRow). */
    record Copy(int srcValue, long srcOffset, int dstValue, long dstOffset, long bytes) implements Step {
    }
}
