package io.llmnpu.backend.cpu.onednn;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** Arithmetic done in an iteration; JMH reports it as a rate ("gops", billions of operations a second). */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.OPERATIONS)
public class GigaOps {

    /** Billions of operations (a multiply-add counts as two, whatever the data type). */
    public double gops;

    @Setup(Level.Iteration)
    public void reset() {
        gops = 0;
    }
}
