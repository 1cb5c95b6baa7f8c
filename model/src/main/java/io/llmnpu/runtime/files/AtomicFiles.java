package io.llmnpu.runtime.files;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.security.SecureRandom;

/**
 * Writes result files (models, calibrations, JSON reports, charts) so that nothing is ever lost
 * half-way: the content goes to a temporary file in the target's own folder, which is renamed over
 * the target only once it is complete and on disk. A write that fails (disk full, file size limit,
 * an exception while producing the content) leaves an existing target as it was and no temporary
 * file behind, and its error names the target.
 *
 * <p>{@link #checkWritable} lets a command refuse a bad output path before it starts work that
 * takes minutes.
 */
public final class AtomicFiles {
    /** Prefix of temporary files: hidden, and easy to recognise if a crash ever leaves one. */
    static final String TEMP_PREFIX = ".llmnpu-";

    private static final SecureRandom RANDOM = new SecureRandom();

    private AtomicFiles() {
    }

    /** Produces a file's content into a channel positioned at its start. */
    @FunctionalInterface
    public interface Content {
        void writeTo(FileChannel out) throws IOException;
    }

    /**
     * Writes {@code target} from {@code content}, replacing it atomically.
     *
     * @throws IOException naming {@code target} if anything fails; the target is then unchanged
     */
    public static void write(Path target, Content content) throws IOException {
        Path folder = folderOf(target);
        // Not Files.createTempFile: it makes the file owner-only (0600), and the result would keep that.
        // CREATE_NEW gives the permissions any new file gets (the umask's); a replaced file keeps its own.
        Path temp = folder.resolve(TEMP_PREFIX + target.getFileName() + "." + Long.toUnsignedString(RANDOM.nextLong(), 36) + ".tmp");
        FileChannel out;
        try {
            out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw failure(target, e);
        }
        boolean done = false;
        try (out) {
            keepPermissions(target, temp);
            content.writeTo(out);
            out.force(true); // on disk before the rename makes it the target
            out.close();
            moveIntoPlace(temp, target);
            done = true;
        } catch (IOException e) {
            throw failure(target, e);
        } finally {
            if (!done) {
                Files.deleteIfExists(temp);
            }
        }
    }

    /** Writes {@code text} as UTF-8 to {@code target}, replacing it atomically. */
    public static void writeString(Path target, String text) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        write(target, out -> {
            while (bytes.hasRemaining()) {
                out.write(bytes);
            }
        });
    }

    /**
     * Fails now, with a message a user can act on, if {@code target} could not be written later: its
     * folder is missing or not writable, or it names a folder. Creates nothing.
     *
     * @throws IllegalArgumentException naming the path and the reason
     */
    public static void checkWritable(Path target) {
        if (Files.isDirectory(target)) {
            throw new IllegalArgumentException("cannot write " + target + ": it is a folder; name a file");
        }
        Path folder = target.toAbsolutePath().getParent();
        if (folder == null || !Files.isDirectory(folder)) {
            throw new IllegalArgumentException("cannot write " + target + ": the folder " + folder
                    + " does not exist");
        }
        if (!Files.isWritable(folder)) {
            throw new IllegalArgumentException("cannot write " + target + ": the folder " + folder
                    + " is not writable");
        }
        if (Files.exists(target) && !Files.isRegularFile(target)) {
            throw new IllegalArgumentException("cannot write " + target + ": it exists and is not a regular file");
        }
    }

    /**
     * Fails now if {@code folder} cannot hold result files: it names an existing file, or it is
     * missing and cannot be created, or it is not writable. Creates the folder if it is missing.
     *
     * @throws IllegalArgumentException naming the folder and the reason
     */
    public static Path prepareFolder(Path folder) {
        if (Files.exists(folder) && !Files.isDirectory(folder)) {
            throw new IllegalArgumentException("cannot write results to " + folder
                    + ": it is a file, not a folder; name a folder (it is created if missing)");
        }
        try {
            Files.createDirectories(folder);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot create the results folder " + folder + ": " + reason(e), e);
        }
        if (!Files.isWritable(folder)) {
            throw new IllegalArgumentException("cannot write results to " + folder + ": the folder is not writable");
        }
        return folder;
    }

    private static Path folderOf(Path target) throws IOException {
        Path folder = target.toAbsolutePath().getParent();
        if (folder == null || !Files.isDirectory(folder)) {
            throw new IOException("cannot write " + target + ": the folder " + folder + " does not exist");
        }
        return folder;
    }

    /** A file that replaces another keeps the other's permissions (where the file system has POSIX ones). */
    private static void keepPermissions(Path target, Path temp) throws IOException {
        if (Files.isRegularFile(target) && Files.getFileAttributeView(target, PosixFileAttributeView.class) != null) {
            Files.setPosixFilePermissions(temp, Files.getPosixFilePermissions(target));
        }
    }

    private static void moveIntoPlace(Path temp, Path target) throws IOException {
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            // Same folder, so this is rare (some network file systems); a plain replace is next best.
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static IOException failure(Path target, IOException cause) {
        if (cause.getMessage() != null && cause.getMessage().startsWith("cannot write " + target)) {
            return cause;
        }
        return new IOException("cannot write " + target + ": " + reason(cause)
                + (Files.exists(target) ? " (the existing file is unchanged)" : ""), cause);
    }

    /** The OS reason without the path a FileSystemException repeats ("File too large", "No space left on device"). */
    static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file or folder";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
