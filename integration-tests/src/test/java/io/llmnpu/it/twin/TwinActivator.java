package io.llmnpu.it.twin;

import io.llmnpu.api.backend.BackendProvider;
import java.util.Dictionary;
import java.util.Hashtable;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.util.tracker.ServiceTracker;
import org.osgi.util.tracker.ServiceTrackerCustomizer;

/**
 * Activator of the test's second backend bundle: while the CPU backend bundle's provider is
 * registered, registers a {@link TwinProvider} wrapping it; withdraws it when either bundle stops.
 */
public final class TwinActivator implements BundleActivator,
        ServiceTrackerCustomizer<BackendProvider, ServiceRegistration<BackendProvider>> {
    private BundleContext context;
    private ServiceTracker<BackendProvider, ServiceRegistration<BackendProvider>> cpu;

    @Override
    public void start(BundleContext context) throws InvalidSyntaxException {
        this.context = context;
        cpu = new ServiceTracker<>(context, context.createFilter(
                "(&(objectClass=" + BackendProvider.class.getName() + ")(llmnpu.backend=cpu))"), this);
        cpu.open();
    }

    @Override
    public void stop(BundleContext context) {
        cpu.close();
    }

    @Override
    public ServiceRegistration<BackendProvider> addingService(ServiceReference<BackendProvider> reference) {
        BackendProvider provider = context.getService(reference);
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put("llmnpu.backend", "twin");
        return context.registerService(BackendProvider.class, new TwinProvider(provider), properties);
    }

    @Override
    public void modifiedService(ServiceReference<BackendProvider> reference, ServiceRegistration<BackendProvider> twin) {
    }

    @Override
    public void removedService(ServiceReference<BackendProvider> reference, ServiceRegistration<BackendProvider> twin) {
        twin.unregister();
        context.ungetService(reference);
    }
}
