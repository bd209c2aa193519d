/**
 * The scripting API and the UI store against a real coordinator (Node
 * worker_threads running synthetic guests), so names, creation, console and
 * deletion are checked end to end without a browser.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Coordinator } from '../vmm/coordinator.ts';
import { SnapshotStore } from '../vmm/snapshot-store.ts';
import { testCoordinator } from '../vmm/test-support/harness.ts';
import { MemoryKeyValue } from '../vmm/test-support/memory-key-value.ts';
import { sampleSnapshotFile } from '../vmm/test-support/sample-snapshot.ts';
import { ImageLoader } from './image-loader.ts';
import { createScriptingApi, toPattern, type TabvisorApi } from './scripting-api.ts';
import { SnapshotLibrary } from './snapshot-library.ts';
import { VmStore } from './vm-store.ts';

let coordinator: Coordinator;
let store: VmStore;
let api: TabvisorApi;
let saved: MemoryKeyValue;

beforeEach(() => {
  coordinator = testCoordinator({ periodMs: 20 });
  const loader = new ImageLoader({
    baseUrl: 'http://example.test/',
    fetch: async () => new Response('gone', { status: 404 }),
    publish: () => 'blob:unused',
    sha256: async () => undefined,
  });
  store = new VmStore(coordinator, loader);
  saved = new MemoryKeyValue();
  api = createScriptingApi(coordinator, store, Promise.resolve(), new SnapshotLibrary(coordinator, store, () => new SnapshotStore(saved)));
});

afterEach(async () => {
  store.dispose();
  await coordinator.dispose();
});

describe('window.tabvisor', () => {
  test('create boots a VM; it is addressed by name or id; send, waitFor and read see its console', async () => {
    const vm = await api.create({ name: 'demo', image: 'echo', ramMiB: 32 });
    expect(vm).toMatchObject({ id: 'vm-1', name: 'demo', state: 'running', image: 'echo', ramMiB: 32, memoryBudgetMiB: 32 });
    expect(api.get('vm-1')).toEqual(api.get('demo'));
    await api.send('demo', 'hello');
    expect(await api.waitFor('demo', 'hello', 5000)).toBe('hello');
    // Expect-style: output up to the previous match is consumed.
    await expect(api.waitFor('vm-1', /stand-in|hel+o/, 50)).rejects.toThrow(/no output matching/);
    expect(api.read('demo')).toContain('hello');
    expect(api.read('demo')).toBe('');
  });

  test('lifecycle by name, and delete forgets the VM', async () => {
    await api.create({ name: 'a', image: 'echo' });
    await api.pause('a');
    expect(api.get('a').state).toBe('paused');
    await api.resume('a');
    expect(api.get('a').state).toBe('running');
    await api.delete('a');
    expect(api.list()).toEqual([]);
    expect(() => api.get('a')).toThrow('there is no VM called “a”');
  });

  test('create: start false, taken names and unknown images', async () => {
    expect(await api.create({ image: 'echo', start: false })).toMatchObject({ id: 'vm-1', name: 'vm-1', state: 'created' });
    await expect(api.create({ name: 'vm-1' })).rejects.toThrow('there is already a VM called “vm-1”');
    await expect(api.create({ image: 'windows' })).rejects.toThrow(/there is no image “windows” \(known: linux, echo/);
    await expect(api.send('vm-1', 'x')).rejects.toThrow('cannot send to vm-1: it is created');
  });

  test('a failed image download leaves a pending entry with a plain-language reason', async () => {
    await expect(api.create({ name: 'lin', image: 'linux' })).rejects.toThrow('The image manifest could not be downloaded (404).');
    const [pending] = store.getSnapshot().pending;
    expect(pending).toMatchObject({ name: 'lin', error: 'The image manifest could not be downloaded (404).' });
    store.dismiss(pending!.key);
    expect(store.getSnapshot().pending).toEqual([]);
  });

  test('snapshot methods reach the coordinator: a guest without snapshot support is refused and nothing is saved', async () => {
    await api.create({ name: 'demo', image: 'echo' });
    await expect(api.snapshot('demo', 'x')).rejects.toThrow("cannot snapshot: this VM's machine does not support snapshots");
    await expect(api.snapshot('nobody')).rejects.toThrow('there is no VM called “nobody”');
    expect(await api.listSnapshots()).toEqual([]);
    expect(saved.data.size).toBe(0);
    expect(api.get('demo').state).toBe('running');
  });
});

describe('VmStore', () => {
  test('tracks busy operations and keeps failures in plain language', async () => {
    const info = await store.create({ imageId: 'echo' }, { start: false, focus: true });
    expect(store.getSnapshot().focus).toEqual({ id: info.id, seq: 1 });
    await expect(store.run(info.id, 'pause')).rejects.toThrow();
    expect(store.getSnapshot().failures.get(info.id)).toMatch(/^Pause did not work: cannot pause vm-1/);
    await store.run(info.id, 'start');
    expect(store.getSnapshot().failures.has(info.id)).toBe(false);
    expect(store.getSnapshot().vms[0]!.state).toBe('running');
    expect(store.getSnapshot().busy.size).toBe(0);
  });

  test('cloneFromSnapshot makes a VM of the given image and name; a file its guest cannot restore leaves it failed with the reason', async () => {
    await store.create({ name: 'taken', imageId: 'echo' }, { start: false });
    const file = await sampleSnapshotFile();
    await expect(store.cloneFromSnapshot(file, { name: 'taken', imageId: 'echo' })).rejects.toThrow('there is already a VM called “taken”');
    await expect(store.cloneFromSnapshot(file, { name: 'c', imageId: 'windows' })).rejects.toThrow(/there is no image “windows”/);
    expect(coordinator.list()).toHaveLength(1);
    // Synthetic guests have no snapshot support: the clone is made, then fails with the worker's reason.
    await expect(store.cloneFromSnapshot(file, { name: 'clone', imageId: 'echo', ramMiB: 16 })).rejects.toThrow(
      "clone vm-2 failed: cannot restore: this VM's machine does not support snapshots",
    );
    expect(coordinator.get('vm-2')).toMatchObject({ state: 'error', config: { name: 'clone', ramMiB: 16 } });
    expect(store.imageIdOf('vm-2')).toBe('echo');
    expect(api.get('clone')).toMatchObject({ image: 'echo', state: 'error' });
  });
});

test('toPattern matches strings literally', () => {
  expect(toPattern('a.b (c)').test('a.b (c)')).toBe(true);
  expect(toPattern('a.b').test('axb')).toBe(false);
});
