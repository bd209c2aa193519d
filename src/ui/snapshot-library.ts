/**
 * Saved snapshots as the page uses them: take one of a VM, restore it into a
 * VM, clone it into a new VM, rename, delete, export and import `.tabvm`
 * files. The snapshot panel, window.tabvisor and the embed's postMessage API
 * all go through here, so they see the same list.
 *
 * Imported files are checked completely (snapshot-inspect.ts) before they are
 * stored; a bad file is refused with the SnapshotError's sentence and touches
 * nothing. The list is kept for React (useSyncExternalStore), as is what each
 * VM's panel is doing (`track`): busy text, the last error, a notice.
 */
import type { Disposable } from '../vmm/events.ts';
import { inspectSnapshotFile, readSnapshotBlob, type SnapshotLimits } from '../vmm/snapshot-inspect.ts';
import { checkName, MAX_SNAPSHOT_NAME_LENGTH, type SnapshotStore, type SnapshotVmConfig, type StoredSnapshot } from '../vmm/snapshot-store.ts';
import type { VmInfo } from '../vmm/vm-registry.ts';
import { consolePreview } from './console-preview.ts';
import { DEFAULT_IMAGE_ID } from './images.ts';
import { messageOf, type CreateVmRequest } from './vm-store.ts';

/** What the library needs of the coordinator. */
export interface SnapshotVms {
  get(id: string): VmInfo;
  snapshot(id: string): Promise<Uint8Array>;
  restore(id: string, file: Uint8Array): Promise<void>;
  transcript(id: string): string;
}

/** What the library needs of the UI store (VmStore): image ids, names in use, and making a clone. */
export interface SnapshotCloner {
  imageIdOf(id: string): string | undefined;
  takenNames(): Set<string>;
  cloneFromSnapshot(file: Uint8Array, request: CreateVmRequest & { name: string }): Promise<VmInfo>;
}

/** What one panel (one VM's) is doing, for its status line. */
export interface SnapshotActivity {
  /** The operation in flight, e.g. "Restoring “boot”…". */
  readonly busy: string | undefined;
  /** Why the last operation failed, one sentence. */
  readonly error: string | undefined;
  /** The outcome of the last operation when it is worth saying (e.g. "Link copied"). */
  readonly notice: string | undefined;
}

export interface LibraryState {
  /** Saved snapshots, newest first. */
  readonly entries: readonly StoredSnapshot[];
  /** False until the list has been read once. */
  readonly loaded: boolean;
  /** Why no snapshot can be saved here (e.g. no IndexedDB), if so. */
  readonly unavailable: string | undefined;
  readonly activity: ReadonlyMap<string, SnapshotActivity>;
}

export interface ExportedSnapshot {
  /** `<name>.tabvm`, with the characters file systems refuse replaced. */
  readonly fileName: string;
  readonly bytes: Uint8Array;
}

/** Refers to a saved snapshot by its id or its (unique) name. */
export type SnapshotRef = string;

const IDLE: SnapshotActivity = { busy: undefined, error: undefined, notice: undefined };
export const SNAPSHOT_EXTENSION = '.tabvm';

export class SnapshotLibrary implements Disposable {
  private readonly listeners = new Set<() => void>();
  private readonly activities = new Map<string, SnapshotActivity>();
  private state: LibraryState = { entries: [], loaded: false, unavailable: undefined, activity: new Map() };
  private readonly store: SnapshotStore | undefined;

  /** `openStore` may throw (no IndexedDB): the library then says why in every answer. */
  constructor(
    private readonly vms: SnapshotVms,
    private readonly cloner: SnapshotCloner,
    openStore: () => SnapshotStore,
    private readonly limits: SnapshotLimits = {},
    private readonly now: () => Date = () => new Date(),
  ) {
    try {
      this.store = openStore();
    } catch (error) {
      this.state = { ...this.state, loaded: true, unavailable: messageOf(error) };
    }
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getState = (): LibraryState => this.state;

  /** Cleans up what a crash left behind and reads the list; call once at start-up. Never rejects: a failure shows as `unavailable`. */
  async load(): Promise<void> {
    try {
      const store = this.requireStore();
      await store.removeOrphans().catch(() => 0); // housekeeping: never a reason not to show the list
      await this.refresh();
    } catch (error) {
      this.state = { ...this.state, loaded: true, unavailable: `The saved snapshots could not be read: ${messageOf(error)}` };
      this.emit();
    }
  }

  /** Rereads the list (another tab may have changed it). */
  async refresh(): Promise<readonly StoredSnapshot[]> {
    const entries = await this.requireStore().list();
    this.state = { ...this.state, entries, loaded: true };
    this.emit();
    return entries;
  }

  /** Takes a snapshot of a running or paused VM and saves it; `name` defaults to the VM's name and the time. */
  async take(vmId: string, name?: string): Promise<StoredSnapshot> {
    const store = this.requireStore();
    const info = this.vms.get(vmId);
    const taken = new Set((await store.list()).map((entry) => entry.name));
    const chosen = name?.trim() ? checkName(name) : uniqueName(`${info.config.name} ${localTime(this.now())}`, taken);
    if (taken.has(chosen)) throw new Error(`there is already a snapshot called “${chosen}”`);
    // The console as it is when the state is copied (the copy happens as the call begins).
    const preview = consolePreview(this.vms.transcript(vmId));
    const file = await this.vms.snapshot(vmId);
    const entry = await store.add(file, { name: chosen, preview, vm: vmConfigOf(info, this.cloner.imageIdOf(vmId)), origin: 'taken' });
    await this.refresh();
    return entry;
  }

  /** Puts VM `vmId` back to a saved snapshot (the VM keeps running or stays paused). */
  async restore(vmId: string, ref: SnapshotRef): Promise<StoredSnapshot> {
    const entry = await this.find(ref);
    await this.vms.restore(vmId, await this.requireStore().read(entry.id));
    return entry;
  }

  /**
   * A new VM running from a saved snapshot, with its own id and name
   * (default "<VM name> (clone)"). It boots the image the snapshot's VM was
   * booted from; for imported files, which do not say, that of `fromVm`
   * (the VM whose panel asked), else the default image.
   */
  async clone(ref: SnapshotRef, options: { name?: string; fromVm?: string } = {}): Promise<VmInfo> {
    const entry = await this.find(ref);
    const file = await this.requireStore().read(entry.id);
    const imageId = entry.vm.imageId ?? (options.fromVm !== undefined ? this.cloner.imageIdOf(options.fromVm) : undefined) ?? DEFAULT_IMAGE_ID;
    const name = options.name?.trim() || uniqueName(`${entry.vm.name} (clone)`, this.cloner.takenNames());
    const { ramMiB, cpuWeight, cpuCapPercent, memoryBudgetMiB } = entry.vm;
    return this.cloner.cloneFromSnapshot(file, { name, imageId, ramMiB, cpuWeight, cpuCapPercent, memoryBudgetMiB });
  }

  async rename(ref: SnapshotRef, name: string): Promise<StoredSnapshot> {
    const entry = await this.find(ref);
    const renamed = await this.requireStore().rename(entry.id, name);
    await this.refresh();
    return renamed;
  }

  async remove(ref: SnapshotRef): Promise<void> {
    const entry = await this.find(ref);
    await this.requireStore().delete(entry.id);
    await this.refresh();
  }

  async exportFile(ref: SnapshotRef): Promise<ExportedSnapshot> {
    const entry = await this.find(ref);
    return { fileName: snapshotFileName(entry.name), bytes: await this.requireStore().read(entry.id) };
  }

  /**
   * Saves a `.tabvm` file from outside after checking all of it. A bad file
   * rejects with the SnapshotError (one sentence) and nothing is stored.
   * `fileName` names the entry (without its extension; made unique).
   */
  async importFile(source: Uint8Array | Blob, fileName?: string): Promise<StoredSnapshot> {
    const store = this.requireStore();
    const file = source instanceof Uint8Array ? source : await readSnapshotBlob(source, this.limits);
    const facts = await inspectSnapshotFile(file, this.limits);
    const base = baseName(fileName) ?? facts.vmName ?? 'imported snapshot';
    const name = uniqueName(base, new Set((await store.list()).map((entry) => entry.name)));
    const vm: SnapshotVmConfig = {
      name: facts.vmName ?? name,
      ramMiB: facts.ramMiB,
      cpuWeight: 1,
      cpuCapPercent: 100,
      memoryBudgetMiB: facts.ramMiB,
    };
    const entry = await store.add(file, { name, preview: [], vm, origin: 'imported' });
    await this.refresh();
    return entry;
  }

  /** A saved snapshot by id, else by name. */
  async find(ref: SnapshotRef): Promise<StoredSnapshot> {
    if (typeof ref !== 'string') throw new TypeError('a snapshot is named by its id or name (a string)');
    const entries = await this.refresh();
    const found = entries.find((entry) => entry.id === ref) ?? entries.find((entry) => entry.name === ref);
    if (!found) throw new Error(`there is no saved snapshot called “${ref}”`);
    return found;
  }

  // ---- what the panels show ------------------------------------------------

  activity(scope: string): SnapshotActivity {
    return this.activities.get(scope) ?? IDLE;
  }

  /**
   * Runs a panel's operation with `busy` shown for `scope` (a VM id); a
   * failure becomes that panel's one error line, "`failure`: <reason>", and
   * resolves undefined (the panel has nothing else to do with it).
   */
  async track<T>(scope: string, busy: string, failure: string, operation: () => Promise<T>): Promise<T | undefined> {
    this.setActivity(scope, { busy, error: undefined, notice: undefined });
    try {
      const result = await operation();
      this.setActivity(scope, { ...this.activity(scope), busy: undefined });
      return result;
    } catch (error) {
      this.setActivity(scope, { busy: undefined, error: `${failure}: ${messageOf(error)}`, notice: undefined });
      return undefined;
    }
  }

  notify(scope: string, notice: string): void {
    this.setActivity(scope, { ...this.activity(scope), notice, error: undefined });
  }

  /** Clears a panel's error and notice. */
  dismiss(scope: string): void {
    this.setActivity(scope, { ...this.activity(scope), error: undefined, notice: undefined });
  }

  dispose(): void {
    this.listeners.clear();
  }

  private setActivity(scope: string, activity: SnapshotActivity): void {
    this.activities.set(scope, activity);
    this.state = { ...this.state, activity: new Map(this.activities) };
    this.emit();
  }

  private requireStore(): SnapshotStore {
    if (!this.store) throw new Error(this.state.unavailable ?? 'snapshots cannot be saved here');
    return this.store;
  }

  private emit(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/** The settings of the VM a snapshot is taken of (its image by catalogue id: the blob URLs it booted from die with the page). */
function vmConfigOf(info: VmInfo, imageId: string | undefined): SnapshotVmConfig {
  const { name, ramMiB, cpuWeight, cpuCapPercent, memoryBudgetMiB } = info.config;
  return { name, ramMiB, cpuWeight, cpuCapPercent, memoryBudgetMiB, ...(imageId !== undefined && { imageId }) };
}

/** `base`, or `base 2`, `base 3`, ... whichever is not taken yet, cut to `maxLength` characters. */
export function uniqueName(base: string, taken: ReadonlySet<string>, maxLength = MAX_SNAPSHOT_NAME_LENGTH): string {
  const root = base.slice(0, maxLength);
  if (!taken.has(root)) return root;
  for (let n = 2; ; n++) {
    const suffix = ` ${n}`;
    const candidate = `${root.slice(0, maxLength - suffix.length)}${suffix}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/** The download name of a snapshot: its name with what Windows, macOS and Linux refuse in file names replaced. */
export function snapshotFileName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const safe = name.replace(/[\\/:*?"<>|\x00-\x1f\x7f]+/g, '-').replace(/^[\s.]+|[\s.]+$/g, '').slice(0, 100);
  return `${safe || 'snapshot'}${SNAPSHOT_EXTENSION}`;
}

/** A file name without its directory and `.tabvm` extension; undefined when nothing is left. */
function baseName(fileName: string | undefined): string | undefined {
  if (fileName === undefined) return undefined;
  const last = fileName.slice(Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\')) + 1);
  const base = (last.toLowerCase().endsWith(SNAPSHOT_EXTENSION) ? last.slice(0, -SNAPSHOT_EXTENSION.length) : last).trim();
  return base === '' ? undefined : base;
}

/** "2026-11-26 14:03:05" in local time. */
function localTime(date: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}
