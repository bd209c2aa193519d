/**
 * The x86 Linux guest as the worker's run loop sees it: adapts the core
 * Machine (src/core/machine.ts) to GuestMachine. Serial bytes are gathered
 * during a slice and handed over once at its end; a guest-requested reset
 * (reboot) is carried out here and the guest keeps running.
 */
import { Machine } from '../../core/machine.ts';
import { prepareInitrd } from '../../core/boot/initrd.ts';
import type { GuestConfig } from '../shared/protocol.ts';
import type { GuestMachine, SliceResult } from './guest-machine.ts';

export type LinuxImageSpec = Extract<GuestConfig['image'], { kind: 'linux' }>;

/** Loads image bytes: fetch() in browsers and Node, file reads in tests. */
export type ByteLoader = (url: string) => Promise<Uint8Array>;

export const DEFAULT_CMDLINE = 'console=ttyS0 tsc=reliable panic=-1';

/** Downloads an image with a clear error (status, URL) instead of a bare network failure. */
export const fetchBytes: ByteLoader = async (url) => {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`the image ${url} could not be downloaded: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (!response.ok) throw new Error(`the image ${url} could not be downloaded (HTTP ${response.status})`);
  return new Uint8Array(await response.arrayBuffer());
};

export async function createLinuxGuest(config: GuestConfig, spec: LinuxImageSpec, load: ByteLoader = fetchBytes): Promise<LinuxGuest> {
  const [kernel, packedInitrd] = await Promise.all([
    load(spec.kernelUrl),
    spec.initrdUrl === undefined ? Promise.resolve(undefined) : load(spec.initrdUrl),
  ]);
  const initrd = packedInitrd && (await prepareInitrd(packedInitrd));
  const machine = new Machine({ ramBytes: config.ramMiB * 1024 * 1024 });
  try {
    machine.bootLinux({ kernel, initrd, cmdline: spec.cmdline ?? DEFAULT_CMDLINE });
  } catch (e) {
    machine.release();
    throw e;
  }
  return new LinuxGuest(machine);
}

export class LinuxGuest implements GuestMachine {
  onConsoleOutput: (bytes: Uint8Array) => void = () => {};
  private output = new Uint8Array(4096);
  private outputLength = 0;

  constructor(readonly machine: Machine) {
    machine.onSerialOutput = (byte) => {
      if (this.outputLength === this.output.length) {
        const bigger = new Uint8Array(this.output.length * 2);
        bigger.set(this.output);
        this.output = bigger;
      }
      this.output[this.outputLength++] = byte;
    };
  }

  runSlice(maxInstructions: number, maxMs: number): SliceResult {
    const r = this.machine.runSlice(maxInstructions, maxMs);
    this.flushOutput();
    switch (r.stop) {
      case 'budget':
      case 'stopped':
        return { instructions: r.instructions, halted: false, sleepMs: 0 };
      case 'halted':
        return { instructions: r.instructions, halted: true, sleepMs: r.sleepNs / 1e6 };
      case 'reset':
        this.machine.reset();
        return { instructions: r.instructions, halted: false, sleepMs: 0 };
      case 'halted-forever':
        return { instructions: r.instructions, halted: true, sleepMs: Infinity, stopped: { reason: 'powered off' } };
      case 'triple-fault':
        return { instructions: r.instructions, halted: true, sleepMs: Infinity, stopped: { reason: `triple fault: ${this.machine.shutdownReason}` } };
      case 'out-of-memory':
        return { instructions: r.instructions, halted: true, sleepMs: Infinity, stopped: { reason: 'out of host memory' } };
      case 'test-exit':
        return { instructions: r.instructions, halted: true, sleepMs: Infinity, stopped: { reason: `test exit ${this.machine.exitCode}` } };
    }
  }

  consoleInput(bytes: Uint8Array): number {
    return this.machine.uart0.receive(bytes);
  }

  residentFrames(): number {
    return this.machine.memory.residentFrames;
  }

  interruptsDelivered(): number {
    return this.machine.pic.metrics()['interrupts'] ?? 0;
  }

  pause(): void {
    this.machine.clock.pause();
  }

  resume(): void {
    this.machine.clock.resume();
  }

  dispose(): void {
    this.machine.release();
  }

  private flushOutput(): void {
    if (this.outputLength === 0) return;
    this.onConsoleOutput(this.output.subarray(0, this.outputLength));
    this.outputLength = 0;
  }
}
