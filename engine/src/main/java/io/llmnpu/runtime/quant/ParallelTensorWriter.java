package io.llmnpu.runtime.quant;

import io.llmnpu.runtime.model.gguf.GgufWriter;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.function.IntConsumer;

/**
 * Produces one tensor's bytes in chunks of rows on a thread pool and writes the chunks in order, so
 * that generating or converting multi-gigabyte tensors uses every core while holding only a few
 * chunks in memory. Each chunk must depend only on its rows (not on which thread or in which order
 * it runs), which keeps the output identical for any thread count.
 */
public final class ParallelTensorWriter implements GgufWriter.TensorSource {
    /** Target size of one chunk: large enough to amortise task overhead, small enough to keep memory flat. */
    public static final long CHUNK_BYTES = 4L << 20;

    /** Encodes rows {@code [firstRow, firstRow + rowCount)} into {@code out} (exactly rowCount * rowBytes bytes). */
    @FunctionalInterface
    public interface RowEncoder {
        void encode(int firstRow, int rowCount, MemorySegment out);
    }

    private final int rows;
    private final long rowBytes;
    private final RowEncoder encoder;
    private final ExecutorService pool;
    private final int window;
    private final IntConsumer rowsWritten;

    /**
     * @param rows         rows of the tensor
     * @param rowBytes     bytes of one encoded row
     * @param encoder      produces the bytes of a run of rows
     * @param pool         runs the encoder
     * @param window       most chunks in flight (a few per thread keeps the pool busy)
     * @param rowsWritten  told the row count of each chunk once it is written (progress)
     */
    public ParallelTensorWriter(int rows, long rowBytes, RowEncoder encoder, ExecutorService pool, int window,
                                IntConsumer rowsWritten) {
        if (rowBytes <= 0 || rowBytes > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException("row of " + rowBytes + " bytes");
        }
        this.rows = rows;
        this.rowBytes = rowBytes;
        this.encoder = encoder;
        this.pool = pool;
        this.window = Math.max(1, window);
        this.rowsWritten = rowsWritten;
    }

    @Override
    public void writeTo(WritableByteChannel out) throws IOException {
        int rowsPerChunk = (int) Math.max(1, Math.min(rows, CHUNK_BYTES / rowBytes));
        Deque<Future<ByteBuffer>> inFlight = new ArrayDeque<>();
        int next = 0;
        try {
            while (next < rows || !inFlight.isEmpty()) {
                while (next < rows && inFlight.size() < window) {
                    int first = next;
                    int count = Math.min(rowsPerChunk, rows - first);
                    inFlight.add(pool.submit(() -> encodeChunk(first, count)));
                    next += count;
                }
                ByteBuffer chunk = inFlight.removeFirst().get();
                int chunkRows = (int) (chunk.remaining() / rowBytes);
                while (chunk.hasRemaining()) {
                    out.write(chunk);
                }
                rowsWritten.accept(chunkRows);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while writing tensor data");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IOException(cause);
        } finally {
            inFlight.forEach(f -> f.cancel(true));
        }
    }

    private ByteBuffer encodeChunk(int first, int count) {
        ByteBuffer buffer = ByteBuffer.allocate(Math.toIntExact(count * rowBytes));
        encoder.encode(first, count, MemorySegment.ofBuffer(buffer));
        return buffer;
    }
}
