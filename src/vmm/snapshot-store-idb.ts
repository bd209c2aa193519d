/**
 * The browser's backend for SnapshotStore: an IndexedDB database of its own
 * (`tabvisor-snapshots`, object store `snapshots`) through idb-keyval. Every
 * call is one IndexedDB transaction; `update` reads and writes in the same
 * one, which is what makes the store's index update atomic across tabs.
 */
import { createStore, delMany, get, keys, set, update, type UseStore } from 'idb-keyval';
import type { KeyValueBackend } from './snapshot-store.ts';

export const SNAPSHOT_DATABASE = 'tabvisor-snapshots';

export function idbSnapshotBackend(databaseName = SNAPSHOT_DATABASE): KeyValueBackend {
  if (typeof indexedDB === 'undefined') {
    throw new Error('snapshots cannot be saved here: this browser offers no IndexedDB (a private window may turn it off)');
  }
  // A database of our own: idb-keyval only creates its object store when the database is new.
  const store: UseStore = createStore(databaseName, 'snapshots');
  return {
    get: (key) => get(key, store),
    set: (key, value) => set(key, value, store),
    update: (key, updater) => update(key, updater, store),
    delMany: (list) => delMany(list, store),
    keys: async () => (await keys(store)).filter((key): key is string => typeof key === 'string'),
  };
}
