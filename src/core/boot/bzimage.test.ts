import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseBzImage } from './bzimage.ts';
import { syntheticBzImage } from './test-support/images.ts';

const REAL_IMAGE = fileURLToPath(new URL('../../../public/images/bzImage', import.meta.url));

describe('parseBzImage', () => {
  it('parses the default guest kernel', () => {
    const file = new Uint8Array(readFileSync(REAL_IMAGE));
    const h = parseBzImage(file);
    expect(h.version).toBeGreaterThanOrEqual(0x0206);
    expect(h.code32Start).toBe(0x100000);
    expect(h.loadflags & 1).toBe(1);
    expect(h.kernelOffset).toBe((h.setupSects + 1) * 512);
    expect(h.kernelOffset + h.kernel.length).toBe(file.length);
    expect(h.initSize).toBeGreaterThan(h.kernel.length);
    expect(h.cmdlineSize).toBeGreaterThanOrEqual(255);
    expect(h.kernelVersion).toMatch(/^6\.1\./);
    expect(h.setupHeader.length).toBe(h.headerEnd - 0x1f1);
  });

  it('parses a synthetic image', () => {
    const h = parseBzImage(syntheticBzImage());
    expect(h.versionText).toBe('2.15');
    expect(h.setupSects).toBe(4);
    expect(h.kernelOffset).toBe(0xa00);
    expect(h.kernel.length).toBe(0x3000);
    expect(h.kernel[1]).toBe(7);
    expect(h.initSize).toBe(0x400000);
    expect(h.kernelAlignment).toBe(0x200000);
    expect(h.headerEnd).toBe(0x26c);
    expect(h.kernelVersion).toBe('9.9.9-test');
  });

  it('treats setup_sects = 0 as 4', () => {
    const img = syntheticBzImage();
    img[0x1f1] = 0;
    expect(parseBzImage(img).setupSects).toBe(4);
  });

  it('rejects files that are not bzImages, with a reason', () => {
    expect(() => parseBzImage(new Uint8Array(100))).toThrow(/^not a bzImage: the file is only 100 bytes/);
    const noFlag = syntheticBzImage();
    noFlag[0x1fe] = 0;
    expect(() => parseBzImage(noFlag)).toThrow(/not a bzImage: no 0xAA55 boot flag/);
    const noMagic = syntheticBzImage();
    noMagic[0x202] = 0x41;
    expect(() => parseBzImage(noMagic)).toThrow(/not a bzImage: no "HdrS"/);
    const zImage = syntheticBzImage();
    zImage[0x211] = 0;
    expect(() => parseBzImage(zImage)).toThrow(/LOADED_HIGH is clear/);
  });

  it('rejects old boot protocols', () => {
    expect(() => parseBzImage(syntheticBzImage({ version: 0x0202 }))).toThrow(/^boot protocol 2.02 too old/);
    expect(() => parseBzImage(syntheticBzImage({ version: 0x0206 }))).not.toThrow();
  });

  it('rejects truncated files', () => {
    const img = syntheticBzImage();
    expect(() => parseBzImage(img.subarray(0, img.length - 100))).toThrow(/^truncated bzImage: the header declares 12288 bytes/);
    expect(() => parseBzImage(img.subarray(0, 0xa00))).toThrow(/^truncated bzImage: setup_sects says/);
  });
});
