/**
 * The clock and timers the page's small waiting helpers use (ConsoleFlow,
 * the interface gate), so tests can drive them by hand.
 */
export interface UiClock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** performance.now() and the global timers. */
export const REAL_CLOCK: UiClock = {
  now: () => performance.now(),
  setTimeout: (run, ms) => globalThis.setTimeout(run, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};
