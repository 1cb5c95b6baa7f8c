package io.llmnpu.backend.vulkan;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Binary files cached on disk (compiled SPIR-V, drivers' pipeline caches) under one folder. Each file
 * carries a magic word and a SHA-256 of its content: a truncated or damaged file is detected here and
 * never reaches the driver. Files are written to a temporary name and renamed, so a concurrent start
 * never reads half a file. Cache problems only cost a rebuild: they are logged, never thrown.
 */
final class CacheFiles {
    private static final Logger LOG = LoggerFactory.getLogger(CacheFiles.class);
    private static final byte[] MAGIC = "LLMNPUVK".getBytes(StandardCharsets.US_ASCII);
    private static final int HASH_BYTES = 32;

    private final Path dir;

    CacheFiles(Path dir) {
        this.dir = dir;
    }

    Path file(String name) {
        return dir.resolve(name);
    }

    /** The content of {@code name}, if a valid cache file of that name exists. */
    Optional<byte[]> read(String name) {
        Path file = file(name);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            LOG.warn("cannot read cache file {}: {}", file, e.toString());
            return Optional.empty();
        }
        int header = MAGIC.length + HASH_BYTES;
        if (bytes.length < header || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            LOG.warn("ignoring cache file {}: not an llmnpu Vulkan cache file", file);
            return Optional.empty();
        }
        byte[] content = Arrays.copyOfRange(bytes, header, bytes.length);
        if (!MessageDigest.isEqual(Arrays.copyOfRange(bytes, MAGIC.length, header), sha256(content))) {
            LOG.warn("ignoring cache file {}: checksum mismatch (damaged file)", file);
            return Optional.empty();
        }
        return Optional.of(content);
    }

    /** Stores {@code content} as {@code name}, atomically. */
    void write(String name, byte[] content) {
        Path file = file(name);
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, name, ".tmp");
            try {
                ByteBuffer out = ByteBuffer.allocate(MAGIC.length + HASH_BYTES + content.length);
                out.put(MAGIC).put(sha256(content)).put(content);
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
            LOG.warn("cannot write cache file {}: {}", file, e.toString());
        }
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK provides SHA-256", e);
        }
    }

    static String sha256Hex(String text) {
        return HexFormat.of().formatHex(sha256(text.getBytes(StandardCharsets.UTF_8)));
    }
}
