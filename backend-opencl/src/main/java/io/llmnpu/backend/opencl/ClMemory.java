package io.llmnpu.backend.opencl;

import static org.jocl.CL.*;

import io.llmnpu.api.backend.BackendException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.jocl.Pointer;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_mem;

/**
 * Device buffers and blocking copies between them and host memory segments. Transfers go through
 * {@link java.nio.ByteBuffer} views of the segment in slices under 1 GiB (a buffer view is limited
 * to 2 GiB, weights are not); heap segments are staged through native memory because JOCL can only
 * hand native addresses to the driver safely.
 */
final class ClMemory {
    private static final long SLICE = 1L << 30;

    private ClMemory() {
    }

    static cl_mem allocate(cl_context context, long bytes, String what) {
        int[] status = new int[1];
        cl_mem mem = clCreateBuffer(context, CL_MEM_READ_WRITE, Math.max(bytes, 4), null, status);
        if (status[0] != CL_SUCCESS) {
            throw new BackendException("cannot allocate " + bytes + " bytes of device memory for " + what + ": "
                    + stringFor_errorCode(status[0]));
        }
        return mem;
    }

    /** Copies {@code bytes} bytes from {@code host} (from its start) to {@code mem} at {@code deviceOffset}. */
    static void upload(cl_command_queue queue, MemorySegment host, cl_mem mem, long deviceOffset, long bytes) {
        if (!host.isNative()) {
            try (Arena staging = Arena.ofConfined()) {
                MemorySegment copy = staging.allocate(bytes, 64);
                MemorySegment.copy(host, 0, copy, 0, bytes);
                upload(queue, copy, mem, deviceOffset, bytes);
            }
            return;
        }
        for (long done = 0; done < bytes; done += SLICE) {
            long n = Math.min(SLICE, bytes - done);
            Pointer src = Pointer.to(host.asSlice(done, n).asByteBuffer());
            ClCall.check(clEnqueueWriteBuffer(queue, mem, CL_TRUE, deviceOffset + done, n, src, 0, null, null),
                    "clEnqueueWriteBuffer");
        }
    }

    /** Copies {@code bytes} bytes from {@code mem} at {@code deviceOffset} to the start of {@code host}. */
    static void download(cl_command_queue queue, cl_mem mem, long deviceOffset, MemorySegment host, long bytes) {
        if (!host.isNative()) {
            try (Arena staging = Arena.ofConfined()) {
                MemorySegment copy = staging.allocate(bytes, 64);
                download(queue, mem, deviceOffset, copy, bytes);
                MemorySegment.copy(copy, 0, host, 0, bytes);
            }
            return;
        }
        for (long done = 0; done < bytes; done += SLICE) {
            long n = Math.min(SLICE, bytes - done);
            Pointer dst = Pointer.to(host.asSlice(done, n).asByteBuffer());
            ClCall.check(clEnqueueReadBuffer(queue, mem, CL_TRUE, deviceOffset + done, n, dst, 0, null, null),
                    "clEnqueueReadBuffer");
        }
    }

    static void release(cl_mem mem) {
        if (mem != null) {
            clReleaseMemObject(mem);
        }
    }
}
