/**
 * Drives a guest shell over a byte stream in Node (our machine, QEMU): feeds
 * typed lines, collects output, and stamps the host time at which an awaited
 * pattern completes (when its last byte arrives, not when we next look).
 */
import { ANY_PROMPT, PROMPT, cleanConsoleText, parseCommandOutput, typedCommand } from './serial-protocol.ts';
import type { WorkloadSample } from './results.ts';

export interface SerialLink {
  /** Sends text to the guest's console. */
  write(text: string): void;
  /** Lets the guest run a little (or waits for output); resolves when output may have arrived. */
  pump(): Promise<void>;
  /** Called when an awaited pattern completed, so a pump in progress may end early. */
  matched?(): void;
}

interface Waiter {
  readonly test: (text: string) => boolean;
  readonly trigger: string | undefined;
  at?: number;
}

export class SerialDriver {
  /** Everything the guest printed. */
  text = '';
  private waiter: Waiter | undefined;
  private commands = 0;

  constructor(private readonly link: SerialLink) {}

  /** Feeds guest output (any chunk size). */
  append(chunk: string): void {
    this.text += chunk;
    const w = this.waiter;
    if (w && w.at === undefined && (w.trigger === undefined || chunk.includes(w.trigger)) && w.test(this.text)) {
      w.at = performance.now();
      this.link.matched?.();
    }
  }

  /**
   * Resolves with the host time (performance.now()) at which `test` first held;
   * it is evaluated whenever output containing `trigger` (or, without one, any output) arrives.
   */
  async waitUntil(test: (text: string) => boolean, trigger: string | undefined, timeoutMs: number, what: string): Promise<number> {
    if (test(this.text)) return performance.now();
    const waiter: Waiter = { test, trigger };
    this.waiter = waiter;
    const deadline = performance.now() + timeoutMs;
    try {
      while (waiter.at === undefined) {
        if (performance.now() > deadline) throw new Error(`${what}: not done after ${timeoutMs / 1000} s; console tail:\n${this.text.slice(-1500)}`);
        await this.link.pump();
      }
      return waiter.at;
    } finally {
      this.waiter = undefined;
    }
  }

  /** Waits for the first shell prompt (output may follow it in the same chunk: ESC [6n, late kernel messages). */
  waitForPrompt(timeoutMs: number, what: string): Promise<number> {
    let scanned = 0;
    return this.waitUntil((t) => {
      const found = t.includes(PROMPT, Math.max(0, scanned - PROMPT.length));
      scanned = t.length;
      return found;
    }, undefined, timeoutMs, what);
  }

  /** Types `command`, times it to its end marker, checks the prompt came back, and returns its output. */
  async run(command: string, timeoutMs: number): Promise<WorkloadSample> {
    const n = ++this.commands;
    const typed = typedCommand(command, n);
    const from = this.text.length;
    const end = new RegExp(typed.endMarker);
    const t0 = performance.now();
    this.link.write(typed.line);
    const at = await this.waitUntil((t) => end.test(t.slice(from)), '\n', timeoutMs, `command ${JSON.stringify(command)}`);
    const result = parseCommandOutput(this.text.slice(from), n);
    if (!result) throw new Error(`command ${JSON.stringify(command)}: output not found; console:\n${this.text.slice(from).slice(-1500)}`);
    const afterMarker = from + end.exec(this.text.slice(from))!.index;
    await this.waitUntil((t) => ANY_PROMPT.test(cleanConsoleText(t.slice(afterMarker))), undefined, 30_000, 'prompt after a command');
    return { ms: at - t0, output: result.output, status: result.status };
  }
}
