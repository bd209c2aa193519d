/**
 * The coordinator's end of one VM's serial console. It outlives the worker
 * (a reset or restart attaches new rings), so listeners, the transcript and
 * `waitFor` calls carry across reboots.
 *
 * Output: drained from the worker's ring as soon as it signals (via
 * Atomics.waitAsync where available, else polling), decoded as UTF-8, kept in
 * a bounded transcript and passed to listeners.
 * Input: written into the worker's ring; what does not fit waits in a queue
 * and is retried until the guest takes it (the UART's FIFO paces it).
 */
import { Emitter, type Disposable, type Event } from './events.ts';
import { SpscRing } from './shared/spsc-ring.ts';
import { isShared, signal, waitAsyncOn } from './shared/wake.ts';

export interface ConsoleOutput {
  readonly bytes: Uint8Array;
  readonly text: string;
}

export interface ConsoleChannelOptions {
  /** Transcript kept for read()/waitFor(), in UTF-16 code units. */
  transcriptLimit?: number;
  /** Poll interval when the platform cannot wait on shared memory. */
  pollMs?: number;
}

interface Waiter {
  pattern: RegExp;
  resolve: (match: RegExpExecArray) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class ConsoleTimeoutError extends Error {
  override name = 'ConsoleTimeoutError';
}

const READ_CHUNK = 16 * 1024;
const WATCH_TIMEOUT_MS = 1000;
const INPUT_RETRY_MS = 5;

export class ConsoleChannel implements Disposable {
  private readonly outputs = new Emitter<ConsoleOutput>();
  readonly onOutput: Event<ConsoleOutput> = this.outputs.event;

  private readonly transcriptLimit: number;
  private readonly pollMs: number;
  private decoder = new TextDecoder();
  private readonly encoder = new TextEncoder();
  private readonly scratch = new Uint8Array(READ_CHUNK);
  private text = '';
  /** Transcript positions are absolute (chars since creation); `dropped` chars were trimmed from the front. */
  private dropped = 0;
  private readCursor = 0;
  private expectCursor = 0;
  private waiters: Waiter[] = [];

  private output: SpscRing | undefined;
  private input: SpscRing | undefined;
  private pendingInput: Array<{ bytes: Uint8Array; done: () => void }> = [];
  private inputTimer: ReturnType<typeof setTimeout> | undefined;
  private watchGeneration = 0;
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private disposed = false;

  constructor(
    readonly vmId: string,
    options: ConsoleChannelOptions = {},
  ) {
    this.transcriptLimit = options.transcriptLimit ?? 1 << 20;
    this.pollMs = options.pollMs ?? 16;
  }

  /** Connects the rings of a (new) worker; `watch` false when someone else calls `pump` (message mode). */
  attach(output: SpscRing, input: SpscRing, watch: boolean): void {
    this.detach();
    this.output = output;
    this.input = input;
    this.decoder = new TextDecoder();
    if (watch) this.watch(output);
    this.flushInput();
  }

  /** Drains what is left and disconnects from the worker's rings. */
  detach(): void {
    if (this.output) this.pump();
    this.watchGeneration++;
    if (this.output && isShared(this.output.header)) signal(this.output.dataWord);
    if (this.pollTimer !== undefined) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    this.output = undefined;
    this.input = undefined;
  }

  /** Moves everything in the output ring to the transcript and listeners; returns the byte count. */
  pump(): number {
    const output = this.output;
    if (!output) return 0;
    let total = 0;
    for (;;) {
      const n = output.read(this.scratch);
      if (n === 0) break;
      total += n;
      const bytes = this.scratch.slice(0, n);
      this.deliver(bytes, this.decoder.decode(bytes, { stream: true }));
    }
    return total;
  }

  /** Output bytes that arrive by message (fallback) rather than through a shared ring. */
  deliverBytes(bytes: Uint8Array): void {
    if (bytes.length > 0) this.deliver(bytes, this.decoder.decode(bytes, { stream: true }));
  }

  /** Queues `text` (UTF-8) for the guest; resolves once all of it is in the worker's ring. */
  send(text: string | Uint8Array): Promise<void> {
    const bytes = typeof text === 'string' ? this.encoder.encode(text) : text.slice();
    if (bytes.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.pendingInput.push({ bytes, done: resolve });
      this.flushInput();
    });
  }

  /** Output since the previous read(). */
  read(): string {
    const start = Math.max(0, this.readCursor - this.dropped);
    this.readCursor = this.dropped + this.text.length;
    return this.text.slice(start);
  }

  /** The whole retained transcript. */
  transcript(): string {
    return this.text;
  }

  /**
   * Resolves with the first match of `pattern` in output not yet consumed by
   * an earlier waitFor (expect-style: the next call starts after this match).
   */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const plain = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        pattern: plain,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.removeWaiter(waiter);
          const tail = this.text.slice(-200);
          reject(new ConsoleTimeoutError(`${this.vmId}: no output matching ${pattern} within ${timeoutMs} ms; last output: ${JSON.stringify(tail)}`));
        }, timeoutMs),
      };
      if (!this.tryMatch(waiter)) this.waiters.push(waiter);
    });
  }

  /** Rejects every pending waitFor (the VM stopped or failed). */
  abortWaits(why: string): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`${this.vmId}: ${why}`));
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.detach();
    this.disposed = true;
    this.abortWaits('console closed');
    if (this.inputTimer !== undefined) clearTimeout(this.inputTimer);
    for (const item of this.pendingInput) item.done();
    this.pendingInput = [];
    this.outputs.dispose();
  }

  private deliver(bytes: Uint8Array, text: string): void {
    if (text.length > 0) {
      this.text += text;
      const excess = this.text.length - this.transcriptLimit;
      if (excess > 0) {
        this.text = this.text.slice(excess);
        this.dropped += excess;
      }
    }
    this.outputs.fire({ bytes, text });
    if (this.waiters.length > 0) {
      for (const waiter of [...this.waiters]) {
        if (this.tryMatch(waiter)) this.removeWaiter(waiter);
      }
    }
  }

  private tryMatch(waiter: Waiter): boolean {
    const start = Math.max(0, this.expectCursor - this.dropped);
    const match = waiter.pattern.exec(this.text.slice(start));
    if (!match) return false;
    this.expectCursor = this.dropped + start + match.index + match[0].length;
    clearTimeout(waiter.timer);
    waiter.resolve(match);
    return true;
  }

  private removeWaiter(waiter: Waiter): void {
    const i = this.waiters.indexOf(waiter);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  private flushInput(): void {
    if (this.inputTimer !== undefined) {
      clearTimeout(this.inputTimer);
      this.inputTimer = undefined;
    }
    const input = this.input;
    if (input) {
      while (this.pendingInput.length > 0) {
        const head = this.pendingInput[0]!;
        const n = input.write(head.bytes);
        if (n < head.bytes.length) {
          head.bytes = head.bytes.subarray(n);
          break;
        }
        this.pendingInput.shift();
        head.done();
      }
    }
    if (this.pendingInput.length > 0 && input && !this.disposed) {
      this.inputTimer = setTimeout(() => this.flushInput(), INPUT_RETRY_MS);
    }
  }

  /** Drains the output ring whenever the worker signals it (or polls where waiting is impossible). */
  private watch(output: SpscRing): void {
    const generation = ++this.watchGeneration;
    const word = output.dataWord;
    const loop = async (): Promise<void> => {
      while (generation === this.watchGeneration && !this.disposed) {
        const seen = Atomics.load(word.words, word.index);
        this.pump();
        const pending = waitAsyncOn(word, seen, WATCH_TIMEOUT_MS);
        if (!pending) {
          this.pollTimer = setInterval(() => this.pump(), this.pollMs);
          return;
        }
        await pending;
      }
    };
    void loop().catch((error: unknown) => console.error(`tabvisor: console watch of ${this.vmId} failed`, error));
  }
}
