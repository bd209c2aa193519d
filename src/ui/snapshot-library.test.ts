/**
 * The snapshot library against an in-memory idb-keyval and fake VMs: what
 * is stored when a snapshot is taken, what restore and clone are given, and
 * that every kind of bad import file is refused with one sentence while the
 * stored snapshots and the VMs stay exactly as they were.
 */
import { beforeEach, describe, expect, test } from 'vitest';
import { SnapshotError } from '../core/snapshot/errors.ts';
import { encodeSnapshot, PAGE_SIZE, type SnapshotManifest } from '../core/snapshot/format.ts';
import { CURRENT_FORMAT, formatVersionText } from '../core/snapshot/version.ts';
import { SnapshotStore } from '../vmm/snapshot-store.ts';
import { MemoryKeyValue } from '../vmm/test-support/memory-key-value.ts';
import { sampleSnapshotFile } from '../vmm/test-support/sample-snapshot.ts';
import { SnapshotLibrary, snapshotFileName, uniqueName } from './snapshot-library.ts';
import { FakeCloner, FakeVms } from './test-support/snapshot-fakes.ts';

let backend: MemoryKeyValue;
let vms: FakeVms;
let cloner: FakeCloner;
let library: SnapshotLibrary;
const LIMITS = { maxFileBytes: 100_000, maxContentBytes: 1_000_000 };

beforeEach(async () => {
  backend = new MemoryKeyValue();
  vms = new FakeVms();
  cloner = new FakeCloner();
  library = new SnapshotLibrary(vms, cloner, () => new SnapshotStore(backend), LIMITS, () => new Date(2026, 10, 26, 14, 3, 5));
  await library.load();
});

describe('taking, restoring and cloning', () => {
  test('take stores the file with the VM settings, its image and the console preview', async () => {
    const entry = await library.take('vm-1', 'booted');
    expect(entry).toMatchObject({
      name: 'booted',
      origin: 'taken',
      formatVersion: formatVersionText(CURRENT_FORMAT),
      preview: ['Welcome', 'root@tabvisor:~# echo hi > /tmp/f', 'root@tabvisor:~# '],
      vm: { name: 'web', ramMiB: 16, cpuWeight: 2, cpuCapPercent: 50, memoryBudgetMiB: 12, imageId: 'linux' },
    });
    expect(library.getState().entries).toEqual([entry]);
    // Without a name: the VM's name and the (local) time, made unique.
    expect((await library.take('vm-1')).name).toBe('web 2026-11-26 14:03:05');
    expect((await library.take('vm-1', '  ')).name).toBe('web 2026-11-26 14:03:05 2');
  });

  test('a taken name is refused before the VM is disturbed', async () => {
    await library.take('vm-1', 'booted');
    await expect(library.take('vm-1', 'booted')).rejects.toThrow('there is already a snapshot called “booted”');
    await expect(library.take('vm-1', 'x'.repeat(101))).rejects.toThrow('at most 100 characters');
    expect(vms.snapshots).toBe(1);
  });

  test('restore gives the VM the stored bytes; a snapshot is found by id or name', async () => {
    const entry = await library.take('vm-1', 'booted');
    const stored = await library.exportFile(entry.id);
    await library.restore('vm-1', 'booted');
    await library.restore('vm-1', entry.id);
    expect(vms.restores.map((r) => r.id)).toEqual(['vm-1', 'vm-1']);
    expect(vms.restores[0]!.file).toEqual(stored.bytes);
    await expect(library.restore('vm-1', 'nope')).rejects.toThrow('there is no saved snapshot called “nope”');
  });

  test('clone makes a VM with its own name from the snapshot’s image and settings', async () => {
    const entry = await library.take('vm-1', 'booted');
    const first = await library.clone('booted');
    const second = await library.clone(entry.id, { fromVm: 'vm-echo' });
    expect(first.config.name).toBe('web (clone)');
    expect(second.config.name).toBe('web (clone) 2');
    expect(cloner.clones.map((c) => c.request)).toEqual([
      { name: 'web (clone)', imageId: 'linux', ramMiB: 16, cpuWeight: 2, cpuCapPercent: 50, memoryBudgetMiB: 12 },
      // The snapshot's own image wins over the asking VM's.
      { name: 'web (clone) 2', imageId: 'linux', ramMiB: 16, cpuWeight: 2, cpuCapPercent: 50, memoryBudgetMiB: 12 },
    ]);
    expect(cloner.clones[0]!.file).toEqual((await library.exportFile('booted')).bytes);
    expect((await library.clone('booted', { name: 'chosen' })).config.name).toBe('chosen');
  });

  test('an imported snapshot clones from the asking VM’s image, with the RAM size from the file', async () => {
    await library.importFile(await sampleSnapshotFile({ ramMiB: 32, vmName: 'far-away' }), 'from-a-friend.tabvm');
    await library.clone('from-a-friend', { fromVm: 'vm-echo' });
    await library.clone('from-a-friend');
    expect(cloner.clones.map((c) => [c.request.name, c.request.imageId, c.request.ramMiB, c.request.memoryBudgetMiB])).toEqual([
      ['far-away (clone)', 'echo', 32, 32],
      ['far-away (clone) 2', 'linux', 32, 32],
    ]);
  });

  test('rename and delete change the list the panels show', async () => {
    const a = await library.take('vm-1', 'a');
    await library.take('vm-1', 'b');
    await library.rename('a', 'renamed');
    expect(library.getState().entries.map((e) => e.name).sort()).toEqual(['b', 'renamed']);
    await library.remove(a.id);
    expect(library.getState().entries.map((e) => e.name)).toEqual(['b']);
  });
});

describe('export and import', () => {
  test('an exported file imports as an equal snapshot named after the file', async () => {
    await library.take('vm-1', 'web: after boot?');
    const exported = await library.exportFile('web: after boot?');
    expect(exported.fileName).toBe('web- after boot-.tabvm');
    const imported = await library.importFile(new Blob([exported.bytes as Uint8Array<ArrayBuffer>]), `C:\\Downloads\\${exported.fileName}`);
    expect(imported).toMatchObject({ name: 'web- after boot-', origin: 'imported', preview: [], sizeBytes: exported.bytes.length, vm: { name: 'web', ramMiB: 16 } });
    expect(imported.vm.imageId).toBeUndefined();
    expect((await library.exportFile(imported.id)).bytes).toEqual(exported.bytes);
    // The same file again gets a name of its own.
    expect((await library.importFile(exported.bytes, exported.fileName)).name).toBe('web- after boot- 2');
  });

  async function expectRefused(input: Uint8Array | Blob, code: SnapshotError['code'], message: RegExp): Promise<void> {
    if (library.getState().entries.length === 0) await library.take('vm-1', 'precious');
    const before = backend.dump();
    const listed = library.getState().entries;
    const error = await library.importFile(input, 'bad.tabvm').then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(SnapshotError);
    expect((error as SnapshotError).code).toBe(code);
    expect((error as SnapshotError).message).toMatch(message);
    // Nothing stored, nothing changed, no VM touched.
    expect(backend.dump()).toEqual(before);
    expect(library.getState().entries).toEqual(listed);
    expect(vms.restores).toEqual([]);
    expect(cloner.clones).toEqual([]);
  }

  test('a truncated file is refused', async () => {
    const file = await sampleSnapshotFile();
    await expectRefused(file.subarray(0, file.length - 7), 'truncated', /^snapshot is truncated: \d+ of \d+ bytes present$/);
    await expectRefused(file.subarray(0, 20), 'truncated', /shorter than the 32-byte header/);
  });

  test('a file with a flipped bit is refused', async () => {
    const file = (await sampleSnapshotFile()).slice();
    file[file.length >> 1]! ^= 0x04;
    await expectRefused(file, 'bad-checksum', /^snapshot is damaged: its checksum does not match/);
  });

  test('a file with the wrong magic is refused', async () => {
    await expectRefused(new TextEncoder().encode('<!doctype html><title>404</title> this is a web page, not a snapshot'), 'bad-magic', /^not a tabvisor snapshot/);
  });

  test('a file of a newer or an unknown older format version is refused, naming both versions', async () => {
    const newer = (await sampleSnapshotFile()).slice();
    new DataView(newer.buffer).setUint16(8, 9, true);
    const current = formatVersionText(CURRENT_FORMAT).replace(/\./g, '\\.');
    await expectRefused(newer, 'unsupported-version', new RegExp(`^snapshot format 9\\.\\d+\\.0 is newer than this tabvisor reads \\(${current}\\)`));
    const older = (await sampleSnapshotFile()).slice();
    new DataView(older.buffer).setUint16(8, 0, true);
    await expectRefused(older, 'unsupported-version', new RegExp(`^snapshot format 0\\.\\d+\\.0 is too old: this tabvisor reads ${current}`));
  });

  test('an oversized file is refused before it is read, and so is content that inflates past the limit', async () => {
    let read = false;
    const huge = new Blob([new Uint8Array(LIMITS.maxFileBytes + 1)]);
    const watched = Object.assign(huge, {
      arrayBuffer: () => {
        read = true;
        return Blob.prototype.arrayBuffer.call(huge);
      },
    });
    await expectRefused(watched, 'too-large', /^snapshot file of 100001 bytes exceeds the limit of 100000 bytes$/);
    expect(read).toBe(false);
    // 300 pages of zeros: a small file (within the file limit) that inflates to 1.2 MB (past the content limit).
    const pages = Uint32Array.from({ length: 300 }, (_, i) => i);
    const manifest = { createdAt: 'x', machine: { ramBytes: 4 << 20 }, images: [], components: {} };
    const inflating = await encodeSnapshot({ manifest: manifest as SnapshotManifest, pageNumbers: pages, pageData: new Uint8Array(pages.length * PAGE_SIZE) });
    expect(inflating.length).toBeLessThan(LIMITS.maxFileBytes);
    expect(pages.length * PAGE_SIZE).toBeGreaterThan(LIMITS.maxContentBytes);
    await expectRefused(inflating, 'too-large', /^snapshot content exceeds the limit of 1000000 bytes when decompressed$/);
  });

  test('a sound file of a VM this build cannot make is refused', async () => {
    await expectRefused(await sampleSnapshotFile({ ramMiB: 4096 }), 'incompatible', /RAM must be a whole number of MiB in 4\.\.2048/);
  });
});

describe('what the panels show', () => {
  test('busy while an operation runs, then one error line saying what failed and why', async () => {
    await library.take('vm-1', 'a');
    vms.restoreError = new Error('snapshot is of a VM booted from other images (x) than this VM’s (y)');
    const seen: Array<string | undefined> = [];
    const unsubscribe = library.subscribe(() => seen.push(library.activity('vm-1').busy));
    const result = await library.track('vm-1', 'Restoring “a”…', 'Restore did not work', () => library.restore('vm-1', 'a'));
    unsubscribe();
    expect(result).toBeUndefined();
    expect(seen).toContain('Restoring “a”…');
    expect(library.activity('vm-1')).toEqual({
      busy: undefined,
      error: 'Restore did not work: snapshot is of a VM booted from other images (x) than this VM’s (y)',
      notice: undefined,
    });
    // Other panels are not affected; the next operation clears the error.
    expect(library.activity('vm-2').error).toBeUndefined();
    vms.restoreError = undefined;
    expect(await library.track('vm-1', 'Restoring…', 'Restore did not work', () => library.restore('vm-1', 'a'))).toMatchObject({ name: 'a' });
    expect(library.activity('vm-1').error).toBeUndefined();
  });

  test('without IndexedDB every operation says why, and the state shows it', async () => {
    const unavailable = new SnapshotLibrary(vms, cloner, () => {
      throw new Error('snapshots cannot be saved here: this browser offers no IndexedDB');
    });
    expect(unavailable.getState()).toMatchObject({ loaded: true, unavailable: 'snapshots cannot be saved here: this browser offers no IndexedDB' });
    await expect(unavailable.take('vm-1', 'x')).rejects.toThrow('this browser offers no IndexedDB');
    await expect(unavailable.importFile(await sampleSnapshotFile())).rejects.toThrow('this browser offers no IndexedDB');
    expect(vms.snapshots).toBe(0);
  });
});

test('uniqueName and snapshotFileName', () => {
  expect(uniqueName('a', new Set())).toBe('a');
  expect(uniqueName('a', new Set(['a', 'a 2']))).toBe('a 3');
  expect(uniqueName('x'.repeat(120), new Set(['x'.repeat(100)]))).toBe(`${'x'.repeat(98)} 2`);
  expect(snapshotFileName('../etc/passwd')).toBe('-etc-passwd.tabvm');
  expect(snapshotFileName('...')).toBe('snapshot.tabvm');
  expect(snapshotFileName('boot 1')).toBe('boot 1.tabvm');
});
