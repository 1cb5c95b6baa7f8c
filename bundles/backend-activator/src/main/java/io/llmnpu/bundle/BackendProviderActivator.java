package io.llmnpu.bundle;

import io.llmnpu.api.backend.BackendProvider;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.ServiceRegistration;

/**
 * Publishes a backend bundle's providers as {@link BackendProvider} OSGi services. The bundle names
 * its provider classes in the {@value #PROVIDERS_HEADER} manifest header (comma separated); each needs
 * a public no-argument constructor, as for {@link java.util.ServiceLoader}. So a backend needs no OSGi
 * code of its own: its bundle embeds this class and writes one header.
 *
 * <p>Each service carries the property {@value #NAME_PROPERTY} = {@link BackendProvider#name()}, so
 * hosts can filter without calling into the bundle. Stopping the bundle withdraws the services.
 */
public final class BackendProviderActivator implements BundleActivator {

    /** Manifest header listing the bundle's {@link BackendProvider} implementation classes. */
    public static final String PROVIDERS_HEADER = "Llmnpu-Backend-Providers";

    /** Service property holding the provider's name. */
    public static final String NAME_PROPERTY = "llmnpu.backend";

    private final List<ServiceRegistration<BackendProvider>> registrations = new ArrayList<>();

    @Override
    public void start(BundleContext context) throws BundleException {
        Bundle bundle = context.getBundle();
        String header = bundle.getHeaders().get(PROVIDERS_HEADER);
        if (header == null || header.isBlank()) {
            throw new BundleException("bundle " + bundle.getSymbolicName() + " has no " + PROVIDERS_HEADER
                    + " manifest header naming its BackendProvider classes");
        }
        for (String className : header.split(",")) {
            BackendProvider provider = instantiate(bundle, className.strip());
            Dictionary<String, Object> properties = new Hashtable<>();
            properties.put(NAME_PROPERTY, provider.name());
            registrations.add(context.registerService(BackendProvider.class, provider, properties));
        }
    }

    @Override
    public void stop(BundleContext context) {
        // Newest first, so a host sees the providers leave in the reverse order they came.
        for (int i = registrations.size() - 1; i >= 0; i--) {
            try {
                registrations.get(i).unregister();
            } catch (IllegalStateException alreadyGone) {
                // the framework has unregistered it already
            }
        }
        registrations.clear();
    }

    private static BackendProvider instantiate(Bundle bundle, String className) throws BundleException {
        try {
            Class<?> type = bundle.loadClass(className);
            if (!BackendProvider.class.isAssignableFrom(type)) {
                throw new BundleException(className + " in bundle " + bundle.getSymbolicName()
                        + " does not implement " + BackendProvider.class.getName());
            }
            return (BackendProvider) type.getConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new BundleException("cannot create backend provider " + className + " of bundle "
                    + bundle.getSymbolicName() + ": " + e, e);
        }
    }
}
