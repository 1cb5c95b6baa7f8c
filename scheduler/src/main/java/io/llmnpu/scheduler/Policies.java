package io.llmnpu.scheduler;

import java.util.List;
import java.util.Locale;

/** The built-in policies, findable by name for the command line. */
public final class Policies {
    private Policies() {
    }

    public static List<SchedulingPolicy> all() {
        return List.of(new InOrderPolicy(), new GreedyOutOfOrderPolicy(), GreedyOutOfOrderPolicy.maxUnlock(),
                new CriticalPathPolicy());
    }

    /**
     * The policy called {@code name} ({@code in-order}, {@code greedy}, {@code greedy-max-unlock},
     * {@code critical-path}).
     *
     * @throws IllegalArgumentException for any other name
     */
    public static SchedulingPolicy byName(String name) {
        String wanted = name.trim().toLowerCase(Locale.ROOT);
        return all().stream().filter(p -> p.name().equals(wanted)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown scheduling policy '" + name
                        + "'; choose one of " + all().stream().map(SchedulingPolicy::name).toList()));
    }
}
