package io.llmnpu.backend.cpu.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Sequential read bandwidth from DRAM: vector loads summed over an off-heap buffer far larger than
 * the caches, split evenly over {@code threads} threads. Decode reads every weight once per token,
 * so this figure bounds decode speed; {@link MatvecBenchmark} is quoted as a fraction of it.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class MemoryBandwidthBenchmark {

    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;

    @Param({"1", "2"})
    public int threads;

    @Param({"1024"})
    public int bufferMiB;


    private Arena arena;
    private MemorySegment buffer;
    private ExecutorService pool;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        buffer = arena.allocate((long) bufferMiB << 20, 64);
        for (long i = 0; i < buffer.byteSize(); i += 4096) {
            buffer.set(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, 1f);
        }
        pool = Executors.newFixedThreadPool(threads);
    }

    @Benchmark
    public float read(ByteCounter counter) throws InterruptedException, ExecutionException {
        long bytes = buffer.byteSize();
        long share = bytes / threads / 4096 * 4096;
        List<Future<Float>> parts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            MemorySegment slice = buffer.asSlice(t * share, t == threads - 1 ? bytes - t * share : share);
            parts.add(pool.submit(() -> sum(slice)));
        }
        float total = 0;
        for (Future<Float> f : parts) {
            total += f.get();
        }
        counter.gbytes += bytes / 1e9;
        return total;
    }

    /** Four accumulators so the loop is bound by loads, not by the add latency. */
    private static float sum(MemorySegment s) {
        FloatVector a0 = FloatVector.zero(FLOATS);
        FloatVector a1 = FloatVector.zero(FLOATS);
        FloatVector a2 = FloatVector.zero(FLOATS);
        FloatVector a3 = FloatVector.zero(FLOATS);
        long step = FLOATS.vectorByteSize();
        long end = s.byteSize() - 4 * step + 1;
        for (long o = 0; o < end; o += 4 * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(FLOATS, s, o, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(FLOATS, s, o + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(FLOATS, s, o + 2 * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(FLOATS, s, o + 3 * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.shutdownNow();
        arena.close();
    }
}
