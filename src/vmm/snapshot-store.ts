/**
 * Saved snapshots (`.tabvm` files) with their metadata, in a key-value store
 * (IndexedDB through idb-keyval in browsers, see snapshot-store-idb.ts; an
 * in-memory fake in tests).
 *
 * Layout: each file's bytes under `tabvm:data:<id>`, and one index key
 * `tabvm:index` listing the metadata of every complete snapshot.
 *
 * Atomicity: a snapshot is added by writing its bytes first and the index
 * last, in a single read-modify-write transaction (`update`). So a snapshot
 * appears in the list only when its bytes are all stored, and a crash (or a
 * failed write, e.g. quota) between the two steps leaves the previous list as
 * it was. What such a crash leaves behind is a data key no index entry names:
 * `removeOrphans` deletes those. Deleting goes the other way round (index
 * first, then the bytes), so the list never names missing bytes.
 */
import { readSnapshotHeader } from '../core/snapshot/format.ts';
import { formatVersionText } from '../core/snapshot/version.ts';

/** The operations of idb-keyval the store needs; each one is a transaction of its own. */
export interface KeyValueBackend {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  /** Reads and replaces one value in a single transaction; if `updater` throws, nothing is written and the call rejects. */
  update(key: string, updater: (old: unknown) => unknown): Promise<void>;
  delMany(keys: string[]): Promise<void>;
  keys(): Promise<string[]>;
}

/** The VM a snapshot was taken of: enough to make a clone like it. */
export interface SnapshotVmConfig {
  readonly name: string;
  readonly ramMiB: number;
  readonly cpuWeight: number;
  readonly cpuCapPercent: number;
  readonly memoryBudgetMiB: number;
  /** The catalogue image (src/ui/images.ts) it was booted from, when known (imported files do not say). */
  readonly imageId?: string;
}

export interface StoredSnapshot {
  readonly id: string;
  readonly name: string;
  /** Date.now() when it was stored (taken or imported). */
  readonly createdAt: number;
  /** Size of the `.tabvm` file. */
  readonly sizeBytes: number;
  /** The file's format version, e.g. "1.0.0". */
  readonly formatVersion: string;
  /** The last console lines when it was taken (empty for imported files). */
  readonly preview: readonly string[];
  readonly vm: SnapshotVmConfig;
  readonly origin: 'taken' | 'imported';
}

/** What the caller says about a snapshot it adds; the store fills in id, time, size and format version. */
export type NewSnapshot = Pick<StoredSnapshot, 'name' | 'preview' | 'vm' | 'origin'>;

export interface SnapshotStoreOptions {
  /** Default Date.now. */
  now?: () => number;
  /** Random part of new ids. Default: 8 random hex digits. */
  randomSuffix?: () => string;
  /**
   * Data keys younger than this are not orphans yet: another tab may be
   * between its two writes. Default one minute.
   */
  orphanGraceMs?: number;
}

/** A failure of the store itself (a name clash, a missing entry, an unreadable index). */
export class SnapshotStoreError extends Error {
  override name = 'SnapshotStoreError';
}

export const INDEX_KEY = 'tabvm:index';
export const DATA_KEY_PREFIX = 'tabvm:data:';
/** Bump when the index layout changes; an index with a higher number is left alone. */
const INDEX_FORMAT = 1;
export const MAX_SNAPSHOT_NAME_LENGTH = 100;

interface SnapshotIndex {
  format: number;
  entries: StoredSnapshot[];
}

export class SnapshotStore {
  private readonly now: () => number;
  private readonly randomSuffix: () => string;
  private readonly orphanGraceMs: number;

  constructor(
    private readonly backend: KeyValueBackend,
    options: SnapshotStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.randomSuffix = options.randomSuffix ?? randomHex;
    this.orphanGraceMs = options.orphanGraceMs ?? 60_000;
  }

  /** Every complete snapshot, newest first. */
  async list(): Promise<StoredSnapshot[]> {
    const { entries } = parseIndex(await this.backend.get(INDEX_KEY));
    return sortNewestFirst(entries);
  }

  /** One snapshot's metadata; rejects if there is none with this id. */
  async entry(id: string): Promise<StoredSnapshot> {
    const found = (await this.list()).find((candidate) => candidate.id === id);
    if (!found) throw new SnapshotStoreError(`there is no saved snapshot with id ${id}`);
    return found;
  }

  /** The `.tabvm` file of a snapshot. */
  async read(id: string): Promise<Uint8Array> {
    const entry = await this.entry(id);
    const bytes = await this.backend.get(dataKey(id));
    if (!(bytes instanceof Uint8Array)) throw new SnapshotStoreError(`the file of snapshot “${entry.name}” is missing from the browser's storage`);
    return bytes;
  }

  /**
   * Stores a snapshot file; it is listed once this resolves. `file` must
   * start with a valid `.tabvm` header (its format version is recorded);
   * callers that import files validate them fully first. Rejects, leaving the
   * list as it was, if the name is taken or a write fails.
   */
  async add(file: Uint8Array, snapshot: NewSnapshot): Promise<StoredSnapshot> {
    const { version } = readSnapshotHeader(file, Number.MAX_SAFE_INTEGER);
    const name = checkName(snapshot.name);
    const createdAt = this.now();
    const entry: StoredSnapshot = {
      id: `${createdAt.toString(36)}-${this.randomSuffix()}`,
      name,
      createdAt,
      sizeBytes: file.length,
      formatVersion: formatVersionText(version),
      preview: [...snapshot.preview],
      vm: { ...snapshot.vm },
      origin: snapshot.origin,
    };
    // A view into a larger buffer would be stored with all of that buffer (structured clone copies buffers whole).
    const own = file.byteOffset === 0 && file.byteLength === file.buffer.byteLength ? file : file.slice();
    await this.backend.set(dataKey(entry.id), own);
    try {
      await this.backend.update(INDEX_KEY, (old) => {
        const index = parseIndex(old);
        assertNameFree(index.entries, name);
        return { format: INDEX_FORMAT, entries: [...index.entries, entry] } satisfies SnapshotIndex;
      });
    } catch (error) {
      // Not listed, so the bytes are an orphan now: drop them (removeOrphans would, later).
      await this.backend.delMany([dataKey(entry.id)]).catch(() => undefined);
      throw error;
    }
    return entry;
  }

  async rename(id: string, newName: string): Promise<StoredSnapshot> {
    const name = checkName(newName);
    let renamed: StoredSnapshot | undefined;
    await this.backend.update(INDEX_KEY, (old) => {
      const index = parseIndex(old);
      const at = index.entries.findIndex((candidate) => candidate.id === id);
      if (at < 0) throw new SnapshotStoreError(`there is no saved snapshot with id ${id}`);
      assertNameFree(index.entries.filter((candidate) => candidate.id !== id), name);
      renamed = { ...index.entries[at]!, name };
      const entries = index.entries.slice();
      entries[at] = renamed;
      return { format: INDEX_FORMAT, entries } satisfies SnapshotIndex;
    });
    return renamed!;
  }

  /** Removes a snapshot: from the list first, then its bytes. */
  async delete(id: string): Promise<void> {
    await this.backend.update(INDEX_KEY, (old) => {
      const index = parseIndex(old);
      if (!index.entries.some((candidate) => candidate.id === id)) throw new SnapshotStoreError(`there is no saved snapshot with id ${id}`);
      return { format: INDEX_FORMAT, entries: index.entries.filter((candidate) => candidate.id !== id) } satisfies SnapshotIndex;
    });
    await this.backend.delMany([dataKey(id)]);
  }

  /**
   * Deletes stored bytes that no list entry names (left by a crash between
   * the two writes of `add`, or between the two steps of `delete`), unless
   * they are so recent that another tab may still be adding them. Returns
   * how many it deleted.
   */
  async removeOrphans(): Promise<number> {
    const [keys, { entries }] = await Promise.all([this.backend.keys(), this.backend.get(INDEX_KEY).then(parseIndex)]);
    const listed = new Set(entries.map((entry) => entry.id));
    const cutoff = this.now() - this.orphanGraceMs;
    const orphans = keys.filter((key) => {
      if (!key.startsWith(DATA_KEY_PREFIX)) return false;
      const id = key.slice(DATA_KEY_PREFIX.length);
      if (listed.has(id)) return false;
      const written = idTime(id);
      // An id that is not ours to read (no time in it) is old by definition.
      return written === undefined || written <= cutoff;
    });
    if (orphans.length > 0) await this.backend.delMany(orphans);
    return orphans.length;
  }
}

export function dataKey(id: string): string {
  return `${DATA_KEY_PREFIX}${id}`;
}

/** Trims a snapshot name and checks it is usable; throws a SnapshotStoreError saying why not. */
export function checkName(name: string): string {
  if (typeof name !== 'string') throw new SnapshotStoreError('a snapshot name must be a string');
  const trimmed = name.trim();
  if (trimmed.length === 0) throw new SnapshotStoreError('a snapshot needs a name');
  if (trimmed.length > MAX_SNAPSHOT_NAME_LENGTH) throw new SnapshotStoreError(`a snapshot name may have at most ${MAX_SNAPSHOT_NAME_LENGTH} characters`);
  return trimmed;
}

/**
 * The stored index, or an empty one when nothing is stored yet. An index
 * this build does not understand is refused rather than overwritten: writing
 * it back, or deleting the "orphans" it does not name, would lose snapshots.
 */
function parseIndex(raw: unknown): SnapshotIndex {
  if (raw === undefined) return { format: INDEX_FORMAT, entries: [] };
  const record = raw as Partial<SnapshotIndex> | null;
  if (typeof record !== 'object' || record === null || typeof record.format !== 'number' || !Array.isArray(record.entries)) {
    throw new SnapshotStoreError('the list of saved snapshots in the browser storage is unreadable');
  }
  if (record.format > INDEX_FORMAT) {
    throw new SnapshotStoreError(`the saved snapshots were stored by a newer tabvisor (list format ${record.format}); update this page`);
  }
  return { format: INDEX_FORMAT, entries: record.entries };
}

function assertNameFree(entries: readonly StoredSnapshot[], name: string): void {
  if (entries.some((entry) => entry.name === name)) throw new SnapshotStoreError(`there is already a snapshot called “${name}”`);
}

function sortNewestFirst(entries: readonly StoredSnapshot[]): StoredSnapshot[] {
  // Ties (two in the same millisecond) are broken by id, so the order is the same on every read.
  return [...entries].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/** The time encoded at the start of an id made by `add`, if it has one. */
function idTime(id: string): number | undefined {
  const match = /^([0-9a-z]+)-/.exec(id);
  if (!match) return undefined;
  const time = parseInt(match[1]!, 36);
  return Number.isSafeInteger(time) ? time : undefined;
}

function randomHex(): string {
  const bytes = new Uint8Array(4);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
