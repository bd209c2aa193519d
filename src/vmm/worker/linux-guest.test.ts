/**
 * createLinuxGuest:
 *  - image identities: the SHA-256 a snapshot records, and a restore
 *    compares, is the one the image spec brings when it brings one (the page
 *    verified those bytes against the manifest), else the worker's own;
 *  - with `restoreFollows` the images are loaded into RAM at the first slice
 *    only: a restore before it never loads them, and a machine that runs
 *    without one boots as usual;
 *  - a lazy spec (server URLs, the manifest's digests) with `restoreFollows`
 *    is not even downloaded until a boot or reboot needs it, and is checked
 *    against those digests then; a failure stops the VM with the reason.
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

describe('createLinuxGuest with a lazy spec', () => {
  /** A loader that counts what it was asked for. */
  const counting = (): { loader: ByteLoader; calls: string[] } => {
    const calls: string[] = [];
    return { calls, loader: async (url) => { calls.push(url); return load(url); } };
  };
  const lazySpec = async (): Promise<LinuxImageSpec> => ({ ...base, kernelSha256: await sha('bzImage'), initrdSha256: await sha('initramfs.cpio.gz'), lazy: true });
  /** A booted machine's snapshot (kernel and initrd in RAM, a few instructions run). */
  const bootedSnapshot = async (): Promise<Uint8Array> => {
    const booted = await createLinuxGuest(config, base, load);
    booted.runSlice(100_000, 1000);
    const file = await booted.snapshot();
    booted.dispose();
    return file;
  };
  /** Runs slices until `done` or `limit` slices, waiting as the runtime does when a slice asks to. */
  const runUntil = async (guest: { runSlice: LinuxGuestSlice }, done: (r: ReturnType<LinuxGuestSlice>) => boolean, limit = 400): Promise<ReturnType<LinuxGuestSlice>> => {
    let r = guest.runSlice(100_000, 50);
    for (let k = 0; k < limit && !done(r); k++) {
      if (r.halted && r.sleepMs > 0 && Number.isFinite(r.sleepMs)) await new Promise((resolve) => setTimeout(resolve, Math.min(r.sleepMs, 20)));
      r = guest.runSlice(100_000, 50);
    }
    return r;
  };
  type LinuxGuestSlice = (maxInstructions: number, maxMs: number) => { instructions: number; halted: boolean; sleepMs: number; stopped?: { reason: string } };

  it('downloads nothing for a restore, then loads and checks the images when the guest reboots', async () => {
    const file = await bootedSnapshot();
    const { loader, calls } = counting();
    const deferred = await createLinuxGuest(config, await lazySpec(), loader, undefined, { restoreFollows: true });
    const restored = await deferred.restore(file); // same identities (the manifest's digests): accepted
    deferred.dispose();
    expect(calls).toEqual([]);
    expect(restored.runSlice(50_000, 1000).instructions).toBeGreaterThan(0);
    expect(calls).toEqual([]);

    // The guest asks for a reset (keyboard controller pulse): the first slice starts the download and waits.
    restored.machine.ports.write(0x64, 1, 0xfe);
    const asked = restored.runSlice(50_000, 1000);
    expect(asked.halted).toBe(true);
    expect(calls.sort()).toEqual(['bzImage', 'initramfs.cpio.gz']);
    // Once they are there the machine reboots: RAM cleared, the kernel loaded again, and it runs.
    const after = await runUntil(restored, (r) => r.instructions > 0);
    expect(after.instructions).toBeGreaterThan(0);
    expect(restored.machine.cpu.getEip()).not.toBe(0xfff0);
    expect(restored.residentFrames()).toBeGreaterThan(1000);
    restored.dispose();
  }, 60_000);

  it('boots from the downloaded images when no restore comes', async () => {
    const { loader, calls } = counting();
    const late = await createLinuxGuest(config, await lazySpec(), loader, undefined, { restoreFollows: true });
    expect(calls).toEqual([]);
    const r = await runUntil(late, (s) => s.instructions > 0);
    expect(r.instructions).toBeGreaterThan(0);
    expect(calls.sort()).toEqual(['bzImage', 'initramfs.cpio.gz']);
    late.dispose();
  }, 60_000);

  it('stops with the reason when the images are not the manifest\'s', async () => {
    const wrong = await createLinuxGuest(config, { ...await lazySpec(), kernelSha256: 'ab'.repeat(32) }, load, undefined, { restoreFollows: true });
    const r = await runUntil(wrong, (s) => s.stopped !== undefined);
    expect(r.stopped?.reason).toMatch(/kernel image bzImage is not the one this VM was made from/);
    wrong.dispose();
    // Without restoreFollows (a reset of the VM builds it anew) the check runs before the machine exists.
    await expect(createLinuxGuest(config, { ...await lazySpec(), initrdSha256: 'cd'.repeat(32) }, load)).rejects.toThrow(/initial RAM disk initramfs.cpio.gz is not the one/);
  }, 60_000);
});
