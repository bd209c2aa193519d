/**
 * When the playground evaluates its interface chunk (React, xterm.js, uPlot:
 * ~560 KB). Evaluating it holds the main thread for 50-100 ms on the 2-core
 * dev machine; started at once, it ran while the image downloads finished,
 * and the message that makes the first VM (and so its boot) waited behind
 * it. So the page first lets the first VM be made, but never waits longer
 * than a short deadline: on a slow network the interface comes up on time
 * and shows the download's progress.
 */

import { REAL_CLOCK, type UiClock } from './ui-clock.ts';

/** How long the page waits for its first VM before it shows the interface anyway. */
export const INTERFACE_WAIT_MS = 300;

/** Resolves when `work` settles, fulfilled or rejected, or after `ms`, whichever comes first. Never rejects. */
export function settledOrAfter(work: Promise<unknown>, ms: number, timers: Pick<UiClock, 'setTimeout' | 'clearTimeout'> = REAL_CLOCK): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = timers.setTimeout(resolve, ms);
    const done = (): void => {
      timers.clearTimeout(timer);
      resolve();
    };
    work.then(done, done);
  });
}
