package io.llmnpu.tck;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.IntFunction;

/**
 * A stateless graph with one F32 input x [rows, width] and one F32 output [rows, outWidth], buildable
 * at any row count with the same weights. The contract checks (static shapes, concurrency, lifetime,
 * unplug) run on the first of several such graphs the device supports, so they apply to a device
 * that runs only a few ops.
 */
record ProbeGraph(String description, DType weightType, int width, int outWidth, IntFunction<Subgraph> atRows) {

    Subgraph build(int rows) {
        return atRows.apply(rows);
    }

    static Value input(Subgraph graph) {
        return graph.inputs().getFirst();
    }

    static Value output(Subgraph graph) {
        return graph.outputs().getFirst();
    }

    /**
     * The first probe every op of which {@code device} supports at {@code rows} rows: a chain of
     * RmsNorm, Add, SiluMul and Linear (the scratch-heavy one), then Linear alone in each weight type,
     * then single elementwise ops, then an INT8 QuantizedLinear (without requantization; its
     * {@link #weightType()} is {@code I8}). {@code width} must be a multiple of 32.
     */
    static Optional<ProbeGraph> firstSupported(Device device, RandomTensors data, int width, int outWidth, int rows) {
        for (ProbeGraph candidate : candidates(data, width, outWidth)) {
            boolean supported = true;
            for (Op op : candidate.build(rows).ops()) {
                Affinity a = device.affinity(op);
                supported &= a != null && a.isSupported();
            }
            if (supported) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    private static List<ProbeGraph> candidates(RandomTensors data, int width, int outWidth) {
        List<ProbeGraph> list = new ArrayList<>();
        Tensor norm = data.uniform("probe.norm", Shape.of(width), 1.5);
        Tensor f32Weight = data.weights("probe.weight", DType.F32, Shape.of(outWidth, width), 1.0 / Math.sqrt(width));
        list.add(new ProbeGraph("RmsNorm, Add, SiluMul, Linear F32", DType.F32, width, outWidth, rows -> {
            SubgraphBuilder g = new SubgraphBuilder("probe-chain-" + rows);
            Value x = g.input("x", DType.F32, Shape.of(rows, width));
            Value normed = g.value("normed", DType.F32, Shape.of(rows, width));
            Value sum = g.value("sum", DType.F32, Shape.of(rows, width));
            Value act = g.value("act", DType.F32, Shape.of(rows, width));
            Value y = g.value("y", DType.F32, Shape.of(rows, outWidth));
            g.add(new Op.RmsNorm(x, norm, 1e-5f, normed));
            g.add(new Op.Add(normed, x, sum));
            g.add(new Op.SiluMul(sum, x, act));
            g.add(new Op.Linear(act, f32Weight, y));
            g.output(y);
            return g.build();
        }));
        for (DType dtype : OpCases.WEIGHT_TYPES) {
            if (width % dtype.blockSize() != 0) {
                continue; // e.g. the 256-value k-quant blocks at a narrow probe width
            }
            Tensor weight = dtype == DType.F32 ? f32Weight
                    : data.weights("probe.weight." + dtype, dtype, Shape.of(outWidth, width), 1.0 / Math.sqrt(width));
            list.add(new ProbeGraph("Linear " + dtype, dtype, width, outWidth, rows -> {
                SubgraphBuilder g = new SubgraphBuilder("probe-linear-" + rows);
                Value x = g.input("x", DType.F32, Shape.of(rows, width));
                Value y = g.value("y", DType.F32, Shape.of(rows, outWidth));
                g.add(new Op.Linear(x, weight, y));
                g.output(y);
                return g.build();
            }));
        }
        list.add(elementwise("RmsNorm", width, (x, y) -> new Op.RmsNorm(x, norm, 1e-5f, y)));
        list.add(elementwise("Add", width, (x, y) -> new Op.Add(x, x, y)));
        list.add(elementwise("SiluMul", width, (x, y) -> new Op.SiluMul(x, x, y)));
        // last: the integer layer of an NPU, for devices that run no float op at all
        Int8Weights int8 = data.int8("probe.weight.int8", outWidth, width, true, 1.0 / (127 * Math.sqrt(width)));
        list.add(new ProbeGraph("QuantizedLinear per-channel", DType.I8, width, outWidth, rows -> {
            SubgraphBuilder g = new SubgraphBuilder("probe-quantized-linear-" + rows);
            Value x = g.input("x", DType.F32, Shape.of(rows, width));
            Value y = g.value("y", DType.F32, Shape.of(rows, outWidth));
            g.add(new Op.QuantizedLinear(x, int8, 1.5f / 127, y));
            g.output(y);
            return g.build();
        }));
        return list;
    }

    private interface UnaryOp {
        Op make(Value x, Value y);
    }

    private static ProbeGraph elementwise(String name, int width, UnaryOp op) {
        return new ProbeGraph(name, DType.F32, width, width, rows -> {
            SubgraphBuilder g = new SubgraphBuilder("probe-" + name + "-" + rows);
            Value x = g.input("x", DType.F32, Shape.of(rows, width));
            Value y = g.value("y", DType.F32, Shape.of(rows, width));
            g.add(op.make(x, y));
            g.output(y);
            return g.build();
        });
    }
}
