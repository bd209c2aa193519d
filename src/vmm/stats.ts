/**
 * Resource graphs: the coordinator samples each VM's control-block counters
 * (~4 Hz) and keeps the derived rates in fixed-size rings, so a long-running
 * tab uses constant memory and the UI can hand the arrays to a chart as is.
 */
import { Counter } from './shared/control-block.ts';
import { FRAMES_PER_MIB } from './memory-policy.ts';

export const STAT_NAMES = [
  /** Host time inside the guest's slices, % of one core. */
  'hostCpuPercent',
  /** Guest instructions retired per second, in millions. */
  'guestMips',
  /** The part of guestMips that ran in compiled (JIT) code. */
  'jitMips',
  'residentMiB',
  'consoleInBytesPerSec',
  'consoleOutBytesPerSec',
  /** Time waiting for CPU tokens, % of wall time. */
  'throttledPercent',
  /** Time halted (idle guest), % of wall time. */
  'haltedPercent',
] as const;

export type StatName = (typeof STAT_NAMES)[number];

export type StatsSample = { readonly time: number } & { readonly [K in StatName]: number };

/** Chronological copies of one VM's history; `time` is in ms (the sampler's clock). */
export type StatsSeries = { readonly time: Float64Array } & { readonly [K in StatName]: Float64Array };

/** A fixed-capacity ring of numbers; the oldest value is overwritten. */
export class SeriesRing {
  private readonly values: Float64Array;
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.values = new Float64Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  push(value: number): void {
    this.values[this.next] = value;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** The most recent value, or NaN when empty. */
  last(): number {
    return this.count === 0 ? NaN : this.values[(this.next - 1 + this.capacity) % this.capacity]!;
  }

  /** Oldest to newest. */
  toArray(): Float64Array {
    const out = new Float64Array(this.count);
    const start = (this.next - this.count + this.capacity) % this.capacity;
    const head = Math.min(this.count, this.capacity - start);
    out.set(this.values.subarray(start, start + head), 0);
    if (head < this.count) out.set(this.values.subarray(0, this.count - head), head);
    return out;
  }

  clear(): void {
    this.next = 0;
    this.count = 0;
  }
}

/** One VM's sampled history. */
export class VmStats {
  private readonly time: SeriesRing;
  private readonly rings: Record<StatName, SeriesRing>;
  private previous: Float64Array | undefined;
  private previousTime = 0;
  private latestSample: StatsSample | undefined;

  constructor(readonly capacity: number) {
    this.time = new SeriesRing(capacity);
    this.rings = Object.fromEntries(STAT_NAMES.map((name) => [name, new SeriesRing(capacity)])) as Record<StatName, SeriesRing>;
  }

  /**
   * Adds a sample from cumulative counters read at `timeMs`. The first call
   * (and the first after `rebase`) only sets the baseline and returns
   * undefined.
   */
  sample(counters: Float64Array, timeMs: number): StatsSample | undefined {
    const previous = this.previous;
    const dt = timeMs - this.previousTime;
    if (!previous || dt <= 0) {
      this.previous = counters.slice();
      this.previousTime = timeMs;
      return undefined;
    }
    const delta = (c: Counter): number => Math.max(0, counters[c]! - previous[c]!);
    const perSecond = 1000 / dt;
    const percentOfWall = 100 / (dt * 1000);
    const sample: StatsSample = {
      time: timeMs,
      hostCpuPercent: delta(Counter.HostUsedUs) * percentOfWall,
      guestMips: (delta(Counter.Instructions) * perSecond) / 1e6,
      jitMips: (delta(Counter.JitInstructions) * perSecond) / 1e6,
      residentMiB: counters[Counter.ResidentFrames]! / FRAMES_PER_MIB,
      consoleInBytesPerSec: delta(Counter.ConsoleInBytes) * perSecond,
      consoleOutBytesPerSec: delta(Counter.ConsoleOutBytes) * perSecond,
      throttledPercent: delta(Counter.ThrottledUs) * percentOfWall,
      haltedPercent: delta(Counter.HaltedUs) * percentOfWall,
    };
    this.time.push(timeMs);
    for (const name of STAT_NAMES) this.rings[name].push(sample[name]);
    previous.set(counters);
    this.previousTime = timeMs;
    this.latestSample = sample;
    return sample;
  }

  /** The counters restart (a new worker): the next sample only sets a baseline. */
  rebase(): void {
    this.previous = undefined;
  }

  latest(): StatsSample | undefined {
    return this.latestSample;
  }

  series(): StatsSeries {
    const series = Object.fromEntries(STAT_NAMES.map((name) => [name, this.rings[name].toArray()])) as Record<StatName, Float64Array>;
    return { time: this.time.toArray(), ...series };
  }

  get length(): number {
    return this.time.length;
  }
}
