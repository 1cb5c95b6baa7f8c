/**
 * Reserved for the Qualcomm QNN HTP binding: graphs of INT8 linear layers handed to the QNN runtime
 * through FFM ({@code SymbolLookup.libraryLookup} on {@code libQnnHtp.so}), active only where the QNN
 * SDK libraries exist. It will implement the same SPI and the same op rules as the reference NPU in
 * {@code io.llmnpu.backend.npu.reference}, whose tests double as its conformance checks.
 */
package io.llmnpu.backend.qnn;
