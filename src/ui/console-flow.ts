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
 */

export interface TerminalSink {
  write(data: string, done: () => void): void;
}

export interface ConsoleFlowOptions {
  highWater?: number;
  lowWater?: number;
  maxPending?: number;
}

export class ConsoleFlow {
  private readonly highWater: number;
  private readonly lowWater: number;
  private readonly maxPending: number;
  private pending: string[] = [];
  private pendingChars = 0;
  private skipped = 0;
  private inFlight = 0;
  private disposed = false;

  constructor(
    private readonly sink: TerminalSink,
    options: ConsoleFlowOptions = {},
  ) {
    this.highWater = options.highWater ?? 128 * 1024;
    this.lowWater = options.lowWater ?? 16 * 1024;
    this.maxPending = options.maxPending ?? 1024 * 1024;
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
    if (this.inFlight < this.highWater && this.pending.length === 0) {
      this.send(text);
      return;
    }
    this.pending.push(text);
    this.pendingChars += text.length;
    this.trim();
  }

  dispose(): void {
    this.disposed = true;
    this.pending = [];
    this.pendingChars = 0;
  }

  private send(text: string): void {
    this.inFlight += text.length;
    this.sink.write(text, () => {
      this.inFlight -= text.length;
      if (this.inFlight <= this.lowWater) this.drain();
    });
  }

  private drain(): void {
    if (this.disposed) return;
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
