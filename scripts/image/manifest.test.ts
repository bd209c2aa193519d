/**
 * The committed default guest image must match its manifest (sizes, sha256,
 * boot header fields), and the checker must notice a changed file.
 */
import { copyFileSync, mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { verifyManifest } from './verify-manifest.mjs';

const images = new URL('../../public/images/', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'tabvisor-manifest-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test('public/images matches manifest.json', () => {
  expect(verifyManifest(join(images, 'manifest.json'))).toEqual([]);
  const manifest = JSON.parse(readFileSync(join(images, 'manifest.json'), 'utf8')) as { files: { name: string }[]; kernel: { bootProtocol: string } };
  expect(manifest.files.map((f) => f.name).sort()).toEqual(['bzImage', 'initramfs.cpio.gz']);
  expect(manifest.kernel.bootProtocol).toBe('2.15');
});

test('a changed image is reported', () => {
  for (const name of ['manifest.json', 'bzImage', 'initramfs.cpio.gz']) copyFileSync(join(images, name), join(scratch, name));
  const initrd = readFileSync(join(scratch, 'initramfs.cpio.gz'));
  initrd[100]! ^= 1;
  writeFileSync(join(scratch, 'initramfs.cpio.gz'), initrd);
  const problems = verifyManifest(join(scratch, 'manifest.json'));
  expect(problems).toHaveLength(1);
  expect(problems[0]).toMatch(/initramfs\.cpio\.gz: sha256/);
});
