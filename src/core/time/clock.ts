/**
 * Guest time. Every device that needs time (PIT, RTC, UART timeouts) and the
 * CPU's time-stamp counter read one clock in guest nanoseconds, so a VM's
 * notion of time can be paused, snapshotted and (in the deterministic mode)
 * replayed exactly.
 *
 * Two sources:
 * - RealTimeClock follows a host monotonic clock (e.g. `() => performance.now()`)
 *   while the VM runs; pause() freezes guest time, resume() continues from the
 *   frozen value, so host time spent paused never reaches the guest.
 * - InstructionClock derives time from retired instructions at a fixed cost
 *   per instruction: the same instruction stream always sees the same times.
 *   When the CPU idles (HLT), the machine skips time forward to the next
 *   timer deadline with skipTo(), as no instructions retire while halted.
 *
 * The TSC is guest nanoseconds times the TSC frequency; with the default of
 * 1 GHz one tick is one guest nanosecond.
 */
import { DOUBLE_ZERO } from '../util/number-fields.ts';

/** Default time-stamp counter frequency: 1 GHz, so TSC ticks = guest ns. */
export const DEFAULT_TSC_HZ = 1_000_000_000;

export interface ClockState {
  kind: 'realtime' | 'instructions';
  nowNs: number;
  tscHz: number;
}

export interface GuestClock {
  /** Guest nanoseconds since the VM's clock was created (monotonic, never decreasing). */
  nowNs(): number;
  /** TSC frequency in Hz. */
  readonly tscHz: number;
  /** The time-stamp counter: an integer, exact below 2^53. */
  readTsc(): number;
  /** Stops guest time (the VM is paused). */
  pause(): void;
  /** Lets guest time run again from where it stopped. */
  resume(): void;
  readonly paused: boolean;
  /**
   * Moves guest time forward to `ns` if it is later than now (idle skipping
   * while halted). Only meaningful for the instruction clock; the real-time
   * clock ignores it, since real time passes by itself.
   */
  skipTo(ns: number): void;
  saveState(): ClockState;
  restoreState(state: ClockState): void;
}

function tscFrom(ns: number, tscHz: number): number {
  return tscHz === 1_000_000_000 ? Math.floor(ns) : Math.floor((ns * tscHz) / 1e9);
}

export class RealTimeClock implements GuestClock {
  readonly tscHz: number;
  private readonly hostNowMs: () => number;
  /** Guest ns at the host instant `anchorMs` (while running). */
  private baseNs: number;
  private anchorMs: number;
  private pausedFlag = false;
  private last = DOUBLE_ZERO;

  /** `hostNowMs` must be monotonic (performance.now(), not Date.now()). */
  constructor(hostNowMs: () => number, options: { startNs?: number; tscHz?: number; startPaused?: boolean } = {}) {
    this.hostNowMs = hostNowMs;
    this.tscHz = options.tscHz ?? DEFAULT_TSC_HZ;
    this.baseNs = options.startNs ?? 0;
    this.anchorMs = hostNowMs();
    this.last = this.baseNs;
    if (options.startPaused) this.pausedFlag = true;
  }

  nowNs(): number {
    if (this.pausedFlag) return this.baseNs;
    const ns = this.baseNs + (this.hostNowMs() - this.anchorMs) * 1e6;
    // Host clocks are monotonic, but guard anyway: guest time must never run backwards.
    if (ns > this.last) this.last = ns;
    return this.last;
  }

  readTsc(): number {
    return tscFrom(this.nowNs(), this.tscHz);
  }

  get paused(): boolean {
    return this.pausedFlag;
  }

  pause(): void {
    if (this.pausedFlag) return;
    this.baseNs = this.nowNs();
    this.pausedFlag = true;
  }

  resume(): void {
    if (!this.pausedFlag) return;
    this.anchorMs = this.hostNowMs();
    this.last = this.baseNs;
    this.pausedFlag = false;
  }

  skipTo(_ns: number): void {
    // Real time cannot be skipped: a halted guest waits for the host clock.
  }

  saveState(): ClockState {
    return { kind: 'realtime', nowNs: this.nowNs(), tscHz: this.tscHz };
  }

  restoreState(state: ClockState): void {
    this.baseNs = state.nowNs;
    this.last = state.nowNs;
    this.anchorMs = this.hostNowMs();
  }
}

export class InstructionClock implements GuestClock {
  readonly tscHz: number;
  readonly nsPerInstruction: number;
  private readonly instructions: () => number;
  /** Guest ns added on top of instructions * nsPerInstruction (skips, restores). */
  private offsetNs: number;
  private pausedFlag = false;

  /**
   * `instructions` returns the CPU's retired instruction count (e.g.
   * `() => cpu.instructionsRetired`); `nsPerInstruction` fixes the pace
   * (default 1 ns, i.e. a 1 GIPS machine).
   */
  constructor(instructions: () => number, options: { nsPerInstruction?: number; tscHz?: number; startNs?: number } = {}) {
    this.instructions = instructions;
    this.nsPerInstruction = options.nsPerInstruction ?? 1;
    this.tscHz = options.tscHz ?? DEFAULT_TSC_HZ;
    this.offsetNs = (options.startNs ?? 0) - instructions() * this.nsPerInstruction;
  }

  nowNs(): number {
    return this.offsetNs + this.instructions() * this.nsPerInstruction;
  }

  readTsc(): number {
    return tscFrom(this.nowNs(), this.tscHz);
  }

  get paused(): boolean {
    return this.pausedFlag;
  }

  // Time only advances with retired instructions, which stop when the VM is paused.
  pause(): void {
    this.pausedFlag = true;
  }

  resume(): void {
    this.pausedFlag = false;
  }

  skipTo(ns: number): void {
    const now = this.nowNs();
    if (ns > now) this.offsetNs += ns - now;
  }

  saveState(): ClockState {
    return { kind: 'instructions', nowNs: this.nowNs(), tscHz: this.tscHz };
  }

  restoreState(state: ClockState): void {
    this.offsetNs = state.nowNs - this.instructions() * this.nsPerInstruction;
  }
}
