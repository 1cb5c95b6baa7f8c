package io.llmnpu.backend.cpu.bench;

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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The single-core FMA ceiling: twelve independent accumulator chains of register-only FMAs on the
 * preferred float species, enough chains to cover the FMA latency (4 cycles) on two FMA ports. No
 * memory is touched inside the loop, so {@code gflop} is the most any float kernel on one core can
 * reach; GEMM figures are quoted as a fraction of it.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class FmaPeakBenchmark {

    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final int STEPS = 10_000;
    private static final int CHAINS = 12;


    /** Fields, not constants, so that C2 cannot fold the chains away. */
    private float a = 0.999f;
    private float b = 1e-4f;

    @Benchmark
    public float fmaChains(FlopCounter counter) {
        FloatVector m = FloatVector.broadcast(FLOATS, a);
        FloatVector c = FloatVector.broadcast(FLOATS, b);
        FloatVector v0 = FloatVector.broadcast(FLOATS, 1f);
        FloatVector v1 = FloatVector.broadcast(FLOATS, 2f);
        FloatVector v2 = FloatVector.broadcast(FLOATS, 3f);
        FloatVector v3 = FloatVector.broadcast(FLOATS, 4f);
        FloatVector v4 = FloatVector.broadcast(FLOATS, 5f);
        FloatVector v5 = FloatVector.broadcast(FLOATS, 6f);
        FloatVector v6 = FloatVector.broadcast(FLOATS, 7f);
        FloatVector v7 = FloatVector.broadcast(FLOATS, 8f);
        FloatVector v8 = FloatVector.broadcast(FLOATS, 9f);
        FloatVector v9 = FloatVector.broadcast(FLOATS, 10f);
        FloatVector v10 = FloatVector.broadcast(FLOATS, 11f);
        FloatVector v11 = FloatVector.broadcast(FLOATS, 12f);
        for (int i = 0; i < STEPS; i++) {
            v0 = v0.fma(m, c);
            v1 = v1.fma(m, c);
            v2 = v2.fma(m, c);
            v3 = v3.fma(m, c);
            v4 = v4.fma(m, c);
            v5 = v5.fma(m, c);
            v6 = v6.fma(m, c);
            v7 = v7.fma(m, c);
            v8 = v8.fma(m, c);
            v9 = v9.fma(m, c);
            v10 = v10.fma(m, c);
            v11 = v11.fma(m, c);
        }
        counter.gflop += 2.0 * CHAINS * STEPS * FLOATS.length() / 1e9;
        return v0.add(v1).add(v2).add(v3).add(v4).add(v5).add(v6).add(v7).add(v8).add(v9).add(v10).add(v11)
                .reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
