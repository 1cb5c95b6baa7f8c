package io.llmnpu.runtime.osgi.fake;

import io.llmnpu.api.backend.BackendProvider;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;

/** Activator of the test bundle: registers one {@link FakeProvider}; the framework withdraws it on stop. */
public final class FakeActivator implements BundleActivator {

    @Override
    public void start(BundleContext context) {
        context.registerService(BackendProvider.class, new FakeProvider(), null);
    }

    @Override
    public void stop(BundleContext context) {
        // services registered by this bundle are unregistered by the framework
    }
}
