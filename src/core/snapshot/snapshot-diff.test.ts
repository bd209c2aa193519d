import { describe, expect, it } from 'vitest';
import { Machine } from '../machine.ts';
import { crc32 } from './crc32.ts';
import { SnapshotError } from './errors.ts';
import { decodeSnapshot, encodeSnapshot, PAGE_SIZE, type SnapshotContent } from './format.ts';
import { captureSnapshot, restoreDecodedSnapshot } from './machine-snapshot.ts';
import { applySnapshotDiff, encodeSnapshotDiff } from './snapshot-diff.ts';
import { TICKS_ADDRESS, tickProgram } from './test-support/tick-program.ts';

const page = (seed: number): Uint8Array => new Uint8Array(PAGE_SIZE).map((_, i) => (i * 7 + seed * 13) & 0xff);

function content(pages: Record<number, Uint8Array>, manifestEdit: (m: Record<string, unknown>) => void = () => undefined): SnapshotContent {
  const numbers = Object.keys(pages).map(Number).sort((a, b) => a - b);
  const pageData = new Uint8Array(numbers.length * PAGE_SIZE);
  numbers.forEach((n, i) => pageData.set(pages[n]!, i * PAGE_SIZE));
  const manifest = {
    createdAt: '2026-11-26T00:00:00.000Z',
    machine: { ramBytes: 1 << 20, vmm: { name: 'base' } },
    images: [{ name: 'bzImage', sha256: 'ab'.repeat(32), role: 'kernel' as const }],
    components: { cpu: { eip: 0x100000, regs: [1, 2, 3, 4, 5, 6, 7, 8] }, pit: { count: 5, latch: null }, uart0: { lcr: 3 } },
  };
  manifestEdit(manifest as unknown as Record<string, unknown>);
  return { manifest, pageNumbers: Uint32Array.from(numbers), pageData };
}

const basePages = { 0: page(0), 7: page(7), 100: page(100), 255: page(255) };
const baseFile = (): Promise<Uint8Array> => encodeSnapshot(content(basePages));

async function expectRejected(promise: Promise<unknown>, code: SnapshotError['code'], message: RegExp): Promise<void> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(SnapshotError);
  expect((error as SnapshotError).code).toBe(code);
  expect((error as SnapshotError).message).toMatch(message);
}

describe('snapshot diffs', () => {
  it('round trip: changed, removed, new and unchanged pages and the manifest come back exactly', async () => {
    const changed = basePages[7].slice();
    changed[10] ^= 0xff;
    changed[4000] = 1;
    const target = content({ 0: page(0), 7: changed, 255: page(255), 200: page(200) }, (m) => {
      m.createdAt = '2026-11-27T10:00:00.000Z';
      const components = m.components as Record<string, Record<string, unknown>>;
      components.cpu!.eip = 0x200000;
      components.cpu!.regs = [8, 7, 6, 5, 4, 3, 2, 1];
      delete components.uart0!.lcr;
      components.uart0!.ier = 1;
      components.rtc = { seconds: 5 };
      (m.machine as Record<string, unknown>).vmm = { name: 'target' };
    });
    const diff = await encodeSnapshotDiff(await encodeSnapshot(target), await baseFile());
    const rebuilt = await applySnapshotDiff(diff, await baseFile());
    expect(rebuilt.manifest).toEqual(target.manifest);
    expect(Array.from(rebuilt.pageNumbers)).toEqual([0, 7, 200, 255]);
    expect(rebuilt.pageData).toEqual(target.pageData);
  });

  it('pages equal to the base cost nothing: a snapshot identical to its base is a tiny diff', async () => {
    const base = await baseFile();
    const diff = await encodeSnapshotDiff(base, base);
    expect(diff.length).toBeLessThan(100);
    const rebuilt = await applySnapshotDiff(diff, base);
    expect(rebuilt.pageData).toEqual((await decodeSnapshot(base)).pageData);
  });

  it('a real machine that ran on from the base restores from base + diff and continues identically', async () => {
    const m = new Machine({ ramBytes: 2 << 20, clock: { mode: 'instructions' }, testExit: true, startEpochMs: Date.UTC(2026, 0, 1) });
    m.bootMultiboot(tickProgram(10));
    const runUntilTicks = (machine: Machine, n: number) => {
      while (machine.memory.physRead(TICKS_ADDRESS, 4) < n) machine.runSlice(5, 10_000);
    };
    runUntilTicks(m, 2);
    const images = [{ name: 'tick-program', sha256: '00'.repeat(32), role: 'multiboot' as const }];
    const base = await captureSnapshot(m, { images });
    runUntilTicks(m, 6);
    const target = await captureSnapshot(m, { images });
    const diff = await encodeSnapshotDiff(target, base);
    expect(diff.length).toBeLessThan(target.length);

    const restored = restoreDecodedSnapshot(await applySnapshotDiff(diff, base));
    const direct = restoreDecodedSnapshot(await decodeSnapshot(target));
    expect(JSON.stringify(restored.saveState())).toBe(JSON.stringify(direct.saveState()));
    expect(restored.memory.physRead(TICKS_ADDRESS, 4)).toBe(6);
    for (const machine of [restored, direct]) {
      while (machine.runSlice(5, 10_000).stop !== 'test-exit');
    }
    expect(restored.exitCode).toBe(10);
    expect(restored.cpu.instructionsRetired).toBe(direct.cpu.instructionsRetired);
    [m, restored, direct].forEach((machine) => machine.release());
  });

  describe('bad input gives one clear SnapshotError', () => {
    async function goodDiff(): Promise<Uint8Array> {
      return encodeSnapshotDiff(await encodeSnapshot(content({ ...basePages, 7: page(8) })), await baseFile());
    }

    it('another base: refused by the base sha256', async () => {
      const otherBase = await encodeSnapshot(content({ 0: page(1) }));
      await expectRejected(applySnapshotDiff(await goodDiff(), otherBase), 'wrong-base', /^the snapshot diff was made against another base snapshot \(sha256 [0-9a-f]{12}…\) than this one \([0-9a-f]{12}…\)$/);
    });

    it('truncated', async () => {
      const diff = await goodDiff();
      await expectRejected(applySnapshotDiff(diff.subarray(0, 20), await baseFile()), 'truncated', /shorter than its 52-byte header/);
      await expectRejected(applySnapshotDiff(diff.subarray(0, diff.length - 1), await baseFile()), 'truncated', /is truncated/);
    });

    it('a flipped bit in the payload', async () => {
      const diff = await goodDiff();
      for (const at of [52, diff.length >> 1, diff.length - 1]) {
        const damaged = diff.slice();
        damaged[at]! ^= 0x04;
        await expectRejected(applySnapshotDiff(damaged, await baseFile()), 'bad-checksum', /checksum does not match/);
      }
    });

    it('wrong magic, and a snapshot file where a diff belongs', async () => {
      const diff = await goodDiff();
      diff[3] = 0;
      await expectRejected(applySnapshotDiff(diff, await baseFile()), 'bad-magic', /^not a tabvisor snapshot diff/);
      await expectRejected(applySnapshotDiff(await baseFile(), await baseFile()), 'bad-magic', /^not a tabvisor snapshot diff/);
    });

    it('another format version, naming both', async () => {
      const diff = await goodDiff();
      new DataView(diff.buffer).setUint16(8, 2, true);
      await expectRejected(applySnapshotDiff(diff, await baseFile()), 'unsupported-version', /^snapshot diff format 2\.0 is newer than this tabvisor reads \(1\.0\)$/);
    });

    it('oversized, before and while inflating', async () => {
      const diff = await goodDiff();
      await expectRejected(applySnapshotDiff(diff, await baseFile(), { maxBytes: 10 }), 'too-large', /exceeds the limit of 10 bytes/);
      await expectRejected(applySnapshotDiff(diff, await baseFile(), { maxBytes: diff.length }), 'too-large', /when decompressed/);
    });

    it('garbage behind a valid checksum', async () => {
      const diff = await goodDiff();
      const payload = diff.subarray(52);
      payload.forEach((_, i) => (payload[i] = (i * 11) & 0xff));
      new DataView(diff.buffer).setUint32(16, crc32(payload), true);
      await expectRejected(applySnapshotDiff(diff, await baseFile()), 'corrupt', /^the snapshot diff/);
    });
  });
});
