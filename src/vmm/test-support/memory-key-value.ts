/**
 * An in-memory stand-in for idb-keyval (KeyValueBackend) that behaves like
 * IndexedDB where the snapshot store relies on it: values are copied in and
 * out (structured clone), `update` is one atomic step that writes nothing if
 * its updater throws, and each call can be made to fail or wait first, to
 * stage crashes and races between two calls.
 */
import type { KeyValueBackend } from '../snapshot-store.ts';

export type BackendOperation = 'get' | 'set' | 'update' | 'delMany' | 'keys';

/** Runs before an operation touches the data; throwing fails the operation, awaiting delays it. */
export type OperationHook = (operation: BackendOperation, key: string | undefined) => void | Promise<void>;

export class MemoryKeyValue implements KeyValueBackend {
  readonly data = new Map<string, unknown>();
  /** Operations in the order they completed, e.g. "set tabvm:data:x". */
  readonly log: string[] = [];
  beforeOperation: OperationHook | undefined;

  async get(key: string): Promise<unknown> {
    await this.enter('get', key);
    const value = this.data.get(key);
    return value === undefined ? undefined : structuredClone(value);
  }

  async set(key: string, value: unknown): Promise<void> {
    await this.enter('set', key);
    this.data.set(key, structuredClone(value));
    this.log.push(`set ${key}`);
  }

  async update(key: string, updater: (old: unknown) => unknown): Promise<void> {
    await this.enter('update', key);
    const old = this.data.get(key);
    const next = updater(old === undefined ? undefined : structuredClone(old));
    this.data.set(key, structuredClone(next));
    this.log.push(`update ${key}`);
  }

  async delMany(keys: string[]): Promise<void> {
    await this.enter('delMany', keys.join(','));
    for (const key of keys) this.data.delete(key);
    this.log.push(`delMany ${keys.join(',')}`);
  }

  async keys(): Promise<string[]> {
    await this.enter('keys', undefined);
    return [...this.data.keys()];
  }

  /** A copy of everything stored, to compare before and after. */
  dump(): Map<string, unknown> {
    return structuredClone(this.data);
  }

  private async enter(operation: BackendOperation, key: string | undefined): Promise<void> {
    await this.beforeOperation?.(operation, key);
  }
}
