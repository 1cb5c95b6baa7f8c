package io.llmnpu.charts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.util.Random;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.xml.sax.InputSource;

class SvgDocumentTest {

    private static Document parse(String svg) throws Exception {
        return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(new InputSource(new StringReader(svg)));
    }

    @Test
    void hostileLabelsStayText() throws Exception {
        String hostile = "<script>alert('x')</script> & \"quoted\" \u0001\u0007 é";
        SvgDocument svg = new SvgDocument(200, 100).background("white")
                .text(10, 20, hostile, "font-weight", hostile)
                .rect(hostile, 1, 2, 3.25, 4, "fill", "#123456", "class", "bar")
                .colouredText(5, 6, new Object[] {hostile, null, "b", "#f00"});
        Document doc = parse(svg.toString());
        Element text = (Element) doc.getElementsByTagName("text").item(0);
        assertEquals(hostile.replace('\u0001', ' ').replace('\u0007', ' '), text.getTextContent());
        assertEquals(0, doc.getElementsByTagName("script").getLength());
        Element bar = (Element) doc.getElementsByTagName("rect").item(1);
        assertEquals("3.25", bar.getAttribute("width"));
        assertEquals("bar", bar.getAttribute("class"));
        assertTrue(bar.getElementsByTagName("title").item(0).getTextContent().startsWith("<script>"));
        assertEquals("#f00", ((Element) doc.getElementsByTagName("tspan").item(0)).getAttribute("fill"));
    }

    @Test
    void randomTextAlwaysGivesWellFormedXml() throws Exception {
        Random rnd = new Random(17);
        for (int i = 0; i < 200; i++) {
            StringBuilder s = new StringBuilder();
            for (int j = 0; j < 30; j++) {
                s.append((char) rnd.nextInt(0x80));
            }
            String label = s.toString();
            Document doc = parse(new SvgDocument(10, 10).group("id", label).text(0, 0, label).endGroup().toString());
            assertEquals(1, doc.getElementsByTagName("g").getLength(), label);
        }
    }

    @Test
    void emptyDocumentIsWellFormedAndHasItsSize() throws Exception {
        Element root = parse(new SvgDocument(320, 200).toString()).getDocumentElement();
        assertEquals("svg", root.getTagName());
        assertEquals("320", root.getAttribute("width"));
        assertEquals("0 0 320 200", root.getAttribute("viewBox"));
    }

    @Test
    void misuseIsRefused() {
        assertThrows(IllegalStateException.class, () -> new SvgDocument(1, 1).group().toString());
        assertThrows(IllegalStateException.class, () -> new SvgDocument(1, 1).endGroup());
        assertThrows(IllegalArgumentException.class, () -> new SvgDocument(1, 1).line(0, 0, 1, 1, "stroke"));
        SvgDocument done = new SvgDocument(1, 1);
        String text = done.toString();
        assertEquals(text, done.toString(), "finishing twice gives the same document");
        assertThrows(IllegalStateException.class, () -> done.line(0, 0, 1, 1));
    }
}
