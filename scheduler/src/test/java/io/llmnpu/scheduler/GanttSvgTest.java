package io.llmnpu.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.DeviceKind;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class GanttSvgTest {

    private static Document parse(String svg) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        return f.newDocumentBuilder().parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void prefillChartIsWellFormedWithOneRectanglePerTask() throws Exception {
        PlatformProfile phone = new ProfileLoader().builtIn("snapdragon-8gen3-like");
        SyntheticGraphs.Shape5 shape = new SyntheticGraphs.Shape5(2048, 5504, 6, 16, 16, 151936);
        PrefillPlanner.Prefill prefill = new PrefillPlanner.Prefill(
                SyntheticGraphs.body(shape, 256, 512, l -> true, l -> l % 3 == 0), SyntheticGraphs.head(shape, 1),
                512, 256, 2, "test");
        Plan plan = new PrefillPlanner().compare(prefill, phone, List.of(new GreedyOutOfOrderPolicy())).plans().getFirst();
        Document doc = parse(plan.ganttSvg());
        assertEquals("svg", doc.getDocumentElement().getLocalName());
        NodeList rects = doc.getElementsByTagNameNS("http://www.w3.org/2000/svg", "rect");
        assertEquals(plan.dag().graph().size(), rects.getLength());
        Set<String> tooltips = new HashSet<>();
        for (int i = 0; i < rects.getLength(); i++) {
            Element rect = (Element) rects.item(i);
            String title = rect.getElementsByTagNameNS("http://www.w3.org/2000/svg", "title").item(0).getTextContent();
            assertTrue(title.contains(" chunk ") && title.contains(" layer ") && title.contains(" ms"), title);
            tooltips.add(title);
            double x = Double.parseDouble(rect.getAttribute("x"));
            double w = Double.parseDouble(rect.getAttribute("width"));
            assertTrue(x >= 0 && x + w <= 1200.5, "inside the chart: " + x + " + " + w);
        }
        assertEquals(rects.getLength(), tooltips.size(), "each task has its own tooltip");
        String header = doc.getElementsByTagNameNS("http://www.w3.org/2000/svg", "text").item(0).getTextContent();
        assertTrue(header.contains(String.format(java.util.Locale.ROOT, "makespan %.3f ms",
                plan.schedule().makespan() * 1e3)), header);
        assertTrue(header.contains("NPU bubble"), header);
    }

    @Test
    void rectanglesSitInTheirDevicesLaneAtTheirTime() throws Exception {
        List<Processor> devices = List.of(new Processor("a<&>", DeviceKind.NPU), new Processor("b\"'", DeviceKind.CPU));
        TaskGraph g = LowerBoundsTest.independent(2);
        CostTable costs = CostTable.of(devices, new double[][] {{0.004, Double.POSITIVE_INFINITY}, {Double.POSITIVE_INFINITY, 0.002}});
        Schedule s = new Simulator().run(g, costs, new GreedyOutOfOrderPolicy());
        Document doc = parse(new GanttSvg().render(s, "names & <escapes>"));
        NodeList rects = doc.getElementsByTagNameNS("http://www.w3.org/2000/svg", "rect");
        Element first = (Element) rects.item(0);
        Element second = (Element) rects.item(1);
        assertEquals(GanttSvg.LEFT, Double.parseDouble(first.getAttribute("x")), 1e-9, "starts at the left edge");
        assertEquals(1200 - GanttSvg.LEFT - 30, Double.parseDouble(first.getAttribute("width")), 0.01, "spans the makespan");
        assertEquals((1200 - GanttSvg.LEFT - 30) / 2.0, Double.parseDouble(second.getAttribute("width")), 0.01);
        assertTrue(Double.parseDouble(second.getAttribute("y")) > Double.parseDouble(first.getAttribute("y")));
        assertTrue(doc.getDocumentElement().getTextContent().contains("a<&>"));
        assertTrue(doc.getDocumentElement().getTextContent().contains("names & <escapes>"));
    }
}
