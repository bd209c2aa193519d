/**
 * The snapshot methods of window.tabvisor over a library with an in-memory
 * idb-keyval and a fake coordinator: plain results, VMs and snapshots by
 * name or id, bytes in and out, and one sentence for every failure.
 */
import { beforeEach, expect, test } from 'vitest';
import { SnapshotError } from '../core/snapshot/errors.ts';
import { SnapshotStore } from '../vmm/snapshot-store.ts';
import { MemoryKeyValue } from '../vmm/test-support/memory-key-value.ts';
import { sampleSnapshotFile } from '../vmm/test-support/sample-snapshot.ts';
import type { VmInfo } from '../vmm/vm-registry.ts';
import { createSnapshotApi, type TabvisorSnapshotApi } from './scripting-snapshots.ts';
import { SnapshotLibrary } from './snapshot-library.ts';
import { FakeCloner, FakeVms } from './test-support/snapshot-fakes.ts';

let vms: FakeVms;
let cloner: FakeCloner;
let api: TabvisorSnapshotApi<{ id: string; name: string }>;

beforeEach(() => {
  vms = new FakeVms();
  cloner = new FakeCloner();
  const library = new SnapshotLibrary(vms, cloner, () => new SnapshotStore(new MemoryKeyValue(), { now: () => Date.UTC(2026, 10, 26, 12) }));
  api = createSnapshotApi({
    library,
    vmId: (vm) => {
      if (vm === 'web' || vm === 'vm-1') return 'vm-1';
      throw new Error(`there is no VM called “${vm}”`);
    },
    describeVm: (info: VmInfo) => ({ id: info.id, name: info.config.name }),
  });
});

test('snapshot, list, restore and delete, with VMs and snapshots by name or id', async () => {
  const taken = await api.snapshot('web', 'booted');
  expect(taken).toMatchObject({
    name: 'booted',
    createdAt: '2026-11-26T12:00:00.000Z',
    origin: 'taken',
    vm: { name: 'web', ramMiB: 16, image: 'linux' },
    preview: ['Welcome', 'root@tabvisor:~# echo hi > /tmp/f', 'root@tabvisor:~# '],
  });
  expect(taken.sizeBytes).toBeGreaterThan(32);
  // Results are plain data (postMessage and page.evaluate clone them).
  expect(structuredClone(taken)).toEqual(taken);
  expect(await api.listSnapshots()).toEqual([taken]);

  await api.restoreSnapshot('vm-1', 'booted');
  await api.restoreSnapshot('web', taken.id);
  expect(vms.restores).toHaveLength(2);
  await expect(api.restoreSnapshot('nobody', 'booted')).rejects.toThrow('there is no VM called “nobody”');
  await expect(api.restoreSnapshot('web', 'nothing')).rejects.toThrow('there is no saved snapshot called “nothing”');

  expect(await api.renameSnapshot('booted', 'at the prompt')).toMatchObject({ id: taken.id, name: 'at the prompt' });
  await api.deleteSnapshot('at the prompt');
  expect(await api.listSnapshots()).toEqual([]);
});

test('export gives the file; import takes bytes, ArrayBuffers or Blobs and names the entry', async () => {
  await api.snapshot('web', 'booted');
  const bytes = await api.exportSnapshot('booted');
  expect(bytes).toBeInstanceOf(Uint8Array);
  expect(Array.from(bytes.subarray(0, 8), (b) => String.fromCharCode(b)).join('')).toBe('TABVSNAP');
  expect(await api.importSnapshot(bytes, 'copy.tabvm')).toMatchObject({ name: 'copy', origin: 'imported', vm: { image: 'unknown' }, sizeBytes: bytes.length });
  expect((await api.importSnapshot(bytes.slice().buffer as ArrayBuffer)).name).toBe('web');
  expect((await api.importSnapshot(new File([bytes as Uint8Array<ArrayBuffer>], 'dropped.tabvm'))).name).toBe('dropped');
  expect((await api.listSnapshots()).map((s) => s.name).sort()).toEqual(['booted', 'copy', 'dropped', 'web']);
});

test('a bad import rejects with the SnapshotError sentence; wrong argument types say what is expected', async () => {
  const damaged = (await sampleSnapshotFile()).slice();
  damaged[40]! ^= 1;
  await expect(api.importSnapshot(damaged)).rejects.toThrow(new SnapshotError('bad-checksum', 'snapshot is damaged: its checksum does not match (the file was changed or cut)'));
  await expect(api.importSnapshot('TABVSNAP' as unknown as Uint8Array)).rejects.toThrow('importSnapshot: the file must be a Uint8Array, an ArrayBuffer or a Blob');
  await expect(api.snapshot('web', 7 as unknown as string)).rejects.toThrow('snapshot: the name must be a string');
  expect(await api.listSnapshots()).toEqual([]);
});

test('cloneSnapshot answers with the new VM', async () => {
  await api.snapshot('web', 'booted');
  expect(await api.cloneSnapshot('booted')).toEqual({ id: 'vm-2', name: 'web (clone)' });
  expect(await api.cloneSnapshot('booted', { name: 'second' })).toEqual({ id: 'vm-3', name: 'second' });
  expect(cloner.clones.map((c) => c.request.imageId)).toEqual(['linux', 'linux']);
});
