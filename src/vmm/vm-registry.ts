/**
 * The coordinator's table of VMs: their configuration and lifecycle state.
 * All state changes go through `transition`, which enforces lifecycle.ts and
 * fires `onStateChange`; nothing here knows about workers.
 */
import { Emitter, type Event } from './events.ts';
import { canTransition, IllegalTransitionError, type VmState } from './lifecycle.ts';
import type { ImageSpec } from './shared/protocol.ts';

export interface VmConfig {
  name: string;
  /** Guest RAM size (what the guest sees); may be overcommitted. */
  ramMiB: number;
  /** Relative CPU share among runnable VMs. */
  cpuWeight: number;
  /** Upper bound in percent of one host core (1..100). */
  cpuCapPercent: number;
  /** Resident memory the VM may hold before it is paused. */
  memoryBudgetMiB: number;
  image: ImageSpec;
  /** Compile hot guest code to WebAssembly (default off: see docs/status.md for when it pays). */
  jit: boolean;
}

/** What callers pass: everything but the image has a default. */
export type VmConfigInput = Partial<VmConfig> & { image: ImageSpec };

export const CONFIG_LIMITS = {
  ramMiB: { min: 4, max: 2048 },
  cpuWeight: { min: 0.01, max: 10_000 },
  cpuCapPercent: { min: 1, max: 100 },
  memoryBudgetMiB: { min: 1, max: 65_536 },
} as const;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function normalizeConfig(input: VmConfigInput, defaultName: string): VmConfig {
  const ramMiB = input.ramMiB ?? 64;
  const config: VmConfig = {
    name: (input.name ?? defaultName).trim() || defaultName,
    ramMiB,
    cpuWeight: input.cpuWeight ?? 1,
    cpuCapPercent: input.cpuCapPercent ?? 100,
    memoryBudgetMiB: input.memoryBudgetMiB ?? ramMiB,
    image: input.image,
    jit: input.jit ?? false,
  };
  if (typeof config.jit !== 'boolean') throw new ConfigError(`jit must be true or false, got ${String(config.jit)}`);
  checkRange('ramMiB', config.ramMiB, true);
  checkRange('cpuWeight', config.cpuWeight, false);
  checkRange('cpuCapPercent', config.cpuCapPercent, false);
  checkRange('memoryBudgetMiB', config.memoryBudgetMiB, false);
  if (!config.image || (config.image.kind !== 'synthetic' && config.image.kind !== 'linux')) {
    throw new ConfigError('image: expected { kind: "synthetic" | "linux", ... }');
  }
  return config;
}

function checkRange(key: keyof typeof CONFIG_LIMITS, value: number, integer: boolean): void {
  const { min, max } = CONFIG_LIMITS[key];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new ConfigError(`${key} must be ${integer ? 'an integer ' : 'a number '}in ${min}..${max}, got ${String(value)}`);
  }
}

export interface VmInfo {
  readonly id: string;
  readonly config: Readonly<VmConfig>;
  readonly state: VmState;
  readonly reason?: string;
  readonly detail?: string;
  /** Date.now() of the last state change. */
  readonly since: number;
}

export interface VmStateChange {
  readonly id: string;
  readonly from: VmState;
  readonly to: VmState;
  readonly reason?: string;
  readonly detail?: string;
}

export class UnknownVmError extends Error {
  override name = 'UnknownVmError';
  constructor(readonly vmId: string) {
    super(`no VM with id ${vmId}`);
  }
}

interface VmRecord {
  id: string;
  config: VmConfig;
  state: VmState;
  reason: string | undefined;
  detail: string | undefined;
  since: number;
}

export class VmRegistry {
  private readonly records = new Map<string, VmRecord>();
  private readonly stateChanges = new Emitter<VmStateChange>();
  private nextId = 1;

  readonly onStateChange: Event<VmStateChange> = this.stateChanges.event;

  add(input: VmConfigInput): VmInfo {
    const id = `vm-${this.nextId++}`;
    const record: VmRecord = {
      id,
      config: normalizeConfig(input, id),
      state: 'created',
      reason: undefined,
      detail: undefined,
      since: Date.now(),
    };
    this.records.set(id, record);
    return snapshot(record);
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  get(id: string): VmInfo {
    return snapshot(this.record(id));
  }

  state(id: string): VmState {
    return this.record(id).state;
  }

  /** Every VM that has not been deleted, oldest first. */
  list(): VmInfo[] {
    return [...this.records.values()].map(snapshot);
  }

  /** Changes config fields that may change at any time (CPU share, memory budget, name). */
  update(id: string, patch: Partial<Pick<VmConfig, 'name' | 'cpuWeight' | 'cpuCapPercent' | 'memoryBudgetMiB'>>): VmInfo {
    const record = this.record(id);
    const next = normalizeConfig({ ...record.config, ...patch }, record.config.name);
    record.config = next;
    return snapshot(record);
  }

  /** Throws IllegalTransitionError (naming `action`) unless `id` may become `to`. */
  check(id: string, to: VmState, action: string): void {
    const record = this.record(id);
    if (!canTransition(record.state, to)) throw new IllegalTransitionError(id, record.state, to, action);
  }

  /**
   * Moves `id` to `to`. Staying in the same state only updates the reason
   * (a paused VM learning it ran out of memory) and fires if it changed.
   * Deleting removes the record after the event.
   */
  transition(id: string, to: VmState, reason?: string, detail?: string): void {
    const record = this.record(id);
    const from = record.state;
    if (from === to) {
      if (record.reason === reason && record.detail === detail) return;
    } else if (!canTransition(from, to)) {
      throw new IllegalTransitionError(id, from, to);
    }
    record.state = to;
    record.reason = reason;
    record.detail = detail;
    record.since = Date.now();
    const change: VmStateChange = { id, from, to, ...(reason !== undefined && { reason }), ...(detail !== undefined && { detail }) };
    if (to === 'deleted') this.records.delete(id);
    this.stateChanges.fire(change);
  }

  dispose(): void {
    this.stateChanges.dispose();
    this.records.clear();
  }

  private record(id: string): VmRecord {
    const record = this.records.get(id);
    if (!record) throw new UnknownVmError(id);
    return record;
  }
}

function snapshot(record: VmRecord): VmInfo {
  const info: { -readonly [K in keyof VmInfo]: VmInfo[K] } = {
    id: record.id,
    config: { ...record.config },
    state: record.state,
    since: record.since,
  };
  if (record.reason !== undefined) info.reason = record.reason;
  if (record.detail !== undefined) info.detail = record.detail;
  return info;
}
