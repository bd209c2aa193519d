/**
 * Drives the default Linux guest over its serial console from Node tests:
 * boot to the prompt, run a shell command and collect its output and exit
 * status. Uses the instruction-count clock, so runs are deterministic and
 * idle waits cost no host time.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Machine } from '../machine.ts';
import type { LinuxBootResult } from '../boot/linux-loader.ts';
import type { JitOptions } from '../jit/jit.ts';
import { prepareInitrd } from '../boot/initrd.ts';

export const IMAGES_DIR = fileURLToPath(new URL('../../../public/images/', import.meta.url));
export const PROMPT = 'root@tabvisor:~# ';
/** The guest RNG seed LinuxSession boots with, for deterministic runs. */
export const FIXED_RNG_SEED = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);

export interface CommandResult {
  output: string;
  status: number;
}

export class LinuxSession {
  serial = '';
  /** What bootLinux() returned (undefined for an attached machine). */
  bootResult?: LinuxBootResult;
  private commands = 0;

  private constructor(readonly machine: Machine) {
    machine.onSerialOutput = (byte) => {
      this.serial += String.fromCharCode(byte);
    };
  }

  /** Drives a machine that is already at the prompt (e.g. restored from a snapshot). */
  static attach(machine: Machine): LinuxSession {
    return new LinuxSession(machine);
  }

  /**
   * `nsPerInstruction` sets the guest's pace (default 1 ns, a 1 GIPS guest).
   * Guest busy-waits cost guest time, so a slower pace makes them cheaper in
   * instructions: e.g. the first /dev/urandom read spins until 256 timer
   * ticks (2.56 s at HZ=100) have credited the entropy pool.
   */
  static async boot(ramMiB = 64, options: { hostDecompress?: boolean; nsPerInstruction?: number; jit?: boolean | JitOptions } = {}): Promise<LinuxSession> {
    const machine = new Machine({
      ramBytes: ramMiB << 20,
      jit: options.jit ?? false,
      clock: { mode: 'instructions', nsPerInstruction: options.nsPerInstruction },
      startEpochMs: Date.UTC(2026, 0, 1),
    });
    const manifest = JSON.parse(readFileSync(IMAGES_DIR + 'manifest.json', 'utf8')) as { defaultCmdline: string };
    const session = new LinuxSession(machine);
    session.bootResult = machine.bootLinux({
      kernel: new Uint8Array(readFileSync(IMAGES_DIR + 'bzImage')),
      initrd: await prepareInitrd(new Uint8Array(readFileSync(IMAGES_DIR + 'initramfs.cpio.gz'))),
      cmdline: manifest.defaultCmdline,
      hostDecompress: options.hostDecompress,
      rngSeed: FIXED_RNG_SEED, // a fresh seed per boot would make runs differ
    });
    session.runUntil(() => session.serial.includes(PROMPT), 400_000_000);
    return session;
  }

  /** Runs the guest until `done()` holds; throws with the serial log if it stops or takes too long. */
  runUntil(done: () => boolean, maxInstructions: number): void {
    let total = 0;
    while (!done()) {
      const r = this.machine.runSlice(2_000_000, 60_000);
      total += r.instructions;
      if (r.stop === 'halted-forever' || r.stop === 'triple-fault' || r.stop === 'out-of-memory' || r.stop === 'test-exit') {
        if (done()) return;
        throw new Error(`guest stopped (${r.stop} ${this.machine.shutdownReason}); serial tail:\n${this.serial.slice(-3000)}`);
      }
      if (r.stop === 'halted' && r.sleepNs === Infinity) throw new Error(`guest idles with no timer; serial tail:\n${this.serial.slice(-3000)}`);
      if (total > maxInstructions) throw new Error(`not done after ${total} instructions; serial tail:\n${this.serial.slice(-3000)}`);
    }
  }

  /** Types `line` and a newline, feeding the UART as it has room. */
  type(line: string): void {
    const bytes = new TextEncoder().encode(`${line}\n`);
    let sent = 0;
    while (sent < bytes.length) {
      sent += this.machine.uart0.receive(bytes.subarray(sent));
      if (sent < bytes.length) this.machine.runSlice(200_000, 60_000);
    }
  }

  /** Runs a shell command; returns what it printed (CR LF normalised) and its exit status. */
  run(command: string, maxInstructions = 2_000_000_000): CommandResult {
    const n = ++this.commands;
    const start = this.serial.length;
    // The marker is split in the typed text so the terminal echo of the command never matches it.
    this.type(`${command}; echo "@@EN""D${n}@@ $?"`);
    const marker = new RegExp(`@@END${n}@@ (\\d+)\\r?\\n`);
    this.runUntil(() => marker.test(this.serial.slice(start)), maxInstructions);
    const text = this.serial.slice(start).replace(/\r\n/g, '\n');
    // Skip the terminal's echo of the typed line (which may wrap): it ends with the split marker.
    const echoEnd = text.indexOf(`D${n}@@ $?"`);
    const firstNewline = text.indexOf('\n', echoEnd);
    const end = text.search(/@@END\d+@@/);
    const status = Number(marker.exec(this.serial.slice(start))![1]);
    this.runUntil(() => this.serial.endsWith(PROMPT) || this.serial.slice(start).includes(`${PROMPT}`), 50_000_000);
    return { output: text.slice(firstNewline + 1, end), status };
  }

  release(): void {
    this.machine.release();
  }
}
