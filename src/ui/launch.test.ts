/**
 * Starting a new VM from a snapshot source (VmStore.create with `from`) and
 * the page's first VM (launchFirstVm), with real guest workers. Synthetic
 * guests cannot restore snapshots, which is what the failure paths need: an
 * instant-boot VM then boots its kernel and says why, a shared snapshot
 * leaves its VM failed with the reason, and a source that cannot be loaded
 * leaves only its pending entry's sentence while the page still gets a VM.
 * (The successful restores of real Linux snapshots: share-link.linux.test.ts
 * and scripts/snapshot/instant-boot.test.ts.)
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { encodeSnapshot } from '../core/snapshot/format.ts';
import type { Coordinator } from '../vmm/coordinator.ts';
import { testCoordinator } from '../vmm/test-support/harness.ts';
import { ImageError, ImageLoader } from './image-loader.ts';
import { InstantBootLoader } from './instant-boot.ts';
import { launchFirstVm } from './launch.ts';
import type { SnapshotSource } from './snapshot-sources.ts';
import { VmStore } from './vm-store.ts';

const notFound = async (): Promise<Response> => new Response('gone', { status: 404 });
const loaderDeps = { baseUrl: 'http://example.test/', fetch: notFound, publish: () => 'blob:unused', sha256: async () => undefined };

/**
 * How long a started VM may take to reach 'running' (a worker starts). Other
 * test files run beside this one; under that load vitest's default poll
 * timeout of 1 s failed once on CI.
 */
const STARTED_WITHIN_MS = 30_000;

let coordinator: Coordinator;
let store: VmStore;

beforeEach(() => {
  coordinator = testCoordinator({ periodMs: 20 });
  store = new VmStore(coordinator, new ImageLoader(loaderDeps));
});

afterEach(async () => {
  store.dispose();
  await coordinator.dispose();
});

const file = await encodeSnapshot({
  manifest: { createdAt: '2026-11-26T00:00:00.000Z', machine: { ramBytes: 16 << 20 }, images: [], components: {} },
  pageNumbers: new Uint32Array(0),
  pageData: new Uint8Array(0),
});

function source(overrides: Partial<SnapshotSource>): SnapshotSource {
  return {
    what: 'instant-boot snapshot',
    coldBootFallback: true,
    promptAfterRestore: true,
    load: async () => ({ file, ramMiB: 16 }),
    ...overrides,
  };
}

describe('a new VM started from a snapshot source', () => {
  test('instant boot that does not restore: the VM boots its kernel and a note says why', async () => {
    const vm = await store.create({ name: 'fast', imageId: 'echo' }, { from: source({}) });
    expect(vm).toMatchObject({ state: 'running', config: { ramMiB: 16 } });
    expect(store.getSnapshot().failures.get(vm.id)).toBe(
      "Instant boot was not possible, so this VM booted from its kernel: The instant-boot snapshot did not restore (cannot restore: this VM's machine does not support snapshots).",
    );
  });

  test('instant boot that cannot be loaded: the VM boots its kernel with the download problem as the note', async () => {
    const vm = await store.create({ imageId: 'echo' }, { from: source({ load: () => Promise.reject(new ImageError('The instant-boot snapshot could not be downloaded (404).')) }) });
    expect(vm.state).toBe('running');
    expect(vm.config.ramMiB).toBe(64);
    expect(store.getSnapshot().failures.get(vm.id)).toBe('Instant boot was not possible, so this VM booted from its kernel: The instant-boot snapshot could not be downloaded (404).');
  });

  test('a shared snapshot that does not restore leaves its VM failed with the reason; Start then boots the kernel', async () => {
    const shared = source({ what: 'shared snapshot', coldBootFallback: false, promptAfterRestore: false });
    const vm = await store.create({ imageId: 'echo' }, { from: shared });
    expect(vm.state).toBe('error');
    expect(store.getSnapshot().failures.get(vm.id)).toBe(
      "The VM could not start: the shared snapshot did not restore (cannot restore: this VM's machine does not support snapshots). Start boots it from its kernel instead.",
    );
    await store.run(vm.id, 'start');
    expect(coordinator.get(vm.id).state).toBe('running');
  });

  test('a shared snapshot that cannot be loaded makes no VM: its pending entry says why', async () => {
    const shared = source({ coldBootFallback: false, load: () => Promise.reject(new ImageError('The share link is damaged: it was cut.')) });
    await expect(store.create({ imageId: 'echo' }, { from: shared })).rejects.toThrow('The share link is damaged: it was cut.');
    expect(coordinator.list()).toEqual([]);
    expect(store.getSnapshot().pending).toMatchObject([{ error: 'The share link is damaged: it was cut.' }]);
  });
});

describe('launchFirstVm', () => {
  const deps = () => ({ store, instantBoot: new InstantBootLoader(loaderDeps), fetch: notFound });

  test('a refused ?snapshot= shows its sentence, and the page still gets a running VM', async () => {
    const message = 'The snapshot link is not usable: “ftp://x” is not the http(s) URL of a snapshot file.';
    const first = await launchFirstVm(deps(), { kind: 'invalid', message }, { imageId: 'echo' });
    expect(store.getSnapshot().pending).toMatchObject([{ error: message }]);
    await expect.poll(() => coordinator.get(first.id).state, { timeout: STARTED_WITHIN_MS }).toBe('running');
    expect(coordinator.list()).toHaveLength(1);
  });

  test('a snapshot URL that cannot be fetched: the sentence, and a VM of the default image', async () => {
    const first = await launchFirstVm(deps(), { kind: 'url', url: 'https://files.example/vm.tabvm' }, { imageId: 'echo' });
    expect(store.getSnapshot().pending).toMatchObject([{ error: 'There is no snapshot at https://files.example/vm.tabvm (404).' }]);
    await expect.poll(() => coordinator.get(first.id).state, { timeout: STARTED_WITHIN_MS }).toBe('running');
  });

  test('?boot=cold and pages without a request boot the kernel without a note', async () => {
    const first = await launchFirstVm(deps(), { kind: 'cold-boot' }, { imageId: 'echo' });
    await expect.poll(() => coordinator.get(first.id).state, { timeout: STARTED_WITHIN_MS }).toBe('running');
    expect(store.getSnapshot().failures.size).toBe(0);
  });
});
