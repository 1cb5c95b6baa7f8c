package io.llmnpu.backend.opencl;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Program binaries on disk, {@code <root>/<device-hash>/<source-hash>.bin}, so that a second start
 * on the same device and driver skips the OpenCL C compiler. Each file carries a magic word and a
 * SHA-256 of the binary: a truncated or damaged file is detected here and never reaches the driver
 * (some drivers crash on garbage binaries). Cache problems only cost a rebuild; they are logged, not
 * thrown.
 */
final class ProgramBinaryCache {
    private static final Logger LOG = LoggerFactory.getLogger(ProgramBinaryCache.class);
    private static final byte[] MAGIC = "LLMNPUCL".getBytes(StandardCharsets.US_ASCII);
    private static final int HASH_BYTES = 32;

    private final Path dir;

    ProgramBinaryCache(Path root, ClDeviceInfo device) {
        this.dir = root.resolve(Hashes.sha256Hex(device.binaryIdentity()).substring(0, 16));
    }

    Path fileFor(String sourceHash) {
        return dir.resolve(sourceHash + ".bin");
    }

    /** The cached binary for {@code sourceHash}, if a valid one exists. */
    Optional<byte[]> read(String sourceHash) {
        Path file = fileFor(sourceHash);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            LOG.warn("cannot read cached OpenCL program {}: {}", file, e.toString());
            return Optional.empty();
        }
        int header = MAGIC.length + HASH_BYTES;
        if (bytes.length <= header || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            LOG.warn("ignoring cached OpenCL program {}: not a program cache file", file);
            return Optional.empty();
        }
        byte[] binary = Arrays.copyOfRange(bytes, header, bytes.length);
        byte[] stored = Arrays.copyOfRange(bytes, MAGIC.length, header);
        if (!MessageDigest.isEqual(stored, Hashes.sha256(binary))) {
            LOG.warn("ignoring cached OpenCL program {}: checksum mismatch (damaged file)", file);
            return Optional.empty();
        }
        return Optional.of(binary);
    }

    /** Stores {@code binary} atomically (write to a temporary file, then rename). */
    void write(String sourceHash, byte[] binary) {
        Path file = fileFor(sourceHash);
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, sourceHash, ".tmp");
            try {
                ByteBuffer out = ByteBuffer.allocate(MAGIC.length + HASH_BYTES + binary.length);
                out.put(MAGIC).put(Hashes.sha256(binary)).put(binary);
                Files.write(tmp, out.array());
                try {
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            LOG.warn("cannot cache OpenCL program binary at {}: {}", file, e.toString());
        }
    }
}
