/**
 * The committed default guest image and instant-boot snapshot must match
 * their manifest (sizes, sha256, boot header fields, snapshot format and the
 * images the snapshot was made from), and the checker must notice a changed
 * file.
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

const FILES = ['manifest.json', 'bzImage', 'initramfs.cpio.gz', 'instant-boot.tabvm'];
const copyImages = (): void => FILES.forEach((name) => copyFileSync(join(images, name), join(scratch, name)));
type Manifest = { instantBoot?: { snapshotFormat: string; images: { sha256: string }[] }; files: { name: string; sha256: string }[] };
const editManifest = (edit: (manifest: Manifest) => void): void => {
  const manifest = JSON.parse(readFileSync(join(scratch, 'manifest.json'), 'utf8')) as Manifest;
  edit(manifest);
  writeFileSync(join(scratch, 'manifest.json'), JSON.stringify(manifest));
};

test('the instant-boot snapshot is described by the manifest', () => {
  const manifest = JSON.parse(readFileSync(join(images, 'manifest.json'), 'utf8')) as Manifest;
  expect(manifest.instantBoot?.images.map((i) => i.sha256)).toEqual(manifest.files.map((f) => f.sha256));
});

test('a changed image is reported', () => {
  copyImages();
  const initrd = readFileSync(join(scratch, 'initramfs.cpio.gz'));
  initrd[100]! ^= 1;
  writeFileSync(join(scratch, 'initramfs.cpio.gz'), initrd);
  const problems = verifyManifest(join(scratch, 'manifest.json'));
  expect(problems).toHaveLength(1);
  expect(problems[0]).toMatch(/initramfs\.cpio\.gz: sha256/);
});

test('a changed instant-boot snapshot, a stale or wrong entry, and a snapshot without an entry are reported', () => {
  copyImages();
  const snapshot = readFileSync(join(scratch, 'instant-boot.tabvm'));
  snapshot[snapshot.length - 5]! ^= 1;
  writeFileSync(join(scratch, 'instant-boot.tabvm'), snapshot);
  expect(verifyManifest(join(scratch, 'manifest.json'))).toEqual([expect.stringMatching(/^instant-boot\.tabvm: sha256 /)]);

  copyImages();
  editManifest((m) => (m.instantBoot!.snapshotFormat = '0.1.0'));
  expect(verifyManifest(join(scratch, 'manifest.json'))).toEqual([expect.stringMatching(/written with snapshot format \d+\.\d+\.\d+, manifest says 0\.1\.0$/)]);

  // The images were rebuilt (a new sha256 in "files"), the snapshot was not.
  copyImages();
  editManifest((m) => (m.files[0]!.sha256 = '00'.repeat(32)));
  expect(verifyManifest(join(scratch, 'manifest.json'))).toContain('instantBoot: made from another bzImage than the one listed (run `npm run image:instant-boot`)');

  copyImages();
  editManifest((m) => delete m.instantBoot);
  expect(verifyManifest(join(scratch, 'manifest.json'))).toEqual(['instant-boot.tabvm is not described by the manifest: run `npm run image:instant-boot`']);
});
