/**
 * The snapshot half of `window.tabvisor` (and so of the embed's postMessage
 * API): saved snapshots as plain objects, addressed by id or name, over the
 * page's SnapshotLibrary. Failures are Errors with a sentence; a bad import
 * rejects with the SnapshotError that says what is wrong with the file.
 */
import type { StoredSnapshot } from '../vmm/snapshot-store.ts';
import type { VmInfo } from '../vmm/vm-registry.ts';
import type { SnapshotLibrary, SnapshotRef } from './snapshot-library.ts';

/** A saved snapshot as scripts see it. */
export interface TabvisorSnapshot {
  readonly id: string;
  readonly name: string;
  /** When it was stored (taken or imported), ISO 8601. */
  readonly createdAt: string;
  readonly sizeBytes: number;
  readonly formatVersion: string;
  /** The last console lines when it was taken (empty for imports). */
  readonly preview: readonly string[];
  readonly origin: 'taken' | 'imported';
  /** The VM it was taken of. `image`: catalogue id, or 'unknown' for imported files. */
  readonly vm: { readonly name: string; readonly ramMiB: number; readonly image: string };
}

/** `Vm`: how scripts see a VM (TabvisorVm in scripting-api.ts, which builds on this file). */
export interface TabvisorSnapshotApi<Vm> {
  /** Takes a snapshot of a running or paused VM and saves it in the browser (name default: VM name and time). */
  snapshot(vm: string, name?: string): Promise<TabvisorSnapshot>;
  /** Saved snapshots, newest first. */
  listSnapshots(): Promise<TabvisorSnapshot[]>;
  /** Puts a running or paused VM back to a saved snapshot (of a VM booted from the same image). */
  restoreSnapshot(vm: string, snapshot: SnapshotRef): Promise<void>;
  /** A new VM (its own id and name) running from a saved snapshot. */
  cloneSnapshot(snapshot: SnapshotRef, config?: { name?: string }): Promise<Vm>;
  renameSnapshot(snapshot: SnapshotRef, name: string): Promise<TabvisorSnapshot>;
  deleteSnapshot(snapshot: SnapshotRef): Promise<void>;
  /** The `.tabvm` file's bytes. */
  exportSnapshot(snapshot: SnapshotRef): Promise<Uint8Array>;
  /** Checks a `.tabvm` file completely and saves it; `name` (e.g. the file name) names it. */
  importSnapshot(file: Uint8Array | ArrayBuffer | Blob, name?: string): Promise<TabvisorSnapshot>;
}

export interface SnapshotApiDeps<Vm> {
  library: SnapshotLibrary;
  /** A VM's id from its name or id (throws a sentence when there is none). */
  vmId: (vm: string) => string;
  /** A VM as scripts see it. */
  describeVm: (info: VmInfo) => Vm;
}

export function createSnapshotApi<Vm>({ library, vmId, describeVm }: SnapshotApiDeps<Vm>): TabvisorSnapshotApi<Vm> {
  return {
    async snapshot(vm, name) {
      if (name !== undefined && typeof name !== 'string') throw new TypeError('snapshot: the name must be a string');
      return toTabvisorSnapshot(await library.take(vmId(vm), name));
    },
    listSnapshots: async () => (await library.refresh()).map(toTabvisorSnapshot),
    async restoreSnapshot(vm, snapshot) {
      await library.restore(vmId(vm), snapshot);
    },
    async cloneSnapshot(snapshot, config = {}) {
      if (config.name !== undefined && typeof config.name !== 'string') throw new TypeError('cloneSnapshot: the name must be a string');
      return describeVm(await library.clone(snapshot, config.name !== undefined ? { name: config.name } : {}));
    },
    renameSnapshot: async (snapshot, name) => {
      if (typeof name !== 'string') throw new TypeError('renameSnapshot: the new name must be a string');
      return toTabvisorSnapshot(await library.rename(snapshot, name));
    },
    deleteSnapshot: (snapshot) => library.remove(snapshot),
    exportSnapshot: async (snapshot) => (await library.exportFile(snapshot)).bytes,
    async importSnapshot(file, name) {
      const bytes = file instanceof ArrayBuffer ? new Uint8Array(file) : file;
      if (!(bytes instanceof Uint8Array) && !(bytes instanceof Blob)) throw new TypeError('importSnapshot: the file must be a Uint8Array, an ArrayBuffer or a Blob');
      return toTabvisorSnapshot(await library.importFile(bytes, name ?? (bytes instanceof File ? bytes.name : undefined)));
    },
  };
}

export function toTabvisorSnapshot(entry: StoredSnapshot): TabvisorSnapshot {
  return {
    id: entry.id,
    name: entry.name,
    createdAt: new Date(entry.createdAt).toISOString(),
    sizeBytes: entry.sizeBytes,
    formatVersion: entry.formatVersion,
    preview: [...entry.preview],
    origin: entry.origin,
    vm: { name: entry.vm.name, ramMiB: entry.vm.ramMiB, image: entry.vm.imageId ?? 'unknown' },
  };
}
