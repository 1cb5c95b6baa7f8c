package io.llmnpu.runtime.model.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Dequantizer;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.quant.BlockQuantizer;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufWriterRoundTripTest {
    @TempDir
    Path dir;

    @Test
    void everyMetadataTypeAndTensorTypeRoundTrips() throws IOException {
        Random random = new Random(42);
        float[] f32 = randomFloats(random, 3 * 64);
        float[] f16Values = randomFloats(random, 2 * 32);
        float[] q8Values = randomFloats(random, 4 * 64);
        float[] q4Values = randomFloats(random, 2 * 96);
        byte[] f16 = BlockQuantizer.toF16(f16Values);
        byte[] q8 = BlockQuantizer.quantizeQ8_0(q8Values);
        byte[] q4 = BlockQuantizer.quantizeQ4_0(q4Values);

        GgufWriter writer = new GgufWriter(64)
                .put("u8", GgufValueType.UINT8, 250)
                .put("i8", GgufValueType.INT8, -100)
                .put("u16", GgufValueType.UINT16, 65000)
                .put("i16", GgufValueType.INT16, -30000)
                .putUInt32("u32", 4_000_000_000L)
                .putInt32("i32", -2_000_000_000)
                .putUInt64("u64", -1L) // 2^64 - 1, read back as its two's-complement long
                .put("i64", GgufValueType.INT64, Long.MIN_VALUE)
                .putFloat32("f32", 3.25f)
                .put("f64", GgufValueType.FLOAT64, Math.PI)
                .putBool("yes", true)
                .putBool("no", false)
                .putString("text", "héllo ▁world")
                .putString("empty", "")
                .putArray("ints", GgufValueType.INT32, List.of(1, -2, 3))
                .putArray("u8s", GgufValueType.UINT8, List.of(0, 255))
                .putArray("floats", GgufValueType.FLOAT32, List.of(0.5f, -1.5f))
                .putArray("doubles", GgufValueType.FLOAT64, List.of(0.25))
                .putArray("bools", GgufValueType.BOOL, List.of(true, false))
                .putArray("strings", GgufValueType.STRING, List.of("a", "", "ü"))
                .putArray("nested", GgufValueType.ARRAY, List.of(
                        new GgufWriter.Array(GgufValueType.INT16, List.of(7, -7)),
                        new GgufWriter.Array(GgufValueType.STRING, List.of("x"))))
                .putArray("none", GgufValueType.UINT64, List.of())
                .addTensor("f32", Shape.of(3, 64), f32)
                .addTensor("f16", GgmlType.F16, Shape.of(2, 32), MemorySegment.ofArray(f16))
                .addTensor("q8", GgmlType.Q8_0, Shape.of(4, 64), MemorySegment.ofArray(q8))
                .addTensor("q4", GgmlType.Q4_0, Shape.of(2, 96), MemorySegment.ofArray(q4));
        Path file = dir.resolve("all.gguf");
        writer.write(file);

        try (Arena arena = Arena.ofConfined()) {
            GgufFile gguf = GgufFile.open(file, arena);
            assertEquals(3, gguf.version());
            assertEquals(64, gguf.alignment());
            Map<String, Object> md = gguf.metadata();
            assertEquals(List.of("general.alignment", "u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f64",
                    "yes", "no", "text", "empty", "ints", "u8s", "floats", "doubles", "bools", "strings", "nested", "none"),
                    List.copyOf(md.keySet()));
            assertEquals(250L, md.get("u8"));
            assertEquals(-100L, md.get("i8"));
            assertEquals(65000L, md.get("u16"));
            assertEquals(-30000L, md.get("i16"));
            assertEquals(4_000_000_000L, md.get("u32"));
            assertEquals(-2_000_000_000L, md.get("i32"));
            assertEquals(-1L, md.get("u64"));
            assertEquals(Long.MIN_VALUE, md.get("i64"));
            assertEquals(3.25f, md.get("f32"));
            assertEquals(Math.PI, md.get("f64"));
            assertEquals(true, md.get("yes"));
            assertEquals(false, md.get("no"));
            assertEquals("héllo ▁world", md.get("text"));
            assertEquals("", md.get("empty"));
            assertEquals(List.of(1L, -2L, 3L), md.get("ints"));
            assertEquals(List.of(0L, 255L), md.get("u8s"));
            assertEquals(List.of(0.5f, -1.5f), md.get("floats"));
            assertEquals(List.of(0.25), md.get("doubles"));
            assertEquals(List.of(true, false), md.get("bools"));
            assertEquals(List.of("a", "", "ü"), md.get("strings"));
            assertEquals(List.of(List.of(7L, -7L), List.of("x")), md.get("nested"));
            assertEquals(List.of(), md.get("none"));
            assertInstanceOf(Long.class, gguf.getList("ints").get(0));
            assertEquals(-2_000_000_000, gguf.getInt("i32"));
            assertArrayEquals(new int[] {1, -2, 3}, gguf.getIntArray("ints"));
            assertArrayEquals(new float[] {0.5f, -1.5f}, gguf.getFloatArray("floats"));

            for (GgufTensorInfo info : gguf.tensorInfos()) {
                assertEquals(0, info.offset() % 64, info.name());
            }
            Tensor t32 = gguf.tensor("f32");
            assertEquals(Shape.of(3, 64), t32.shape());
            assertArrayEquals(f32, t32.toFloatArray());
            assertBytes(f16, gguf.tensor("f16"), DType.F16, Shape.of(2, 32));
            assertBytes(q8, gguf.tensor("q8"), DType.Q8_0, Shape.of(4, 64));
            assertBytes(q4, gguf.tensor("q4"), DType.Q4_0, Shape.of(2, 96));
            float[] q8Back = Dequantizer.dequantize(DType.Q8_0, gguf.tensor("q8").data(), q8Values.length);
            for (int i = 0; i < q8Values.length; i++) {
                assertEquals(q8Values[i], q8Back[i], 0.05f, "q8 value " + i);
            }
        }
    }

    @Test
    void emptyFileWithoutTensorsRoundTrips() throws IOException {
        Path file = dir.resolve("empty.gguf");
        new GgufWriter().write(file);
        try (Arena arena = Arena.ofConfined()) {
            GgufFile gguf = GgufFile.open(file, arena);
            assertEquals(0, gguf.metadata().size());
            assertEquals(0, gguf.tensorInfos().size());
            assertEquals(32, gguf.alignment());
        }
    }

    private static void assertBytes(byte[] expected, Tensor tensor, DType dtype, Shape shape) {
        assertEquals(dtype, tensor.dtype());
        assertEquals(shape, tensor.shape());
        assertArrayEquals(expected, tensor.data().asSlice(0, tensor.byteSize()).toArray(ValueLayout.JAVA_BYTE), tensor.name());
    }

    private static float[] randomFloats(Random random, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) random.nextGaussian();
        }
        return out;
    }
}
