package io.llmnpu.backend.npu.reference;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.tensor.Int8Weights;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.zip.CRC32;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Packed layers on disk, so that a second run with the same weights skips packing (the reference
 * NPU's "graph compile"). A blob is keyed by a SHA-256 over everything the packed form depends on:
 * the packing format, the vector slice width, the layer's name and shape, a fingerprint of its INT8
 * data, its scales and the input/output scales. Blobs end with a CRC-32; a damaged or foreign blob is
 * deleted and the layer packed again. Writes go to a temporary file first and are moved into place, so
 * concurrent processes never read half a blob.
 */
final class CompileCache {

    private static final Logger LOG = LoggerFactory.getLogger(CompileCache.class);
    private static final long MAGIC = 0x4C4E50555041434BL; // "LNPUPACK"
    private static final int FORMAT = 1;

    private final Path directory;

    /** @param directory where blobs live; null disables the cache */
    CompileCache(Path directory) {
        this.directory = directory;
    }

    Path directory() {
        return directory;
    }

    boolean enabled() {
        return directory != null;
    }

    /** The cache key of {@code op} packed for {@code slice}-value vectors. */
    static String key(Op.QuantizedLinear op, int slice) {
        Int8Weights w = op.weights();
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            StringBuilder s = new StringBuilder();
            s.append("format=").append(FORMAT).append("|slice=").append(slice).append("|tile=")
                    .append(NpuVectors.TILE_ROWS).append("|name=").append(w.name()).append("|shape=")
                    .append(w.rows()).append('x').append(w.cols()).append("|data=")
                    .append(Long.toHexString(WeightDigest.of(w.data(), w.byteSize()))).append("|in=")
                    .append(Integer.toHexString(Float.floatToIntBits(op.inputScale()))).append("|out=")
                    .append(Integer.toHexString(Float.floatToIntBits(op.outputScale()))).append("|scales=");
            for (float scale : w.scales()) {
                s.append(Integer.toHexString(Float.floatToIntBits(scale))).append(',');
            }
            return HexFormat.of().formatHex(sha.digest(s.toString().getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    Path fileFor(String key, String name) {
        String readable = name.replaceAll("[^A-Za-z0-9._-]", "_");
        if (readable.length() > 64) {
            readable = readable.substring(0, 64);
        }
        return directory.resolve(readable + "-" + key.substring(0, 32) + ".npk");
    }

    /** The packed layer stored under {@code key}, if a valid blob exists. */
    Optional<PackedLinear> load(String key, String name) {
        if (!enabled()) {
            return Optional.empty();
        }
        Path file = fileFor(key, name);
        try (InputStream raw = Files.newInputStream(file)) {
            CheckedInputStream checked = new CheckedInputStream(new BufferedInputStream(raw, 1 << 16), new CRC32());
            DataInputStream in = new DataInputStream(checked);
            PackedLinear p = read(in, key);
            long expected = checked.getChecksum().getValue();
            long stored = in.readLong();
            if (stored != expected || in.read() != -1) {
                throw new IOException("checksum mismatch");
            }
            return Optional.of(p);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            LOG.warn("npu-ref: discarding damaged compile cache blob {} ({}); packing the layer again", file,
                    e.getMessage());
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // a blob we cannot delete will be overwritten by the next store
            }
            return Optional.empty();
        }
    }

    /** Stores {@code p} under {@code key}; failures are logged, never thrown (the cache is an optimisation). */
    void store(String key, PackedLinear p) {
        if (!enabled()) {
            return;
        }
        Path file = fileFor(key, p.name());
        Path temp = null;
        try {
            Files.createDirectories(directory);
            temp = Files.createTempFile(directory, ".pack-", ".tmp");
            try (OutputStream raw = Files.newOutputStream(temp)) {
                CheckedOutputStream checked = new CheckedOutputStream(new BufferedOutputStream(raw, 1 << 16),
                        new CRC32());
                DataOutputStream out = new DataOutputStream(checked);
                write(out, key, p);
                out.flush();
                out.writeLong(checked.getChecksum().getValue());
                out.flush();
            }
            try {
                Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            LOG.warn("npu-ref: cannot write compile cache blob {}: {}", file, e.getMessage());
            if (temp != null) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException ignored) {
                    // left behind in the cache folder; harmless
                }
            }
        }
    }

    private static void write(DataOutputStream out, String key, PackedLinear p) throws IOException {
        out.writeLong(MAGIC);
        out.writeInt(FORMAT);
        out.writeUTF(key);
        out.writeUTF(p.name());
        out.writeInt(p.rows());
        out.writeInt(p.cols());
        out.writeInt(p.slice());
        out.writeFloat(p.inputScale());
        out.writeFloat(p.outputScale());
        out.writeInt(p.tiles().length);
        out.write(p.tiles());
        for (int r = 0; r < p.rows(); r++) {
            out.writeFloat(p.dequant()[r]);
            out.writeInt(p.requantMantissa()[r]);
            out.writeInt(p.requantExponent()[r]);
        }
    }

    private static PackedLinear read(DataInputStream in, String key) throws IOException {
        if (in.readLong() != MAGIC || in.readInt() != FORMAT) {
            throw new IOException("not a packed layer of format " + FORMAT);
        }
        if (!in.readUTF().equals(key)) {
            throw new IOException("blob belongs to another key");
        }
        String name = in.readUTF();
        int rows = in.readInt();
        int cols = in.readInt();
        int slice = in.readInt();
        float inputScale = in.readFloat();
        float outputScale = in.readFloat();
        int tileBytes = in.readInt();
        if (rows <= 0 || cols <= 0 || slice <= 0 || tileBytes < 0) {
            throw new IOException("bad dimensions");
        }
        int groups = (rows + NpuVectors.TILE_ROWS - 1) / NpuVectors.TILE_ROWS;
        long expected = (long) groups * ((cols + slice - 1) / slice) * NpuVectors.TILE_ROWS * slice
                + WeightPacker.TAIL_SLACK;
        if (tileBytes != expected) {
            throw new IOException("tile data has " + tileBytes + " bytes, expected " + expected);
        }
        byte[] tiles = new byte[tileBytes];
        in.readFully(tiles);
        float[] dequant = new float[rows];
        int[] mantissa = new int[rows];
        int[] exponent = new int[rows];
        for (int r = 0; r < rows; r++) {
            dequant[r] = in.readFloat();
            mantissa[r] = in.readInt();
            exponent[r] = in.readInt();
        }
        return new PackedLinear(name, rows, cols, slice, tiles, inputScale, outputScale, dequant, mantissa, exponent);
    }
}
