import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { expect, test } from 'vitest';
import { isGzip, prepareInitrd } from './initrd.ts';

test('a gzip initramfs is inflated to the cpio archive', async () => {
  const gz = new Uint8Array(readFileSync(new URL('../../../public/images/initramfs.cpio.gz', import.meta.url)));
  expect(isGzip(gz)).toBe(true);
  const cpio = await prepareInitrd(gz);
  expect(cpio.length).toBeGreaterThan(gz.length);
  // newc cpio magic "070701"
  expect(new TextDecoder().decode(cpio.subarray(0, 6))).toBe('070701');
  expect(new TextDecoder().decode(cpio.subarray(cpio.length - 512))).toContain('TRAILER!!!');
});

test('other archives pass through untouched', async () => {
  const raw = new TextEncoder().encode('070701 an uncompressed archive');
  expect(await prepareInitrd(raw)).toBe(raw);
});

test('damaged gzip and decompression bombs are clear errors', async () => {
  const gz = new Uint8Array(gzipSync(new Uint8Array(1 << 20)));
  await expect(prepareInitrd(gz, 1000)).rejects.toThrow(/inflates to more than 1000 bytes/);
  const damaged = gz.slice();
  damaged.fill(0xff, 12, 40);
  await expect(prepareInitrd(damaged)).rejects.toThrow(/not a valid gzip archive/);
});
