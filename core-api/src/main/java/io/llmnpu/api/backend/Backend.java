package io.llmnpu.api.backend;

import java.util.List;

/**
 * A family of devices that share a driver or kernel library (the CPU through the Vector API, a GPU
 * through OpenCL, an NPU through its SDK). Closing it stops its threads and frees what it holds.
 */
public interface Backend extends AutoCloseable {

    String name();

    List<Device> devices();

    @Override
    void close();
}
