/**
 * Our engine's variants in the benchmark: interpreter only, and with the JIT
 * (issue 7). The JIT is switched by a machine option named `jit`; until the
 * Machine takes it, the JIT rows say "not available" instead of quietly
 * running the interpreter twice.
 */
import { Machine, type MachineOptions } from '../src/core/machine.ts';

export interface OurVariant {
  readonly jit: boolean;
}

export const OUR_VARIANTS: readonly OurVariant[] = [{ jit: false }, { jit: true }];

export function variantName(v: OurVariant): string {
  return v.jit ? 'JIT' : 'interpreter';
}

/** Machine options for a variant; `jit` is always given, so the interpreter rows stay interpreter-only once the JIT defaults on. */
export function machineOptionsFor(base: MachineOptions, v: OurVariant): MachineOptions {
  const options: MachineOptions & { jit: boolean } = { ...base, jit: v.jit };
  return options;
}

export type Availability = { readonly available: true } | { readonly available: false; readonly reason: string };

/** The JIT's statistics of a machine: undefined when the Machine has no JIT at all, null when it is off. */
export function jitStatsOf(machine: Machine): unknown {
  return (machine as unknown as { jitStats?: unknown }).jitStats;
}

/**
 * Whether the Machine has a JIT to switch on: it exposes `jitStats` (null
 * while the JIT is off). A JIT run must also show non-null stats at its end,
 * or it is reported as failed (see workloads/ours-node.ts).
 */
export function variantAvailability(v: OurVariant): Availability {
  if (!v.jit) return { available: true };
  const probe = new Machine(machineOptionsFor({ ramBytes: 4 << 20, clock: { mode: 'instructions' } }, v));
  const known = jitStatsOf(probe) !== undefined;
  probe.release();
  return known ? { available: true } : { available: false, reason: 'not available: the Machine has no `jit` option yet' };
}
