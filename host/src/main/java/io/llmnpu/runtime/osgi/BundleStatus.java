package io.llmnpu.runtime.osgi;

import java.nio.file.Path;
import java.util.List;

/**
 * One bundle jar the host knows about.
 *
 * @param file         the jar in the bundles directory
 * @param symbolicName the bundle's symbolic name, empty if it could not be installed
 * @param version      its version, empty if it could not be installed
 * @param state        OSGi state: ACTIVE, RESOLVED, INSTALLED..., or FAILED when not installed at all
 * @param providers    names of the backend providers it registered
 * @param problem      why it is not active, empty if it is
 */
public record BundleStatus(Path file, String symbolicName, String version, String state, List<String> providers,
                           String problem) {

    public BundleStatus {
        providers = List.copyOf(providers);
    }

    public boolean active() {
        return "ACTIVE".equals(state);
    }
}
