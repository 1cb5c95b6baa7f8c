package io.llmnpu.scheduler;

/**
 * Where and when one task ran.
 *
 * @param task   the task
 * @param device index of the device in the cost table
 * @param start  seconds from the start of prefill
 * @param end    seconds from the start of prefill
 */
public record ScheduledTask(Task task, int device, double start, double end) {

    public double duration() {
        return end - start;
    }
}
