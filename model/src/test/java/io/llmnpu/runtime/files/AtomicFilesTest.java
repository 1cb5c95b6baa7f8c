package io.llmnpu.runtime.files;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.tensor.Shape;
import io.llmnpu.runtime.model.gguf.GgmlType;
import io.llmnpu.runtime.model.gguf.GgufWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Result files are replaced only when the new content is complete, and failures name the file. */
class AtomicFilesTest {
    @TempDir
    Path dir;

    private List<Path> folderContent() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.sorted().toList();
        }
    }

    @Test
    void aFailedWriteKeepsTheOldFileAndLeavesNoTemporaryFile() throws IOException {
        Path target = Files.writeString(dir.resolve("report.json"), "{\"old\": true}");
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(target, out -> {
            out.write(ByteBuffer.wrap("{\"new\": ".getBytes(StandardCharsets.UTF_8)));
            throw new IOException("File too large");
        }));
        assertEquals("cannot write " + target + ": File too large (the existing file is unchanged)", e.getMessage());
        assertEquals("{\"old\": true}", Files.readString(target));
        assertEquals(List.of(target), folderContent(), "a temporary file was left behind");
    }

    @Test
    void aCompleteWriteReplacesTheFile() throws IOException {
        Path target = Files.writeString(dir.resolve("chart.svg"), "old");
        AtomicFiles.writeString(target, "<svg>é</svg>");
        assertEquals("<svg>é</svg>", Files.readString(target));
        Path fresh = dir.resolve("new.json");
        AtomicFiles.writeString(fresh, "{}");
        assertEquals(List.of(target, fresh), folderContent());
    }

    /** A new file gets the permissions any new file gets here (not owner-only); a replaced one keeps its own. */
    @Test
    void filesGetUsualPermissionsAndReplacedFilesKeepTheirs() throws IOException {
        Path plain = Files.createFile(dir.resolve("plain"));
        Path fresh = dir.resolve("model.gguf");
        AtomicFiles.writeString(fresh, "x");
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(fresh));
        Path kept = Files.writeString(dir.resolve("calib.json"), "old");
        Files.setPosixFilePermissions(kept, PosixFilePermissions.fromString("rw-r-----"));
        AtomicFiles.writeString(kept, "new");
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(kept)));
    }

    /** A model write that fails half-way (here a tensor source; in real life a full disk or ulimit -f). */
    @Test
    void aModelWriteThatFailsHalfWayKeepsTheExistingModel() throws IOException {
        Path model = dir.resolve("model.gguf");
        new GgufWriter().putString("general.name", "old").addTensor("a", Shape.of(4), new float[] {1, 2, 3, 4}).write(model);
        byte[] before = Files.readAllBytes(model);
        GgufWriter failing = new GgufWriter().putString("general.name", "new")
                .addTensor("a", Shape.of(1024), new float[1024])
                .addTensor("b", GgmlType.F32, Shape.of(1024), out -> {
                    out.write(ByteBuffer.allocate(100));
                    throw new IOException("No space left on device");
                });
        IOException e = assertThrows(IOException.class, () -> failing.write(model));
        assertTrue(e.getMessage().startsWith("cannot write " + model + ": No space left on device"), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(model), "the existing model was damaged");
        assertEquals(List.of(model), folderContent());
    }

    @Test
    void badOutputPathsAreRefusedBeforeAnyWork() throws IOException {
        Path missing = dir.resolve("missing/x.json");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AtomicFiles.checkWritable(missing));
        assertEquals("cannot write " + missing + ": the folder " + missing.getParent() + " does not exist", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AtomicFiles.checkWritable(dir));
        assertTrue(e.getMessage().contains("it is a folder"), e.getMessage());
        Path file = Files.writeString(dir.resolve("results"), "x");
        e = assertThrows(IllegalArgumentException.class, () -> AtomicFiles.prepareFolder(file));
        assertTrue(e.getMessage().startsWith("cannot write results to " + file + ": it is a file, not a folder"), e.getMessage());
        Path created = AtomicFiles.prepareFolder(dir.resolve("a/b"));
        assertTrue(Files.isDirectory(created));
        AtomicFiles.checkWritable(created.resolve("r.json"));
    }
}
