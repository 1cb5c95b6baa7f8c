package io.llmnpu.tck;

import io.llmnpu.api.backend.BackendException;
import org.junit.jupiter.api.function.Executable;
import org.opentest4j.AssertionFailedError;

/** Checks that a backend refuses something the SPI forbids in the way the SPI says: with a {@link BackendException}. */
final class Expect {

    private Expect() {
    }

    /**
     * Runs {@code call} and requires a {@link BackendException} with a message. Returning normally
     * (silent garbage) fails, and so does any other exception: an {@code IllegalStateException} from a
     * closed FFM arena or an {@code IndexOutOfBoundsException} from an unchecked binding is a crash
     * the caller cannot tell from a bug.
     *
     * @param action what was done, completing "... must throw BackendException"
     */
    static BackendException backendException(String action, Executable call) {
        try {
            call.execute();
        } catch (BackendException e) {
            if (e.getMessage() == null || e.getMessage().isBlank()) {
                throw new AssertionFailedError(action + " threw a BackendException without a message;"
                        + " the message is all a user sees, so it must say what went wrong", e);
            }
            return e;
        } catch (Throwable t) {
            throw new AssertionFailedError(action + " must throw BackendException, but it threw " + t, t);
        }
        throw new AssertionFailedError(action + " must throw BackendException, but it returned normally");
    }
}
