import { beforeEach, describe, expect, test } from 'vitest';
import { CURRENT_FORMAT, formatVersionText } from '../core/snapshot/version.ts';
import { DATA_KEY_PREFIX, INDEX_KEY, SnapshotStore, type NewSnapshot } from './snapshot-store.ts';
import { MemoryKeyValue } from './test-support/memory-key-value.ts';
import { sampleSnapshotFile } from './test-support/sample-snapshot.ts';

const VM = { name: 'vm-1', ramMiB: 16, cpuWeight: 1, cpuCapPercent: 100, memoryBudgetMiB: 16, imageId: 'linux' };
const meta = (name: string): NewSnapshot => ({ name, preview: ['root@tabvisor:~# echo hi > /tmp/f'], vm: VM, origin: 'taken' });

let backend: MemoryKeyValue;
let clock: number;
let ids: number;
let file: Uint8Array;

function openStore(): SnapshotStore {
  return new SnapshotStore(backend, { now: () => clock, randomSuffix: () => `r${++ids}`, orphanGraceMs: 60_000 });
}

const dataKeys = (): string[] => [...backend.data.keys()].filter((key) => key.startsWith(DATA_KEY_PREFIX)).sort();

beforeEach(async () => {
  backend = new MemoryKeyValue();
  clock = Date.UTC(2026, 10, 26, 12);
  ids = 0;
  file = await sampleSnapshotFile();
});

describe('SnapshotStore', () => {
  test('add stores the bytes and the metadata; read gives the same bytes back', async () => {
    const store = openStore();
    const entry = await store.add(file, meta('first'));
    expect(entry).toMatchObject({ name: 'first', createdAt: clock, sizeBytes: file.length, formatVersion: formatVersionText(CURRENT_FORMAT), origin: 'taken', vm: VM });
    expect(entry.preview).toEqual(['root@tabvisor:~# echo hi > /tmp/f']);
    expect(await store.list()).toEqual([entry]);
    expect(await store.read(entry.id)).toEqual(file);
    // Data first, index last: that order is what makes a half-done add invisible.
    expect(backend.log).toEqual([`set ${DATA_KEY_PREFIX}${entry.id}`, `update ${INDEX_KEY}`]);
  });

  test('a failure between the data write and the index write leaves the previous list; the orphan is cleaned up later', async () => {
    const store = openStore();
    const kept = await store.add(file, meta('kept'));
    const before = await store.list();
    backend.beforeOperation = (operation) => {
      if (operation === 'update') throw new Error('the tab crashed');
    };
    // The failing add tries to remove its bytes; make that fail too, as a real crash would.
    const realDelMany = backend.delMany.bind(backend);
    backend.delMany = async () => {
      throw new Error('the tab crashed');
    };
    clock += 1000;
    await expect(store.add(await sampleSnapshotFile({ fill: 1 }), meta('lost'))).rejects.toThrow('the tab crashed');
    backend.beforeOperation = undefined;
    backend.delMany = realDelMany;

    // The list is exactly as before; the lost snapshot's bytes are an orphan.
    expect(await store.list()).toEqual(before);
    expect(dataKeys()).toHaveLength(2);

    // After a reload: too recent to be sure it is an orphan (another tab may be between its writes)...
    const reloaded = openStore();
    expect(await reloaded.removeOrphans()).toBe(0);
    // ...a minute later it is one, and only it goes.
    clock += 60_000;
    expect(await reloaded.removeOrphans()).toBe(1);
    expect(dataKeys()).toEqual([`${DATA_KEY_PREFIX}${kept.id}`]);
    expect(await reloaded.read(kept.id)).toEqual(file);
  });

  test('when only the index write fails, the add removes its own bytes at once', async () => {
    const store = openStore();
    backend.beforeOperation = (operation) => {
      if (operation === 'update') throw new Error('QuotaExceededError');
    };
    await expect(store.add(file, meta('x'))).rejects.toThrow('QuotaExceededError');
    backend.beforeOperation = undefined;
    expect(dataKeys()).toEqual([]);
    expect(await store.list()).toEqual([]);
  });

  test('a failed data write changes nothing', async () => {
    const store = openStore();
    await store.add(file, meta('one'));
    const before = backend.dump();
    backend.beforeOperation = (operation) => {
      if (operation === 'set') throw new Error('QuotaExceededError');
    };
    await expect(store.add(file, meta('two'))).rejects.toThrow('QuotaExceededError');
    expect(backend.dump()).toEqual(before);
  });

  test('a snapshot is not listed while its bytes are still being written', async () => {
    const store = openStore();
    let release: () => void = () => undefined;
    backend.beforeOperation = (operation) => {
      if (operation === 'set') return new Promise<void>((resolve) => (release = resolve));
      return undefined;
    };
    const adding = store.add(file, meta('slow'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await store.list()).toEqual([]);
    release();
    const entry = await adding;
    expect((await store.list()).map((e) => e.id)).toEqual([entry.id]);
  });

  test('list is newest first, with ties in a stable order', async () => {
    const store = openStore();
    const a = await store.add(file, meta('a'));
    clock += 5;
    const b = await store.add(file, meta('b'));
    const c = await store.add(file, meta('c')); // same millisecond as b
    clock -= 100;
    const old = await store.add(file, meta('old'));
    const names = (await store.list()).map((entry) => entry.name);
    expect(names.slice(0, 2).sort()).toEqual(['b', 'c']);
    expect(names.slice(2)).toEqual(['a', 'old']);
    expect(await store.list()).toEqual(await openStore().list());
    expect(new Set([a.id, b.id, c.id, old.id]).size).toBe(4);
  });

  test('rename changes the name only; names are trimmed, unique and not empty', async () => {
    const store = openStore();
    const a = await store.add(file, meta('a'));
    const b = await store.add(file, meta('b'));
    const renamed = await store.rename(a.id, '  after boot  ');
    expect(renamed).toEqual({ ...a, name: 'after boot' });
    expect((await store.entry(a.id)).name).toBe('after boot');
    await expect(store.rename(a.id, 'b')).rejects.toThrow('there is already a snapshot called “b”');
    await expect(store.rename(a.id, '   ')).rejects.toThrow('a snapshot needs a name');
    await expect(store.rename(a.id, 'x'.repeat(101))).rejects.toThrow('at most 100 characters');
    await expect(store.rename('nope', 'c')).rejects.toThrow('there is no saved snapshot with id nope');
    await expect(store.add(file, meta('b'))).rejects.toThrow('there is already a snapshot called “b”');
    // The refused add left no bytes behind.
    expect(dataKeys()).toEqual([a.id, b.id].map((id) => `${DATA_KEY_PREFIX}${id}`).sort());
    // Renaming to its own name is fine.
    expect((await store.rename(b.id, 'b')).name).toBe('b');
  });

  test('delete removes the entry first and then its bytes; other snapshots stay', async () => {
    const store = openStore();
    const a = await store.add(file, meta('a'));
    const b = await store.add(await sampleSnapshotFile({ fill: 2 }), meta('b'));
    backend.log.length = 0;
    await store.delete(a.id);
    expect(backend.log).toEqual([`update ${INDEX_KEY}`, `delMany ${DATA_KEY_PREFIX}${a.id}`]);
    expect((await store.list()).map((entry) => entry.id)).toEqual([b.id]);
    expect(dataKeys()).toEqual([`${DATA_KEY_PREFIX}${b.id}`]);
    await expect(store.read(a.id)).rejects.toThrow(`there is no saved snapshot with id ${a.id}`);
    await expect(store.delete(a.id)).rejects.toThrow('there is no saved snapshot');
  });

  test('a crash after unlisting a deleted snapshot leaves an orphan that is cleaned up', async () => {
    const store = openStore();
    const a = await store.add(file, meta('a'));
    backend.beforeOperation = (operation) => {
      if (operation === 'delMany') throw new Error('the tab crashed');
    };
    await expect(store.delete(a.id)).rejects.toThrow('the tab crashed');
    backend.beforeOperation = undefined;
    expect(await store.list()).toEqual([]);
    clock += 60_000;
    expect(await openStore().removeOrphans()).toBe(1);
    expect(dataKeys()).toEqual([]);
  });

  test('removeOrphans leaves keys that are not snapshot data alone', async () => {
    await backend.set('something-else', 1);
    await backend.set(`${DATA_KEY_PREFIX}not-made-by-add`, new Uint8Array(1));
    expect(await openStore().removeOrphans()).toBe(1);
    expect([...backend.data.keys()]).toEqual(['something-else']);
  });

  test('an index from a newer tabvisor is neither overwritten nor pruned', async () => {
    const store = openStore();
    const a = await store.add(file, meta('a'));
    await backend.set(INDEX_KEY, { format: 2, entries: [], somethingNew: true });
    const before = backend.dump();
    clock += 120_000;
    await expect(store.list()).rejects.toThrow('stored by a newer tabvisor (list format 2)');
    await expect(store.add(file, meta('b'))).rejects.toThrow('newer tabvisor');
    await expect(store.removeOrphans()).rejects.toThrow('newer tabvisor');
    expect(backend.dump()).toEqual(before);
    expect(backend.data.has(`${DATA_KEY_PREFIX}${a.id}`)).toBe(true);
  });

  test('stores a copy of just the file, even when given a view into a larger buffer', async () => {
    const big = new Uint8Array(file.length + 100);
    big.set(file, 50);
    const entry = await openStore().add(big.subarray(50, 50 + file.length), meta('view'));
    const stored = backend.data.get(`${DATA_KEY_PREFIX}${entry.id}`) as Uint8Array;
    expect(stored.buffer.byteLength).toBe(file.length);
    expect(stored).toEqual(file);
  });

  test('refuses bytes that are not a snapshot', async () => {
    await expect(openStore().add(new Uint8Array(64), meta('junk'))).rejects.toThrow(/not a tabvisor snapshot/);
    expect(backend.data.size).toBe(0);
  });
});
