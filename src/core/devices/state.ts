/**
 * Readers for device snapshot state: each returns the named field with the
 * expected type or throws one clear sentence naming the device and field, so
 * a damaged or mismatched snapshot fails loudly instead of half-restoring.
 */
import type { DeviceState, StateValue } from './device.ts';

function fail(device: string, key: string, want: string, got: StateValue | undefined): never {
  throw new Error(`${device} state: field "${key}" should be ${want}, found ${got === undefined ? 'nothing' : JSON.stringify(got)}`);
}

export function stateNumber(state: DeviceState, device: string, key: string): number {
  const v = state[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(device, key, 'a number', v);
  return v;
}

/** Like stateNumber, but also accepts Infinity encoded as null (JSON has no Infinity). */
export function stateTime(state: DeviceState, device: string, key: string): number {
  const v = state[key];
  if (v === null) return Infinity;
  if (typeof v !== 'number' || Number.isNaN(v)) fail(device, key, 'a time in ns', v);
  return v;
}

export function stateBoolean(state: DeviceState, device: string, key: string): boolean {
  const v = state[key];
  if (typeof v !== 'boolean') fail(device, key, 'true or false', v);
  return v;
}

export function stateNumbers(state: DeviceState, device: string, key: string, length?: number): number[] {
  const v = state[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) fail(device, key, 'a list of numbers', v);
  const list = v as number[];
  if (length !== undefined && list.length !== length) fail(device, key, `a list of ${length} numbers`, v);
  return list;
}

export function stateObject(state: DeviceState, device: string, key: string): DeviceState {
  const v = state[key];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(device, key, 'an object', v);
  return v as DeviceState;
}

export function stateObjects(state: DeviceState, device: string, key: string, length: number): DeviceState[] {
  const v = state[key];
  if (!Array.isArray(v) || v.length !== length || !v.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x))) {
    fail(device, key, `a list of ${length} objects`, v);
  }
  return v as DeviceState[];
}

/** JSON cannot hold Infinity: store it as null (read back with stateTime). */
export function timeToState(ns: number): number | null {
  return Number.isFinite(ns) ? ns : null;
}
