/**
 * A stand-in guest for the hypervisor plumbing: it burns host time like a busy
 * guest, or halts like an idle one, grows resident memory, echoes its serial
 * input through a 16-byte "UART FIFO", and can end itself or throw. The
 * scheduler and lifecycle tests run on it, and the playground can show VMs
 * before the x86 Machine is integrated.
 *
 * Guest time advances by the slices' wall time plus, when halted, the sleep it
 * asked for (as if the timer interrupt came on time): that is the clock for
 * `stopAfterMs`, `throwAfterMs`, `uncaughtAfterMs` and memory growth.
 */
import type { SyntheticSpec } from '../shared/protocol.ts';
import type { GuestMachine, SliceResult } from './guest-machine.ts';

/** Like a 16550's receive FIFO. */
const RX_FIFO_BYTES = 16;
/** Work units between two clock reads in the busy loop. */
const CHUNK = 2048;

export class SyntheticMachine implements GuestMachine {
  onConsoleOutput: (bytes: Uint8Array) => void = () => {};

  private readonly fifo = new Uint8Array(RX_FIFO_BYTES);
  private fifoLength = 0;
  private guestMs = 0;
  private frames: number;
  private banner: string | undefined;
  private state = 0x12345678;
  private uncaughtArmed = true;
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly spec: SyntheticSpec,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.frames = spec.initialFrames ?? 16;
    this.banner = spec.banner;
  }

  runSlice(maxInstructions: number, maxMs: number): SliceResult {
    const start = this.now();
    if (this.banner !== undefined) {
      this.onConsoleOutput(this.encoder.encode(this.banner));
      this.banner = undefined;
    }
    if (this.fifoLength > 0) {
      // Echo, as a shell with a tty in cooked mode would.
      this.onConsoleOutput(this.fifo.slice(0, this.fifoLength));
      this.fifoLength = 0;
    }

    let instructions: number;
    let halted = false;
    let sleepMs = 0;
    if (this.spec.behaviour === 'busy') {
      instructions = this.spin(maxInstructions, start + maxMs);
    } else {
      instructions = this.spin(Math.min(maxInstructions, 500), start + maxMs);
      halted = true;
      sleepMs = this.spec.sleepMs ?? 10;
    }

    const elapsed = this.now() - start;
    this.advance(elapsed + (halted ? sleepMs : 0));
    if (this.spec.throwAfterMs !== undefined && this.guestMs >= this.spec.throwAfterMs) {
      throw new Error('synthetic engine fault');
    }
    if (this.spec.uncaughtAfterMs !== undefined && this.uncaughtArmed && this.guestMs >= this.spec.uncaughtAfterMs) {
      this.uncaughtArmed = false;
      setTimeout(() => {
        throw new Error('synthetic uncaught error');
      }, 0);
    }
    if (this.spec.hangAfterMs !== undefined && this.guestMs >= this.spec.hangAfterMs) {
      for (;;) this.state = this.spin(CHUNK, Infinity) ^ this.state;
    }
    if (this.spec.stopAfterMs !== undefined && this.guestMs >= this.spec.stopAfterMs) {
      return { instructions, halted: false, sleepMs: 0, stopped: { reason: this.spec.stopReason ?? 'guest powered off' } };
    }
    return { instructions, halted, sleepMs };
  }

  consoleInput(bytes: Uint8Array): number {
    const n = Math.min(bytes.length, RX_FIFO_BYTES - this.fifoLength);
    this.fifo.set(bytes.subarray(0, n), this.fifoLength);
    this.fifoLength += n;
    return n;
  }

  residentFrames(): number {
    return Math.floor(this.frames);
  }

  /** Busy work that the JIT cannot remove; returns the "instructions" done. */
  private spin(maxInstructions: number, deadline: number): number {
    let x = this.state;
    let done = 0;
    while (done < maxInstructions) {
      const n = Math.min(CHUNK, maxInstructions - done);
      for (let i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
      }
      done += n;
      if (this.now() >= deadline) break;
    }
    this.state = x;
    return done;
  }

  private advance(ms: number): void {
    this.guestMs += ms;
    this.frames += (this.spec.framesPerMs ?? 0) * ms;
  }
}
