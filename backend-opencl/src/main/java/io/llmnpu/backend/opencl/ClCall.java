package io.llmnpu.backend.opencl;

import io.llmnpu.api.backend.BackendException;
import org.jocl.CL;

/** Turns OpenCL status codes into {@link BackendException}s that name the call and the error. */
final class ClCall {
    private ClCall() {
    }

    static void check(int status, String what) {
        if (status != CL.CL_SUCCESS) {
            throw failure(status, what);
        }
    }

    static BackendException failure(int status, String what) {
        return new BackendException("OpenCL " + what + " failed: " + CL.stringFor_errorCode(status) + " (" + status + ")");
    }
}
