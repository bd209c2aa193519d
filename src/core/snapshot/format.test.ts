import { describe, expect, test } from 'vitest';
import { decodeSnapshot, encodeSnapshot, PAGE_SIZE, readSnapshotHeader, type SnapshotContent } from './format.ts';
import { SnapshotError } from './errors.ts';
import { crc32 } from './crc32.ts';
import { CURRENT_FORMAT, formatVersionText } from './version.ts';

function sampleContent(): SnapshotContent {
  const pageNumbers = Uint32Array.of(0, 7, 255);
  const pageData = new Uint8Array(pageNumbers.length * PAGE_SIZE);
  for (let i = 0; i < pageData.length; i++) pageData[i] = (i * 31 + (i >> 12)) & 0xff;
  return {
    manifest: {
      createdAt: '2026-11-26T00:00:00.000Z',
      machine: { ramBytes: 1 << 20, cmdline: 'console=ttyS0' },
      images: [{ name: 'bzImage', sha256: 'ab'.repeat(32), role: 'kernel' }],
      components: { cpu: { eip: 0x100000, regs: [1, 2, 3, 4, 5, 6, 7, 8] }, uart0: { lcr: 3 } },
    },
    pageNumbers,
    pageData,
  };
}

/** A RegExp matching `text` exactly as written. */
const literal = (text: string): RegExp => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

async function expectRejected(file: Uint8Array, code: SnapshotError['code'], message: RegExp, maxBytes?: number) {
  const error = await decodeSnapshot(file, maxBytes).then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(SnapshotError);
  expect((error as SnapshotError).code).toBe(code);
  expect((error as SnapshotError).message).toMatch(message);
}

describe('snapshot file format', () => {
  test('round trip keeps manifest and pages exactly', async () => {
    const content = sampleContent();
    const file = await encodeSnapshot(content);
    const decoded = await decodeSnapshot(file);
    expect(decoded.manifest).toEqual(content.manifest);
    expect(Array.from(decoded.pageNumbers)).toEqual([0, 7, 255]);
    expect(decoded.pageData).toEqual(content.pageData);
    expect(decoded.writtenWith).toEqual(CURRENT_FORMAT);
  });

  test('untouched pages cost nothing: an empty machine is tiny', async () => {
    const file = await encodeSnapshot({ ...sampleContent(), pageNumbers: new Uint32Array(0), pageData: new Uint8Array(0) });
    expect(file.length).toBeLessThan(400);
  });

  test('truncated files are rejected', async () => {
    const file = await encodeSnapshot(sampleContent());
    await expectRejected(file.subarray(0, 10), 'truncated', /shorter than the 32-byte header/);
    await expectRejected(file.subarray(0, file.length - 1), 'truncated', /truncated/);
  });

  test('a flipped bit anywhere in the payload is caught by the checksum', async () => {
    const file = await encodeSnapshot(sampleContent());
    for (const at of [32, 40, Math.floor(file.length / 2), file.length - 1]) {
      const damaged = file.slice();
      damaged[at]! ^= 0x10;
      await expectRejected(damaged, 'bad-checksum', /checksum does not match/);
    }
  });

  test('wrong magic is rejected', async () => {
    const file = await encodeSnapshot(sampleContent());
    file[0] = 'X'.charCodeAt(0);
    await expectRejected(file, 'bad-magic', /not a tabvisor snapshot/);
    await expectRejected(new TextEncoder().encode('<!doctype html><html>not a snapshot at all</html>'), 'bad-magic', /not a tabvisor snapshot/);
  });

  test('a newer major version is refused naming both versions', async () => {
    const file = await encodeSnapshot(sampleContent());
    const view = new DataView(file.buffer);
    view.setUint16(8, CURRENT_FORMAT.major + 1, true);
    view.setUint16(10, 0, true);
    await expectRejected(file, 'unsupported-version',
      literal(`snapshot format ${CURRENT_FORMAT.major + 1}.0.0 is newer than this tabvisor reads (${formatVersionText(CURRENT_FORMAT)}): update tabvisor`));
  });

  test('an older version without a migration is refused naming both versions', async () => {
    const file = await encodeSnapshot(sampleContent());
    const view = new DataView(file.buffer);
    view.setUint16(8, 0, true);
    view.setUint16(10, 9, true);
    await expectRejected(file, 'unsupported-version',
      literal(`snapshot format 0.9.0 is too old: this tabvisor reads ${formatVersionText(CURRENT_FORMAT)} and has no upgrade from 0.9`));
  });

  test('oversized payloads are refused before and while decompressing', async () => {
    const file = await encodeSnapshot(sampleContent());
    await expectRejected(file, 'too-large', /exceeds the limit of 100 bytes/, 100);
    // A compressible payload that fits the file limit but expands past it.
    await expectRejected(file, 'too-large', /when decompressed/, file.length);
    expect(() => readSnapshotHeader(file, 100)).toThrow(SnapshotError);
  });

  test('a valid checksum over garbage is still rejected as corrupt', async () => {
    const file = await encodeSnapshot(sampleContent());
    const payload = file.subarray(32);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    new DataView(file.buffer).setUint32(24, crc32(payload), true);
    await expectRejected(file, 'corrupt', /does not decompress|payload/);
  });
});
