/**
 * When a cold-booted default guest is ready to be typed at. Linux switches
 * from the early TSC clocksource to the refined one about a second after its
 * clocks start and prints "clocksource: Switched to clocksource tsc" on the
 * console; now that boot takes less than that, the line can land after the
 * shell prompt and split echoed input. This matches the prompt and that line
 * in either order, so a waitFor on it returns once both have been printed.
 * The earlier "Switched to clocksource tsc-early", printed before the
 * prompt, must not count (it did, and the refined line then split the
 * embed test's echoed text). (Instant-boot VMs are restored after both;
 * wait for the prompt alone there.)
 */
export const COLD_BOOT_READY = /root@tabvisor:~# [\s\S]*Switched to clocksource tsc(?!-)|Switched to clocksource tsc(?!-)[\s\S]*root@tabvisor:~# /;
