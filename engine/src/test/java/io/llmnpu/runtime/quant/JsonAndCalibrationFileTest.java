package io.llmnpu.runtime.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonAndCalibrationFileTest {

    @TempDir
    Path dir;

    @Test
    void jsonRoundTripsValuesAndEscapes() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("text", "a \"quoted\"\n\ttab \\ and \u0001 control");
        m.put("float", 0.1f);
        m.put("double", 1e-300);
        m.put("long", Long.MAX_VALUE / 3);
        m.put("list", List.of(1, 2.5, "x", true));
        m.put("nested", Map.of("empty", List.of(), "nothing", Map.of()));
        m.put("null", null);
        Object back = Json.parse(Json.write(m));
        Map<?, ?> b = (Map<?, ?>) back;
        assertEquals(m.get("text"), b.get("text"));
        assertEquals(0.1f, ((Number) b.get("float")).floatValue());
        assertEquals(1e-300, ((Number) b.get("double")).doubleValue());
        assertEquals((double) (Long.MAX_VALUE / 3), ((Number) b.get("long")).doubleValue());
        assertEquals(List.of(1.0, 2.5, "x", true), b.get("list"));
        assertTrue(b.containsKey("null") && b.get("null") == null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.parse("{\n\"a\": [1, 2,]}"));
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
    }

    /**
     * A calibration file written by the hand-made JSON code this class replaced reads to the same data,
     * and written again holds the same document (same fields, same values; only spacing may differ).
     */
    @Test
    void fileWrittenBeforeJacksonReadsAndWritesTheSameDocument() throws Exception {
        Path old = Path.of(getClass().getResource("before-jackson/stories260K.calib.json").toURI());
        CalibrationData data = CalibrationFile.read(old);
        assertEquals("stories260K.gguf", data.model());
        assertEquals(64, data.dim());
        assertEquals(1353, data.tokens());
        assertEquals(5, data.layers().size());
        assertEquals(5.392192f, data.site(0, LinearSite.values()[0]).absMax());
        Path again = dir.resolve("again.calib.json");
        CalibrationFile.write(data, again);
        assertEquals(Json.parse(Files.readString(old)), Json.parse(Files.readString(again)));
    }

    @Test
    void calibrationFileRoundTrips() throws IOException {
        Random rnd = new Random(3);
        List<CalibrationData.Layer> layers = new java.util.ArrayList<>();
        for (int l = 0; l < 3; l++) {
            Map<LinearSite, SiteCalibration> sites = new EnumMap<>(LinearSite.class);
            for (LinearSite s : LinearSite.values()) {
                float clip = 1 + rnd.nextFloat();
                sites.put(s, new SiteCalibration(1000 + l, clip * (2 + rnd.nextFloat()), clip, 7,
                        new int[] {3, 11}, List.of(new SiteCalibration.ChannelOutliers(3, 4, 9.5f),
                                new SiteCalibration.ChannelOutliers(11, 2, 5f),
                                new SiteCalibration.ChannelOutliers(1, 1, 2.25f))));
            }
            Map<LinearLayer, Float> outputs = new EnumMap<>(LinearLayer.class);
            for (LinearLayer ll : LinearLayer.values()) {
                outputs.put(ll, rnd.nextFloat() * 10);
            }
            layers.add(new CalibrationData.Layer(sites, outputs));
        }
        CalibrationData data = new CalibrationData("m.gguf", 12345, 64, "calib.txt", 9, 4321, 99.9, layers);
        Path file = CalibrationFile.sidecarOf(dir.resolve("m.gguf"));
        assertEquals("m.gguf.calib.json", file.getFileName().toString());
        CalibrationFile.write(data, file);
        CalibrationData back = CalibrationFile.read(file);
        assertEquals(data.model(), back.model());
        assertEquals(data.tokens(), back.tokens());
        assertEquals(data.percentile(), back.percentile());
        for (int l = 0; l < 3; l++) {
            for (LinearSite s : LinearSite.values()) {
                SiteCalibration a = data.site(l, s);
                SiteCalibration b = back.site(l, s);
                assertEquals(a.absMax(), b.absMax());
                assertEquals(a.clipValue(), b.clipValue());
                assertEquals(a.clipScale(), b.clipScale());
                assertArrayEquals(a.hotChannels(), b.hotChannels());
                assertEquals(a.channels(), b.channels());
                assertEquals(a.outliers(), b.outliers());
            }
            assertEquals(data.layers().get(l).outputAbsMax(), back.layers().get(l).outputAbsMax());
        }
        Files.writeString(file, "{\"format\": \"something-else\"}");
        assertThrows(IOException.class, () -> CalibrationFile.read(file));
    }

    @Test
    void damagedCalibrationFilesAreRefusedNamingTheFile() throws IOException {
        Map<LinearSite, SiteCalibration> sites = new EnumMap<>(LinearSite.class);
        for (LinearSite s : LinearSite.values()) {
            sites.put(s, new SiteCalibration(100, 4f, 2f, 3, new int[] {5}, List.of(new SiteCalibration.ChannelOutliers(5, 3, 4f))));
        }
        CalibrationData data = new CalibrationData("m.gguf", 1, 8, "t.txt", 1, 100, 99.9,
                List.of(new CalibrationData.Layer(sites, Map.of())));
        Path file = dir.resolve("m.calib.json");
        CalibrationFile.write(data, file);
        String good = Files.readString(file);
        Map<String, String> damages = new LinkedHashMap<>();
        damages.put("a negative hot channel", good.replaceFirst("\"hot_channels\": \\[\\s*5", "\"hot_channels\": [-5"));
        damages.put("a negative range", good.replaceFirst("\"absmax\": 4", "\"absmax\": -4"));
        damages.put("more outliers than values", good.replaceFirst("\"outliers\": 3", "\"outliers\": 300"));
        for (Map.Entry<String, String> d : damages.entrySet()) {
            assertTrue(!d.getValue().equals(good), "the damage '" + d.getKey() + "' was not applied");
            Files.writeString(file, d.getValue());
            IOException e = assertThrows(IOException.class, () -> CalibrationFile.read(file), d.getKey());
            assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        }
        // Latin-1 text where UTF-8 belongs: the message names the file and the byte, not "Input length = 1".
        Files.write(file, new byte[] {'{', '"', 'm', (byte) 0xE9, '"', '}'});
        IOException e = assertThrows(IOException.class, () -> CalibrationFile.read(file));
        assertTrue(e.getMessage().contains(file + " is not UTF-8 text: invalid byte 0xE9 at offset 3"), e.getMessage());
    }

    @Test
    void paragraphsGroupUpToTheCharacterLimit() {
        String text = "aaa\n\nbbbb\n\n\ncc\n \nddddddddddddd\n\ne\n";
        ParagraphChunker chunker = new ParagraphChunker(10, 500);
        assertEquals(List.of("aaa", "bbbb", "cc", "ddddddddddddd", "e"), ParagraphChunker.paragraphs(text));
        assertEquals(List.of("aaa\nbbbb", "cc", "ddddddddddddd", "e"), chunker.groups(text));
    }
}
