/**
 * CoordinatorOptions.imageBytes: the page's checked downloads go to the
 * guest worker with its create request, so the worker boots from them
 * without fetching. The URLs below lead nowhere (nothing listens on port 9
 * of loopback): a VM can boot from them only with the bytes handed over.
 */
import { readFile } from 'node:fs/promises';
import { afterEach, expect, test } from 'vitest';
import type { Coordinator } from './coordinator.ts';
import { stateReached, testCoordinator } from './test-support/harness.ts';
import type { VmConfigInput } from './vm-registry.ts';

const IMAGES = new URL('../../public/images/', import.meta.url);
const KERNEL_URL = 'http://127.0.0.1:9/nowhere/bzImage';
const INITRD_URL = 'http://127.0.0.1:9/nowhere/initramfs.cpio.gz';
const vm: VmConfigInput = { name: 'preloaded', ramMiB: 64, image: { kind: 'linux', kernelUrl: KERNEL_URL, initrdUrl: INITRD_URL } };

let c: Coordinator | undefined;
afterEach(async () => {
  await c?.dispose();
  c = undefined;
});

test('a Linux VM boots from image bytes the coordinator holds, without fetching them', { timeout: 60_000 }, async () => {
  const bytes = new Map([
    [KERNEL_URL, new Uint8Array(await readFile(new URL('bzImage', IMAGES)))],
    [INITRD_URL, new Uint8Array(await readFile(new URL('initramfs.cpio.gz', IMAGES)))],
  ]);
  const asked: string[] = [];
  c = testCoordinator({ imageBytes: (url) => { asked.push(url); return bytes.get(url); } });
  const info = c.createVm(vm);
  await c.start(info.id);
  await c.waitFor(info.id, /Linux version 6\.1/, 30_000);
  expect(asked.sort()).toEqual([INITRD_URL, KERNEL_URL].sort());
});

test('without those bytes the same VM fails with the download error', { timeout: 60_000 }, async () => {
  c = testCoordinator({ imageBytes: () => undefined });
  const info = c.createVm(vm);
  await c.start(info.id).catch(() => undefined);
  await stateReached(c, info.id, 'error', 30_000);
  expect(`${c.get(info.id).reason} ${c.get(info.id).detail ?? ''}`).toMatch(/could not be downloaded/);
});
