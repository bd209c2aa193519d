/**
 * createLinuxGuest:
 *  - image identities: the SHA-256 a snapshot records, and a restore
 *    compares, is the one the image spec brings when it brings one (the page
 *    verified those bytes against the manifest), else the worker's own;
 *  - with `restoreFollows` the images are loaded into RAM at the first slice
 *    only: a restore before it never loads them, and a machine that runs
 *    without one boots as usual.
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { GuestConfig } from '../shared/protocol.ts';
import { createLinuxGuest, type ByteLoader, type LinuxImageSpec } from './linux-guest.ts';

const IMAGES = new URL('../../../public/images/', import.meta.url);
const load: ByteLoader = async (url) => new Uint8Array(await readFile(new URL(url, IMAGES)));
const config: GuestConfig = { vmId: 'vm-t', name: 't', ramMiB: 32, image: { kind: 'linux', kernelUrl: 'bzImage' } };
const base: LinuxImageSpec = { kind: 'linux', kernelUrl: 'bzImage', initrdUrl: 'initramfs.cpio.gz' };
const sha = async (name: string): Promise<string> => createHash('sha256').update(await load(name)).digest('hex');

describe('createLinuxGuest image identities', () => {
  it('uses the digests the spec brings, and hashes the bytes itself otherwise', async () => {
    const hashed = await createLinuxGuest(config, base, load);
    const snapshot = await hashed.snapshot();
    hashed.dispose();

    // The right digests given: the same identity, so the snapshot restores.
    const given = await createLinuxGuest(config, { ...base, kernelSha256: await sha('bzImage'), initrdSha256: await sha('initramfs.cpio.gz') }, load);
    const restored = await given.restore(snapshot);
    restored.dispose();
    given.dispose();

    // A different kernel digest given: taken as is (not recomputed), so the restore is refused.
    const other = await createLinuxGuest(config, { ...base, kernelSha256: 'f'.repeat(64) }, load);
    await expect(other.restore(snapshot)).rejects.toThrow(/another kernel/);
    other.dispose();
  }, 60_000);
});

describe('createLinuxGuest with restoreFollows', () => {
  it('loads the kernel only when the machine first runs, and not at all when a restore comes first', async () => {
    const booted = await createLinuxGuest(config, base, load);
    const bootedFrames = booted.residentFrames();
    expect(bootedFrames).toBeGreaterThan(1000); // kernel and initrd in RAM
    const snapshot = await booted.snapshot();
    booted.dispose();

    const deferred = await createLinuxGuest(config, base, load, undefined, { restoreFollows: true });
    expect(deferred.residentFrames()).toBe(0);
    const restored = await deferred.restore(snapshot);
    expect(deferred.residentFrames()).toBe(0); // replaced without ever loading
    restored.dispose();
    deferred.dispose();

    // Run without a restore: the first slice loads the images and the kernel starts.
    const late = await createLinuxGuest(config, base, load, undefined, { restoreFollows: true });
    const slice = late.runSlice(200_000, 1000);
    expect(slice.instructions).toBeGreaterThan(0);
    expect(late.residentFrames()).toBeGreaterThanOrEqual(bootedFrames);
    late.dispose();
  }, 60_000);
});
