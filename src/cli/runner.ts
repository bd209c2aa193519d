/**
 * The headless runner: one machine on the Node main thread with the guest's
 * COM1 connected to a terminal or to pipes. Runs time-boxed slices, sleeps
 * while the guest idles (woken early by input), and turns every way a run
 * can end into an exit status.
 */
import { Machine } from '../core/machine.ts';
import { prepareInitrd } from '../core/boot/initrd.ts';
import { UsageError, type RunnerOptions } from './args.ts';
import { readGuestFiles } from './guest-files.ts';

export interface TerminalInput {
  readonly isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

export interface TerminalOutput {
  write(data: Uint8Array | string): unknown;
}

export interface RunnerIo {
  input: TerminalInput;
  output: TerminalOutput;
  errors: TerminalOutput;
}

/** Exit statuses (documented in the README and `--help`). */
export const EXIT_TIMEOUT = 124;
export const EXIT_ERROR = 1;

const CTRL_A = 0x01;
const SLICE_MS = 20;
/** Longest sleep while the guest idles; input wakes the loop earlier. */
const MAX_IDLE_SLEEP_MS = 100;

export async function runGuest(options: RunnerOptions, io: RunnerIo): Promise<number> {
  const files = readGuestFiles(options.kernel, options.initrd, options.append);
  const initrd = files.initrd && (await prepareInitrd(files.initrd));
  const machine = new Machine({ ramBytes: options.memMiB * 1024 * 1024, jit: options.jit });
  try {
    machine.bootLinux({ kernel: files.kernel, initrd, cmdline: files.cmdline });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }

  const out = new OutputBuffer(io.output);
  machine.onSerialOutput = (byte) => out.push(byte);

  const pending: number[] = [];
  let quitRequested = false;
  let timedOut = false;
  let wake: (() => void) | undefined;
  let sawCtrlA = false;
  const interactive = io.input.isTTY === true;
  const onData = (chunk: Buffer) => {
    for (const byte of chunk) {
      // Ctrl-A x quits (only on a terminal: scripts may send any byte); Ctrl-A Ctrl-A sends one Ctrl-A.
      if (interactive && sawCtrlA) {
        sawCtrlA = false;
        if (byte === 0x78 /* x */) quitRequested = true;
        else pending.push(byte);
        continue;
      }
      if (interactive && byte === CTRL_A) sawCtrlA = true;
      else pending.push(byte);
    }
    wake?.();
  };
  if (interactive) io.input.setRawMode?.(true);
  io.input.on('data', onData);
  io.input.resume();
  const timer = options.timeoutS === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    wake?.();
  }, options.timeoutS * 1000);

  try {
    for (;;) {
      if (quitRequested) return 0;
      if (timedOut) {
        out.flush();
        io.errors.write(`\r\ntabvisor: stopped after the --timeout of ${options.timeoutS} s\r\n`);
        return EXIT_TIMEOUT;
      }
      if (pending.length > 0) {
        const accepted = machine.uart0.receive(Uint8Array.from(pending.slice(0, 4096)));
        pending.splice(0, accepted);
      }
      const result = machine.runSlice(Number.MAX_SAFE_INTEGER, SLICE_MS);
      out.flush();
      switch (result.stop) {
        case 'budget':
          await new Promise<void>((resolve) => setImmediate(resolve));
          break;
        case 'halted': {
          const ms = Math.min(MAX_IDLE_SLEEP_MS, result.sleepNs / 1e6);
          if (pending.length === 0 && ms > 0.05) {
            await new Promise<void>((resolve) => {
              const t = setTimeout(resolve, ms);
              wake = () => { clearTimeout(t); resolve(); };
            });
            wake = undefined;
          }
          break;
        }
        case 'halted-forever':
          return 0; // Linux poweroff/halt without ACPI: the CPU halts with interrupts off.
        case 'reset':
          machine.reset();
          break;
        case 'test-exit':
          return machine.exitCode;
        case 'triple-fault':
          io.errors.write(`\r\ntabvisor: the guest triple-faulted: ${machine.shutdownReason}\r\n`);
          return EXIT_ERROR;
        case 'out-of-memory':
          io.errors.write('\r\ntabvisor: the guest ran out of host memory\r\n');
          return EXIT_ERROR;
        case 'stopped':
          return 0;
      }
    }
  } finally {
    if (timer) clearTimeout(timer);
    io.input.off('data', onData);
    io.input.pause();
    if (interactive) io.input.setRawMode?.(false);
    machine.release();
  }
}

/** Collects guest output bytes and writes them in one piece per slice. */
class OutputBuffer {
  private bytes = new Uint8Array(4096);
  private length = 0;
  constructor(private readonly sink: TerminalOutput) {}

  push(byte: number): void {
    if (this.length === this.bytes.length) {
      const bigger = new Uint8Array(this.bytes.length * 2);
      bigger.set(this.bytes);
      this.bytes = bigger;
    }
    this.bytes[this.length++] = byte;
  }

  flush(): void {
    if (this.length === 0) return;
    this.sink.write(this.bytes.slice(0, this.length));
    this.length = 0;
  }
}
