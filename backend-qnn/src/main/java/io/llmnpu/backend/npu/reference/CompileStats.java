package io.llmnpu.backend.npu.reference;

/**
 * What compiling has cost a reference NPU backend so far.
 *
 * @param layersPacked    linear layers whose weights were packed from scratch
 * @param layersFromCache linear layers whose packed form came from the disk cache
 * @param graphsCompiled  graphs compiled
 * @param packNanos       time spent packing
 * @param loadNanos       time spent loading packed layers from the cache
 */
public record CompileStats(long layersPacked, long layersFromCache, long graphsCompiled, long packNanos,
                           long loadNanos) {
}
