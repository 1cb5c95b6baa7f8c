package io.llmnpu.runtime.engine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A content key for a model file, to find what was measured or calibrated for it in per-user caches
 * whatever the file is called or where it lies. Hashing a multi-gigabyte file at every start would
 * cost seconds, so the key hashes the size, the first and last MiB (header, metadata, tokenizer, the
 * last tensors) and 64 KiB at 256 evenly spread offsets: two different models practically never share
 * it, and it takes milliseconds.
 */
public final class ModelFingerprint {
    private static final int EDGE = 1 << 20;
    private static final int SAMPLE = 1 << 16;
    private static final int SAMPLES = 256;

    private ModelFingerprint() {
    }

    /** 16 hex digits identifying the content of {@code file}. */
    public static String of(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MessageDigest sha = sha256();
            long size = ch.size();
            sha.update(Long.toString(size).getBytes(StandardCharsets.US_ASCII));
            hashRange(ch, sha, 0, Math.min(EDGE, size));
            hashRange(ch, sha, Math.max(0, size - EDGE), Math.min(EDGE, size));
            for (int i = 1; i < SAMPLES; i++) {
                long at = size * i / SAMPLES;
                hashRange(ch, sha, at, Math.min(SAMPLE, size - at));
            }
            return HexFormat.of().formatHex(sha.digest(), 0, 8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + " to identify the model", e);
        }
    }

    /** 16 hex digits of the SHA-256 of {@code text}. */
    static String shortHash(String text) {
        return HexFormat.of().formatHex(sha256().digest(text.getBytes(StandardCharsets.UTF_8)), 0, 8);
    }

    /** The CPU model from {@code /proc/cpuinfo}, or the architecture where there is none. */
    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8)) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).strip();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return System.getProperty("os.arch");
    }

    private static void hashRange(FileChannel ch, MessageDigest sha, long from, long length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate((int) Math.max(0, length));
        long at = from;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, at);
            if (n < 0) {
                break;
            }
            at += n;
        }
        buf.flip();
        sha.update(buf);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
