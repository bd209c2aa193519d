/**
 * Memory budgets: a global pool limit and a resident-frame budget per VM.
 * Guest RAM sizes may add up to more than the pool (overcommit): frames are
 * only taken when a guest first writes a page, so what counts is resident
 * memory. When a VM reaches its budget, or the pool runs out while that VM is
 * growing, that VM — and no other — is paused with StateReason.OutOfMemoryBudget.
 *
 * The worker enforces a VM's own budget itself after every slice (the control
 * block carries it), so the VM stops within one slice. The pool limit needs a
 * view of every VM, so the coordinator checks it each scheduling period with
 * `decideMemory`. VMs whose RAM comes from the shared frame pool
 * (src/core/memory/frame-pool.ts) are marked `pooled`: the pool's allocator
 * refuses frames past the limit and the worker pauses the VM that asked, so
 * the pool check here only counts their frames (`pooledFrames`) and pauses
 * the others (synthetic guests, private pools in the non-isolated fallback).
 */
import { StateReason } from './shared/protocol.ts';

export const FRAME_BYTES = 4096;
export const FRAMES_PER_MIB = (1024 * 1024) / FRAME_BYTES;

export function mibToFrames(mib: number): number {
  return Math.floor(mib * FRAMES_PER_MIB);
}

export function framesToMiB(frames: number): number {
  return frames / FRAMES_PER_MIB;
}

export interface MemoryUsage {
  id: string;
  residentFrames: number;
  /** 0 = no budget. */
  budgetFrames: number;
  /** Only running VMs can be paused; paused ones still hold their frames. */
  running: boolean;
  /**
   * Its frames come from the shared frame pool, whose allocator refuses
   * frames beyond the limit and pauses the VM that asked: counted through
   * `pooledFrames` instead, never paused by the pool check here.
   */
  pooled?: boolean;
}

export interface MemoryVerdict {
  id: string;
  reason: typeof StateReason.OutOfMemoryBudget;
  detail: string;
}

/**
 * Which running VMs must be paused now. `vms` are all VMs holding frames;
 * `previous` holds each VM's resident frames at the last check: a VM "asks"
 * for memory when it grew since then. Pure; `poolLimitFrames` 0 means no
 * pool limit.
 */
export function decideMemory(vms: readonly MemoryUsage[], previous: ReadonlyMap<string, number>, poolLimitFrames: number, pooledFrames = 0): MemoryVerdict[] {
  const verdicts: MemoryVerdict[] = [];
  const paused = new Set<string>();
  const running = vms.filter((vm) => vm.running);
  for (const vm of running) {
    if (vm.budgetFrames > 0 && vm.residentFrames >= vm.budgetFrames) {
      verdicts.push({
        id: vm.id,
        reason: StateReason.OutOfMemoryBudget,
        detail: `${vm.residentFrames} resident frames reached its budget of ${vm.budgetFrames}`,
      });
      paused.add(vm.id);
    }
  }
  if (poolLimitFrames > 0) {
    const total = vms.reduce((sum, vm) => sum + (vm.pooled ? 0 : vm.residentFrames), pooledFrames);
    if (total >= poolLimitFrames) {
      for (const vm of running) {
        if (paused.has(vm.id) || vm.pooled) continue;
        const before = previous.get(vm.id);
        if (before !== undefined && vm.residentFrames > before) {
          verdicts.push({
            id: vm.id,
            reason: StateReason.OutOfMemoryBudget,
            detail: `the host pool is exhausted (${total} of ${poolLimitFrames} frames) while this VM grew by ${vm.residentFrames - before}`,
          });
        }
      }
    }
  }
  return verdicts;
}

/** Remembers resident frames between checks for decideMemory. */
export class MemoryPolicy {
  private readonly previous = new Map<string, number>();

  constructor(private poolLimitFrames: number) {}

  get poolLimit(): number {
    return this.poolLimitFrames;
  }

  setPoolLimitFrames(frames: number): void {
    this.poolLimitFrames = Math.max(0, Math.floor(frames));
  }

  /** `pooledFrames`: frames in use in the shared frame pool (VMs marked `pooled` are counted there). */
  evaluate(vms: readonly MemoryUsage[], pooledFrames = 0): MemoryVerdict[] {
    const verdicts = decideMemory(vms, this.previous, this.poolLimitFrames, pooledFrames);
    for (const vm of vms) this.previous.set(vm.id, vm.residentFrames);
    return verdicts;
  }

  forget(id: string): void {
    this.previous.delete(id);
  }
}
