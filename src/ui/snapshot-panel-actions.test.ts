/**
 * The snapshot panel's operations with the words it shows, against the
 * library (in-memory idb-keyval, fake VMs) and a recording browser platform.
 */
import { beforeEach, expect, test } from 'vitest';
import { SnapshotStore } from '../vmm/snapshot-store.ts';
import { MemoryKeyValue } from '../vmm/test-support/memory-key-value.ts';
import { sampleSnapshotFile } from '../vmm/test-support/sample-snapshot.ts';
import { SnapshotLibrary } from './snapshot-library.ts';
import { snapshotPanelActions, type PanelPlatform, type ShareLinkResult, type SnapshotPanelActions } from './snapshot-panel-actions.ts';
import { FakeCloner, FakeVms } from './test-support/snapshot-fakes.ts';

let library: SnapshotLibrary;
let vms: FakeVms;
let actions: SnapshotPanelActions;
let downloads: Array<{ fileName: string; bytes: Uint8Array }>;
let copied: string[];
let link: () => Promise<ShareLinkResult>;

beforeEach(async () => {
  vms = new FakeVms();
  library = new SnapshotLibrary(vms, new FakeCloner(), () => new SnapshotStore(new MemoryKeyValue()));
  await library.load();
  downloads = [];
  copied = [];
  link = async () => ({ kind: 'fragment', url: 'http://localhost/#snapshot=abc', bytes: 2048 });
  const platform: PanelPlatform = {
    download: (fileName, bytes) => downloads.push({ fileName, bytes }),
    copyText: async (text) => {
      copied.push(text);
    },
    shareLink: () => link(),
  };
  actions = snapshotPanelActions(library, 'vm-1', platform);
});

const shown = () => library.activity('vm-1');

test('take, restore, rename, export and delete say what happened', async () => {
  const entry = (await actions.take('booted'))!;
  expect(shown().notice).toMatch(/^Saved “booted” \(\d+(\.\d)? (B|KiB)\)\.$/);
  await actions.restore(entry);
  expect(vms.restores).toHaveLength(1);
  expect(shown()).toEqual({ busy: undefined, error: undefined, notice: 'Restored “booted”.' });
  expect(await actions.rename(entry, 'at the prompt')).toBe(true);
  const renamed = library.getState().entries[0]!;
  await actions.exportFile(renamed);
  expect(downloads.map((d) => d.fileName)).toEqual(['at the prompt.tabvm']);
  expect(downloads[0]!.bytes.length).toBe(entry.sizeBytes);
  await actions.remove(renamed);
  expect(shown().notice).toBe('Deleted “at the prompt”.');
  expect(library.getState().entries).toEqual([]);
});

test('a bad file gives one error line naming the file and the reason, and stores nothing', async () => {
  await actions.take('kept');
  const damaged = (await sampleSnapshotFile()).slice();
  damaged[damaged.length - 3]! ^= 0x80;
  await actions.importFile(new Blob([damaged as Uint8Array<ArrayBuffer>]), 'bad.tabvm');
  expect(shown()).toEqual({
    busy: undefined,
    error: 'bad.tabvm was not imported: snapshot is damaged: its checksum does not match (the file was changed or cut)',
    notice: undefined,
  });
  expect(library.getState().entries.map((e) => e.name)).toEqual(['kept']);
  // The next good operation replaces the error.
  await actions.importFile(new Blob([(await sampleSnapshotFile()) as Uint8Array<ArrayBuffer>]), 'good.tabvm');
  expect(shown()).toMatchObject({ error: undefined, notice: expect.stringMatching(/^Imported “good”/) });
});

test('a refused restore leaves the VM and says why', async () => {
  const entry = (await actions.take('booted'))!;
  vms.restoreError = new Error('snapshot is of a VM booted from other images (a) than this VM’s (b)');
  await actions.restore(entry);
  expect(shown().error).toBe('“booted” was not restored: snapshot is of a VM booted from other images (a) than this VM’s (b)');
  expect(vms.restores).toEqual([]);
});

test('copy link copies a small link, explains a large one, and reports a failure', async () => {
  await actions.copyLink();
  expect(copied).toEqual(['http://localhost/#snapshot=abc']);
  expect(shown().notice).toBe('Link copied (2.0 KiB).');

  link = async () => ({ kind: 'too-large', bytes: 3_000_000, limit: 64_000, hint: 'Export the snapshot, host the file and share ?snapshot=<its URL>.' });
  await actions.copyLink();
  expect(copied).toHaveLength(1);
  expect(shown().notice).toBe("This VM's state is too large for a link (2.9 MiB; links hold 63 KiB). Export the snapshot, host the file and share ?snapshot=<its URL>.");

  link = async () => {
    throw new Error('share links are not built yet');
  };
  await actions.copyLink();
  expect(shown().error).toBe('No link was made: share links are not built yet');
});
