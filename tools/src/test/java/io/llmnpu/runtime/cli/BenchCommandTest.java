package io.llmnpu.runtime.cli;

import io.llmnpu.runtime.quant.QuantRecipe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.model.SharedModels;
import io.llmnpu.runtime.model.gguf.GgmlType;
import io.llmnpu.runtime.quant.Json;
import io.llmnpu.runtime.synth.ModelShapes;
import io.llmnpu.runtime.synth.SyntheticModels;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/** {@code llmnpu bench} end to end: the table on stdout, and well-formed JSON and SVG in the output folder. */
class BenchCommandTest {
    private static final Pattern ROW = Pattern.compile("\\|\\s*([^|]+?)\\s*\\|\\s*(\\w+)\\s*\\|.*\\|\\s*(pp\\d+|tg\\d+)\\s*\\|\\s*([0-9.]+) ± ([0-9.]+)\\s*\\|\\s*(-|[0-9.]+%)\\s*\\|");

    @TempDir
    Path dir;

    record Run(int exitCode, String out, String err) {
    }

    static Run cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(code, out.toString(), err.toString());
    }

    /**
     * A TinyLlama-1.1B-shaped Q8_0 model (1.1 GiB, written to a temporary folder and deleted after).
     * The prompt is 64 tokens rather than 256 to keep the test within a few minutes on two busy cores
     * with the current CPU kernels.
     */
    @Test
    void benchOnTinyLlamaShapedQ8_0Model() throws Exception {
        Path model = SyntheticModels.write(dir, "tinyllama-q8_0.gguf", ModelShapes.byName("tinyllama-1.1b"), QuantRecipe.Q8_0, 42);
        Path results = dir.resolve("results");
        Run run = cli("bench", "-m", model.toString(), "-p", "64", "-n", "16", "-r", "1", "-t", "2", "-o", results.toString());
        assertEquals(0, run.exitCode(), run.err());

        List<String[]> rows = tableRows(run.out());
        assertEquals(2, rows.size(), run.out());
        assertEquals(List.of("tinyllama-1.1b", "Q8_0", "pp64"), List.of(rows.get(0)[0], rows.get(0)[1], rows.get(0)[2]));
        assertEquals("tg16", rows.get(1)[2]);
        for (String[] row : rows) {
            assertTrue(Double.parseDouble(row[3]) > 0, "tokens/s of " + row[2]);
        }
        assertTrue(run.out().contains("1.09 GiB") && run.out().contains("1.10 B"), run.out());
        assertTrue(run.err().contains("warm-up") && run.err().contains("run 1/1"), "progress on stderr: " + run.err());

        Map<String, Object> json = onlyJson(results);
        List<Map<String, Object>> list = results(json);
        assertEquals(2, list.size());
        Map<String, Object> pp = list.get(0);
        assertEquals("pp64", pp.get("test"));
        assertEquals(64.0, pp.get("n_prompt"));
        assertEquals(1_100_048_384.0, pp.get("model_n_params"));
        assertEquals("Q8_0", pp.get("model_type"));
        assertEquals(2.0, pp.get("n_threads"));
        double avgNs = (Double) pp.get("avg_ns");
        assertEquals(64e9 / avgNs, (Double) pp.get("avg_ts"), 1e-3 * (Double) pp.get("avg_ts"));
        assertEquals(1, ((List<?>) pp.get("samples_ns")).size());
        // Independent estimate: two FLOPs per weight of the 22 blocks for each of the 64 tokens, plus the
        // LM head once; attention over 64 positions adds well under 1%.
        double blockWeights = 1_100_048_384.0 - 2 * 32000.0 * 2048 - 2048 - 22 * 2 * 2048;
        double estimate = 2 * blockWeights * 64 + 2 * 2048.0 * 32000;
        double flops = (Double) pp.get("flops_per_run");
        assertEquals(estimate, flops, 0.01 * estimate);
        assertEquals(flops / avgNs, (Double) pp.get("avg_gflops"), 1e-3 * flops / avgNs);
        Map<String, Object> tg = list.get(1);
        assertEquals("tg16", tg.get("test"));
        assertEquals(16.0, tg.get("n_gen"));
        assertEquals(0.0, tg.get("n_chunk"));
        // The decode row against the bandwidth bound: every weight once per token (the embedding table but
        // one row of it), plus F32 keys and values of 22 layers x 256 columns at 8.5 positions on average.
        Map<?, ?> bandwidth = (Map<?, ?>) ((List<?>) json.get("read_bandwidth")).getFirst();
        assertEquals(2.0, bandwidth.get("n_threads"));
        double bytesPerSecond = (Double) bandwidth.get("bytes_per_s");
        assertTrue(bytesPerSecond > 1e8, "measured bandwidth " + bytesPerSecond);
        double tokenBytes = 1_169_072_128.0 - 32000 * 2176.0 + 2176 + 2 * 22 * 256 * 4 * 8.5;
        assertEquals(tokenBytes, (Double) tg.get("bytes_per_token"), 0.01 * tokenBytes);
        assertEquals(bytesPerSecond / tokenBytes, (Double) tg.get("bound_ts"), 0.01 * bytesPerSecond / tokenBytes);
        double percent = 100 * (Double) tg.get("avg_ts") / (Double) tg.get("bound_ts");
        assertEquals(percent, (Double) tg.get("pct_of_bound"), 1e-4 * percent);
        assertTrue(!pp.containsKey("bound_ts"), "no bound for prefill");
        assertTrue(rows.get(0)[5].equals("-") && rows.get(1)[5].endsWith("%"), run.out());
        assertTrue(run.out().contains("memory read bandwidth, 2 threads"), run.out());

        Map<?, ?> memory = (Map<?, ?>) ((List<?>) json.get("memory")).getFirst();
        double rss = (Double) memory.get("peak_rss_bytes");
        assertTrue(rss < 0 || rss > 1_169_072_128.0, "the paged-in weights count in the resident peak: " + rss);
        assertTrue((Double) memory.get("peak_heap_bytes") > 0);
        // After the tests every linear weight lives in the CPU kernels' own layout: the file's pages of all
        // but the embedding rows the prompts looked up must have left the resident set, else the weights
        // would be resident twice.
        Map<?, ?> atEnd = (Map<?, ?>) memory.get("resident_at_end");
        double modelFile = (Double) atEnd.get("model_file_bytes");
        assertTrue(modelFile < 0.1 * 1_169_072_128.0, "model file pages still resident: " + modelFile);
        assertTrue(modelFile < 0 || (Double) atEnd.get("anonymous_bytes") > 0.9 * 1_169_072_128.0,
                "the weights' copies are anonymous memory: " + atEnd);
        assertTrue(run.out().contains("resident after the last test: anonymous"), run.out());

        Document svg = onlySvg(results);
        assertEquals(2, elementsWithClass(svg, "rect", "bar"), "one bar per result");
        assertEquals(2, elementsWithClass(svg, "g", "panel"), "one panel per test");
    }

    /** A grid of 2 thread counts x 2 chunk sizes x 2 prompt sizes, plus one decode test per thread count. */
    @Test
    void gridOfThreadsChunksAndPromptSizes() throws Exception {
        Path model = SharedModels.file("stories260K.gguf");
        Path results = dir.resolve("grid");
        Run run = cli("bench", "-m", model.toString(), "-p", "16,40", "-n", "4", "-r", "2", "-t", "1,2",
                "--chunk", "16,32", "-o", results.toString(), "--no-warmup");
        assertEquals(0, run.exitCode(), run.err());
        assertEquals(10, tableRows(run.out()).size(), run.out());
        assertTrue(!run.err().contains("warm-up"));

        List<Map<String, Object>> list = results(onlyJson(results));
        Set<String> configurations = new HashSet<>();
        for (Map<String, Object> r : list) {
            assertEquals(2, ((List<?>) r.get("samples_ts")).size());
            assertTrue((Double) r.get("stddev_ts") >= 0);
            configurations.add(r.get("n_threads") + "/" + r.get("n_chunk") + "/" + r.get("test"));
        }
        assertEquals(Set.of("1.0/16.0/pp16", "1.0/16.0/pp40", "1.0/32.0/pp16", "1.0/32.0/pp40", "1.0/0.0/tg4",
                "2.0/16.0/pp16", "2.0/16.0/pp40", "2.0/32.0/pp16", "2.0/32.0/pp40", "2.0/0.0/tg4"), configurations);
        Document svg = onlySvg(results);
        assertEquals(10, elementsWithClass(svg, "rect", "bar"));
        assertEquals(3, elementsWithClass(svg, "g", "panel"));
    }

    @Test
    void badArgumentsGiveClearErrors() {
        Run tooLong = cli("bench", "-m", SharedModels.file("stories260K.gguf").toString(), "-p", "5000", "-n", "0",
                "-o", dir.toString());
        assertEquals(1, tooLong.exitCode());
        assertTrue(tooLong.err().contains("positions") && tooLong.err().contains("5000"), tooLong.err());
        Run nothing = cli("bench", "-m", SharedModels.file("stories260K.gguf").toString(), "-p", "0", "-n", "0");
        assertEquals(1, nothing.exitCode());
        assertTrue(nothing.err().contains("nothing to measure"), nothing.err());
    }

    @Test
    void synthAndQuantizeFromTheCommandLine() throws IOException {
        Path f16 = dir.resolve("stories-f16.gguf");
        Run synth = cli("synth", "--shape", "stories260k", "--type", "f16", "--seed", "3", f16.toString());
        assertEquals(0, synth.exitCode(), synth.err());
        assertTrue(synth.out().contains("stories260k F16") && synth.out().contains("292.8 K parameters"), synth.out());

        Path q8 = dir.resolve("stories-q8.gguf");
        Run quantize = cli("quantize", f16.toString(), q8.toString(), "--type", "q8_0");
        assertEquals(0, quantize.exitCode(), quantize.err());
        assertTrue(quantize.out().contains("32 matrices converted (32 Q8_0)"), quantize.out());
        assertTrue(quantize.out().contains("5 matrices kept") && quantize.out().contains("blk.4.ffn_down.weight"), quantize.out());
        assertTrue(Files.size(q8) < Files.size(f16));

        Run refused = cli("synth", "--shape", "stories260k", "--type", "q8_0", dir.resolve("x.gguf").toString());
        assertEquals(1, refused.exitCode());
        assertTrue(refused.err().contains("--ffn 192"), refused.err());
        Run custom = cli("synth", "--shape", "stories260k", "--ffn", "192", "--layers", "2", "--type", "q4_0",
                dir.resolve("custom.gguf").toString());
        assertEquals(0, custom.exitCode(), custom.err());
        assertTrue(custom.out().contains("stories260k-custom Q4_0"), custom.out());
        Run badType = cli("quantize", f16.toString(), q8.toString(), "--type", "q7_k");
        assertEquals(1, badType.exitCode());
        assertTrue(badType.err().contains("f32, f16, q8_0, q4_0") && badType.err().contains("q4_k_m"), badType.err());
        Run list = cli("synth", "--list-shapes");
        assertTrue(list.out().contains("tinyllama-1.1b") && list.out().contains("llama2-7b") && list.out().contains("qwen1.5-1.8b"));
    }

    @Test
    void helpTextsDescribeTheCommands() {
        String synth = cli("synth", "--help").out();
        assertTrue(synth.contains("--shape") && synth.contains("--type") && synth.contains("qwen1.5-1.8b"), synth);
        String quantize = cli("quantize", "--help").out();
        assertTrue(quantize.contains("--type") && quantize.contains("general.file_type"), quantize);
        String bench = cli("bench", "--help").out();
        assertTrue(bench.contains("--n-prompt") && bench.contains("--chunk") && bench.contains("SVG"), bench);
        String main = cli("--help").out();
        assertTrue(main.contains("synth") && main.contains("quantize") && main.contains("bench"), main);
    }

    /**
     * The JSON has every field of a report written by the hand-made writer Jackson replaced (the same
     * bench on stories260K), with the same types, so scripts that read bench results keep working; the
     * only fields added since are the resident set by kind after a model's last test.
     */
    @Test
    void jsonHasTheFieldsOfAReportWrittenBeforeJackson() throws Exception {
        Path model = SharedModels.file("stories260K.gguf");
        Path results = dir.resolve("fields");
        Run run = cli("bench", "-m", model.toString(), "-p", "16", "-n", "4", "-r", "2", "--no-warmup",
                "-o", results.toString());
        assertEquals(0, run.exitCode(), run.err());
        Path old = Path.of(getClass().getResource("/io/llmnpu/runtime/bench/before-jackson/bench-stories260K.json").toURI());
        java.util.SortedSet<String> before = fieldPaths(Json.parse(Files.readString(old)), "");
        java.util.SortedSet<String> now = fieldPaths(onlyJson(results), "");
        assertTrue(now.containsAll(before), "fields gone: " + before.stream().filter(f -> !now.contains(f)).toList());
        String number = before.stream().filter(f -> f.startsWith(".memory[].peak_rss_bytes:")).findFirst().orElseThrow()
                .substring(".memory[].peak_rss_bytes".length());
        java.util.SortedSet<String> added = new java.util.TreeSet<>(now);
        added.removeAll(before);
        assertEquals(java.util.stream.Stream.of("anonymous_bytes", "file_bytes", "heap_committed_bytes", "model_file_bytes")
                .map(f -> ".memory[].resident_at_end." + f + number).collect(java.util.stream.Collectors.toCollection(java.util.TreeSet::new)),
                added);
    }

    /** Every field's path ({@code results[].avg_ts}) with the JSON type of its value. */
    private static java.util.SortedSet<String> fieldPaths(Object v, String path) {
        java.util.SortedSet<String> out = new java.util.TreeSet<>();
        if (v instanceof Map<?, ?> m) {
            m.forEach((k, x) -> out.addAll(fieldPaths(x, path + "." + k)));
        } else if (v instanceof List<?> l) {
            l.forEach(x -> out.addAll(fieldPaths(x, path + "[]")));
        } else {
            out.add(path + ":" + (v == null ? "null" : v.getClass().getSimpleName()));
        }
        return out;
    }

    /** Cells model, type, test, mean, stddev and % of the bandwidth bound of each table row. */
    private static List<String[]> tableRows(String out) {
        return out.lines().map(ROW::matcher).filter(Matcher::matches)
                .map(m -> new String[] {m.group(1), m.group(2), m.group(3), m.group(4), m.group(5), m.group(6)}).toList();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> onlyJson(Path folder) throws IOException {
        Path json = only(folder, ".json");
        return (Map<String, Object>) Json.parse(Files.readString(json));
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> results(Map<String, Object> json) {
        return (List<Map<String, Object>>) json.get("results");
    }

    private static Document onlySvg(Path folder) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        Document doc = f.newDocumentBuilder().parse(new InputSource(new StringReader(Files.readString(only(folder, ".svg")))));
        Element root = doc.getDocumentElement();
        assertEquals("svg", root.getLocalName());
        assertEquals("http://www.w3.org/2000/svg", root.getNamespaceURI());
        return doc;
    }

    private static int elementsWithClass(Document doc, String tag, String cls) {
        NodeList nodes = doc.getElementsByTagNameNS("http://www.w3.org/2000/svg", tag);
        int n = 0;
        for (int i = 0; i < nodes.getLength(); i++) {
            Element e = (Element) nodes.item(i);
            if (cls.equals(e.getAttribute("class"))) {
                n++;
                if (tag.equals("rect")) {
                    assertTrue(Double.parseDouble(e.getAttribute("width")) > 0, "bars have a width");
                }
            }
        }
        return n;
    }

    private static Path only(Path folder, String suffix) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            List<Path> found = files.filter(p -> p.toString().endsWith(suffix)).toList();
            assertEquals(1, found.size(), "one " + suffix + " file in " + folder + ": " + found);
            return found.getFirst();
        }
    }
}
