package io.llmnpu.runtime.osgi.fake;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;

/** A provider that exists only to be plugged and unplugged; it cannot run anything. */
public final class FakeProvider implements BackendProvider {

    @Override
    public String name() {
        return "fake";
    }

    @Override
    public String unavailableReason() {
        return "it is a test double";
    }

    @Override
    public Backend create(BackendOptions options) {
        throw new BackendException("the fake backend cannot be created");
    }
}
