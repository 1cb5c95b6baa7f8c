package io.llmnpu.runtime.server;

import jakarta.servlet.http.HttpServletRequest;
import java.nio.ByteBuffer;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.BufferUtil;

/**
 * Tells whether the client of a request whose body has been read has closed its connection. Jetty
 * reports a closed connection only when it next reads or writes, and a request that waits for a slot
 * or runs a long prefill does neither; so this reads the socket without blocking: end-of-stream means
 * the client has gone. A client that sends more bytes on the connection meanwhile (HTTP/1.1 pipelining,
 * which common clients do not use) would lose them, so after any byte the probe stops reading and
 * reports the client present.
 */
final class ConnectionProbe implements BooleanSupplier {
    private final EndPoint endPoint;
    private boolean disabled;

    private ConnectionProbe(EndPoint endPoint) {
        this.endPoint = endPoint;
    }

    /** A probe for {@code request}'s connection; one that always says "present" if it cannot tell. */
    static BooleanSupplier of(HttpServletRequest request) {
        try {
            ServletContextRequest jetty = ServletContextRequest.getServletContextRequest(request);
            EndPoint endPoint = jetty == null ? null : jetty.getConnectionMetaData().getConnection().getEndPoint();
            return endPoint == null ? () -> false : new ConnectionProbe(endPoint);
        } catch (RuntimeException e) {
            return () -> false;
        }
    }

    @Override
    public synchronized boolean getAsBoolean() {
        if (disabled) {
            return false;
        }
        if (!endPoint.isOpen()) {
            return true;
        }
        try {
            ByteBuffer buffer = BufferUtil.allocate(1);
            int n = endPoint.fill(buffer);
            if (n > 0) {
                disabled = true;
            }
            return n < 0;
        } catch (java.io.IOException e) {
            return true;
        }
    }
}
