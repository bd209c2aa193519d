/**
 * CPU scheduling between guest workers: a pure policy (allocateCpu,
 * estimateDemand) and the driver (CpuScheduler) that applies it every period.
 *
 * Every period the driver hands each runnable VM host-time tokens (µs of wall
 * time inside Machine.runSlice, see guest-runtime.ts); a worker out of tokens
 * sleeps until the next grant. The policy is weighted max-min fairness
 * ("water filling"):
 *  - capacity = budget cores x the period that really elapsed; the budget is
 *    the host's cores minus headroom for the UI thread;
 *  - each VM is limited by its cap (% of one core; a worker is one thread, so
 *    never more than 100%) and by its demand;
 *  - capacity is shared in proportion to weight; what a limited VM cannot use
 *    flows to the others (work-conserving), repeatedly, until every VM is
 *    either at its limit or at its weighted share.
 * Demand comes from the last period: a VM that used its grant or waited for
 * tokens is hungry (unbounded); one that spent the period halted gets a little
 * more than it used, so an idle guest reserves almost nothing but can wake up
 * and ask for more within one period.
 *
 * Tokens are measured in wall time, not thread CPU time (browsers have no
 * per-thread CPU clock): a slice preempted by the OS still pays for its wall
 * time, so shares hold even on a loaded host, and the budget stays below the
 * host's cores so the OS rarely has to preempt.
 */
import { ControlBlock, Counter } from './shared/control-block.ts';

export interface CpuClaim {
  id: string;
  weight: number;
  /** Most this VM may get this period, in ms (its cap; at most the period). */
  limitMs: number;
  /** What it is expected to use, in ms; Infinity when hungry. */
  demandMs: number;
}

/**
 * Weighted max-min fair shares of `capacityMs` (see the module comment).
 * Returns grants in ms by id; the sum never exceeds `capacityMs`.
 */
export function allocateCpu(claims: readonly CpuClaim[], capacityMs: number): Map<string, number> {
  const grants = new Map<string, number>();
  let open = claims.filter((c) => {
    const bound = Math.min(c.limitMs, c.demandMs);
    if (!(c.weight > 0) || !(bound > 0)) {
      grants.set(c.id, 0);
      return false;
    }
    return true;
  });
  let remaining = Math.max(0, capacityMs);
  while (open.length > 0) {
    const totalWeight = open.reduce((sum, c) => sum + c.weight, 0);
    const saturated = open.filter((c) => Math.min(c.limitMs, c.demandMs) <= (remaining * c.weight) / totalWeight);
    if (saturated.length === 0) {
      for (const c of open) grants.set(c.id, (remaining * c.weight) / totalWeight);
      break;
    }
    for (const c of saturated) {
      const bound = Math.min(c.limitMs, c.demandMs);
      grants.set(c.id, bound);
      remaining -= bound;
    }
    open = open.filter((c) => !saturated.includes(c));
  }
  return grants;
}

/** What a VM did during the last period, from its counters. */
export interface PeriodUsage {
  elapsedMs: number;
  usedMs: number;
  throttledMs: number;
  haltedMs: number;
  /** What it was granted at the start of the period. */
  grantedMs: number;
}

/** Smallest demand of an idle VM, as a fraction of the period. */
const IDLE_FLOOR = 0.02;
/** An idle VM's demand is this many times what it used. */
const IDLE_HEADROOM = 2;

export function estimateDemand(usage: PeriodUsage | undefined, periodMs: number): number {
  if (!usage) return Infinity;
  if (usage.throttledMs > 0 || usage.usedMs >= 0.9 * usage.grantedMs) return Infinity;
  if (usage.haltedMs >= 0.5 * usage.elapsedMs) return Math.max(usage.usedMs * IDLE_HEADROOM, IDLE_FLOOR * periodMs);
  // Neither halted nor throttled yet under its grant: it wanted to run but the
  // host did not schedule it (or it just started). Keep its fair share.
  return Infinity;
}

export interface SchedulerTarget {
  readonly id: string;
  readonly weight: number;
  /** Percent of one core, 1..100. */
  readonly capPercent: number;
  readonly control: ControlBlock;
}

export interface SchedulerOptions {
  periodMs?: number;
  /** Cores the guests may use together. */
  budgetCores: number;
  now?: () => number;
}

interface TargetHistory {
  at: number;
  used: number;
  throttled: number;
  halted: number;
  grantedMs: number;
  usage: PeriodUsage | undefined;
}

/** Longest period a late timer may account for (a stalled main thread must not cause a burst). */
const MAX_PERIODS_PER_TICK = 2;
/** Unused tokens may carry over up to this many periods' grant. */
const CARRY_PERIODS = 2;

export class CpuScheduler {
  readonly periodMs: number;
  private budgetCores: number;
  private readonly now: () => number;
  private readonly history = new Map<string, TargetHistory>();
  private readonly counters = ControlBlock.counterArray();
  private lastTick: number | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: SchedulerOptions) {
    this.periodMs = options.periodMs ?? 50;
    this.budgetCores = options.budgetCores;
    this.now = options.now ?? (() => performance.now());
  }

  get budget(): number {
    return this.budgetCores;
  }

  setBudgetCores(cores: number): void {
    this.budgetCores = Math.max(0, cores);
  }

  /**
   * Gives a VM that is about to run a first grant (its share if everyone
   * already runnable were hungry), so it does not wait for the next period.
   */
  admit(target: SchedulerTarget, runnableCount: number): void {
    const share = Math.min(target.capPercent / 100, this.budgetCores / Math.max(1, runnableCount));
    const grantMs = share * this.periodMs;
    target.control.grant(grantMs * 1000, grantMs * CARRY_PERIODS * 1000);
    this.history.delete(target.id);
  }

  forget(id: string): void {
    this.history.delete(id);
  }

  /** One scheduling period: measure, decide, grant. Returns the grants in ms (for tests and graphs). */
  tick(targets: readonly SchedulerTarget[]): Map<string, number> {
    const now = this.now();
    const sinceLast = this.lastTick === undefined ? this.periodMs : now - this.lastTick;
    this.lastTick = now;
    const elapsedMs = Math.min(Math.max(sinceLast, 0), this.periodMs * MAX_PERIODS_PER_TICK);

    const claims: CpuClaim[] = [];
    for (const target of targets) {
      const history = this.measure(target, now);
      claims.push({
        id: target.id,
        weight: target.weight,
        limitMs: (Math.min(100, Math.max(0, target.capPercent)) / 100) * elapsedMs,
        demandMs: estimateDemand(history.usage, elapsedMs),
      });
    }
    const grants = allocateCpu(claims, this.budgetCores * elapsedMs);
    for (const target of targets) {
      const grantMs = grants.get(target.id) ?? 0;
      target.control.grant(grantMs * 1000, grantMs * CARRY_PERIODS * 1000);
      this.history.get(target.id)!.grantedMs = grantMs;
    }
    const live = new Set(targets.map((t) => t.id));
    for (const id of this.history.keys()) if (!live.has(id)) this.history.delete(id);
    return grants;
  }

  /** Runs `tick` every period with the targets `source` returns. */
  start(source: () => readonly SchedulerTarget[], onTick?: () => void): void {
    this.stop();
    this.timer = setInterval(() => {
      this.tick(source());
      onTick?.();
    }, this.periodMs);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private measure(target: SchedulerTarget, now: number): TargetHistory {
    target.control.readCounters(this.counters);
    const used = this.counters[Counter.HostUsedUs]! / 1000;
    const throttled = this.counters[Counter.ThrottledUs]! / 1000;
    const halted = this.counters[Counter.HaltedUs]! / 1000;
    const previous = this.history.get(target.id);
    const history: TargetHistory = { at: now, used, throttled, halted, grantedMs: 0, usage: undefined };
    if (previous && used >= previous.used) {
      history.usage = {
        elapsedMs: now - previous.at,
        usedMs: used - previous.used,
        throttledMs: throttled - previous.throttled,
        haltedMs: halted - previous.halted,
        grantedMs: previous.grantedMs,
      };
    }
    this.history.set(target.id, history);
    return history;
  }
}
