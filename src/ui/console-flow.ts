/**
 * Flow control between the coordinator's console output and xterm.js.
 *
 * xterm parses asynchronously and calls a write's callback once that chunk is
 * processed. We keep at most HIGH_WATER characters in flight; above it new
 * output waits here until xterm drains below LOW_WATER (xterm's own
 * recommendation for flow control). What waits is bounded too: past
 * MAX_PENDING the oldest waiting output is dropped and the terminal says how
 * much was skipped, so a guest that floods its console cannot grow the tab's
 * memory without limit. (The whole output is still in the coordinator's
 * transcript for read()/waitFor().)
 *
 * Output that keeps coming is also coalesced: after a write, the next one
 * waits until `minIntervalMs` (100 ms by default) has passed, and everything
 * that arrived meanwhile goes to the terminal as one write. Why (measured,
 * cold boot in headless Chromium on 2 cores): the kernel's boot log arrives
 * in many small pieces, and xterm re-rendered its rows for nearly every one;
 * that rendering took CPU from the booting guest. A typed character's echo still appears at once
 * (nothing was written in the interval before it), and so does output with an
 * escape sequence: it may be a query the terminal answers (busybox's line
 * editor asks for the cursor position after each prompt and reads the answer
 * from the input, so a late answer mixes with what is typed next).
 */

import { REAL_CLOCK, type UiClock } from './ui-clock.ts';

export interface TerminalSink {
  write(data: string, done: () => void): void;
}

export interface ConsoleFlowOptions {
  highWater?: number;
  lowWater?: number;
  maxPending?: number;
  /** Least time between two writes to the terminal, in ms (0: write at once). */
  minIntervalMs?: number;
  clock?: UiClock;
}

/** Default minInterval: 10 terminal updates a second while output streams. */
export const DEFAULT_MIN_INTERVAL_MS = 100;

export class ConsoleFlow {
  private readonly highWater: number;
  private readonly lowWater: number;
  private readonly maxPending: number;
  private pending: string[] = [];
  private pendingChars = 0;
  private skipped = 0;
  private inFlight = 0;
  private disposed = false;
  private readonly minInterval: number;
  private readonly clock: UiClock;
  private lastWrite = Number.NEGATIVE_INFINITY;
  private timer: unknown = undefined;

  constructor(
    private readonly sink: TerminalSink,
    options: ConsoleFlowOptions = {},
  ) {
    this.highWater = options.highWater ?? 128 * 1024;
    this.lowWater = options.lowWater ?? 16 * 1024;
    this.maxPending = options.maxPending ?? 1024 * 1024;
    this.minInterval = options.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS;
    this.clock = options.clock ?? REAL_CLOCK;
  }

  /** Characters handed to the terminal and not yet processed. */
  get charsInFlight(): number {
    return this.inFlight;
  }

  /** Characters waiting for the terminal to catch up. */
  get charsPending(): number {
    return this.pendingChars;
  }

  /** Characters dropped so far because the terminal could not keep up. */
  get charsSkipped(): number {
    return this.skipped;
  }

  push(text: string): void {
    if (this.disposed || text.length === 0) return;
    this.pending.push(text);
    this.pendingChars += text.length;
    this.trim();
    this.pump(text.includes('\x1b'));
  }

  dispose(): void {
    this.disposed = true;
    this.pending = [];
    this.pendingChars = 0;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Writes what waits now (`urgent`: even inside the interval), or arms the timer for the end of the interval. */
  private pump(urgent = false): void {
    if (this.disposed || this.pending.length === 0) return;
    if (this.timer !== undefined) {
      if (!urgent) return;
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const wait = this.lastWrite + this.minInterval - this.clock.now();
    if (wait > 0 && !urgent) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
      return;
    }
    this.drain();
  }

  private send(text: string): void {
    this.inFlight += text.length;
    this.lastWrite = this.clock.now();
    this.sink.write(text, () => {
      this.inFlight -= text.length;
      if (this.inFlight <= this.lowWater) this.pump();
    });
  }

  private drain(): void {
    if (this.inFlight >= this.highWater) return; // the write callback pumps again
    if (this.skipped > 0 && this.pending.length > 0) {
      this.send(`\r\n\x1b[2m[tabvisor: ${this.skipped} characters of console output skipped: the terminal could not keep up]\x1b[0m\r\n`);
      this.skipped = 0;
    }
    while (this.pending.length > 0 && this.inFlight < this.highWater) {
      // Join small chunks so xterm gets fewer, larger writes.
      let batch = '';
      while (this.pending.length > 0 && batch.length < this.lowWater) batch += this.pending.shift()!;
      this.pendingChars -= batch.length;
      this.send(batch);
    }
  }

  private trim(): void {
    while (this.pendingChars > this.maxPending && this.pending.length > 0) {
      const excess = this.pendingChars - this.maxPending;
      const head = this.pending[0]!;
      if (head.length <= excess) {
        this.pending.shift();
        this.pendingChars -= head.length;
        this.skipped += head.length;
      } else {
        this.pending[0] = head.slice(excess);
        this.pendingChars -= excess;
        this.skipped += excess;
      }
    }
  }
}
