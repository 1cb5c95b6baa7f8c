package io.llmnpu.tck.skip;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs a test class or method only where the named backends can run: their provider is on the test
 * class path and reports no {@code unavailableReason()} (the driver, ICD loader or native library it
 * needs is installed). Elsewhere the tests are skipped, and {@link SkipReasons} prints why at the end
 * of the run. For example:
 *
 * <pre>{@code
 * @RequiresBackend("opencl")
 * class OpenClGenerationIT { ... }
 * }</pre>
 *
 * Backends are found with {@link java.util.ServiceLoader}, as the runtime finds them; a test that
 * creates its provider itself can call {@link BackendAssumptions#assumeAvailable} instead.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD})
@ExtendWith(RequiresBackendCondition.class)
public @interface RequiresBackend {
    /** Backend names, as {@code BackendProvider.name()} gives them (e.g. {@code opencl}, {@code vulkan}). */
    String[] value();
}
