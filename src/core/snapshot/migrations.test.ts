/**
 * Older snapshots keep loading: a file written by the format 1.0.0 writer
 * (stored under test-support/, see below) is upgraded to the current format
 * and restores into a machine that runs on to the same end. Versions this
 * reader cannot upgrade are refused naming both versions.
 *
 * test-support/format-1.0.0.tabvm was written by captureSnapshot while
 * CURRENT_FORMAT was 1.0.0: a 2 MiB machine (instruction clock, test-exit
 * port, RTC epoch 2026-01-01) booted with `tickProgram(10)` as a Multiboot
 * image (command line "tick"), run until its tick counter reached 3, with
 * images [{ name: 'tick-program', sha256 of the image }] and config
 * { name: 'format 1.0.0 fixture' }. It must never be regenerated: it stands
 * for files users already have.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine } from '../machine.ts';
import { SnapshotError } from './errors.ts';
import { decodeSnapshot, encodeSnapshot, readSnapshotHeader } from './format.ts';
import { captureSnapshot, restoreDecodedSnapshot } from './machine-snapshot.ts';
import { migrateManifest } from './migrations.ts';
import { TICKS_ADDRESS, tickProgram } from './test-support/tick-program.ts';
import { CURRENT_FORMAT, formatVersionText } from './version.ts';

const fixture = new Uint8Array(readFileSync(new URL('./test-support/format-1.0.0.tabvm', import.meta.url)));
const TICK_PROGRAM_SHA256 = 'e7bbae7b822242bf620aaad8a0dfbce831eccb37ece139ff3dd16391a7c9e7eb';

/** Runs a machine until the tick program writes its exit port; returns what it printed. */
function runToExit(m: Machine): string {
  let serial = '';
  m.onSerialOutput = (byte) => (serial += String.fromCharCode(byte));
  for (let i = 0; i < 1_000_000; i++) {
    const r = m.runSlice(5, 10_000);
    if (r.stop === 'test-exit') return serial;
    if (r.stop !== 'budget' && r.stop !== 'halted') throw new Error(`the guest stopped: ${r.stop}`);
  }
  throw new Error('the guest did not finish');
}

describe('format migrations', () => {
  it('the stored fixture really is a format 1.0.0 file (so the test below proves an upgrade)', () => {
    expect(readSnapshotHeader(fixture).version).toEqual({ major: 1, minor: 0, patch: 0 });
    expect(formatVersionText(CURRENT_FORMAT)).not.toBe('1.0.0');
  });

  it('a 1.0.0 snapshot is upgraded: its images get their roles', async () => {
    const decoded = await decodeSnapshot(fixture);
    expect(decoded.writtenWith).toEqual({ major: 1, minor: 0, patch: 0 });
    expect(decoded.manifest.images).toEqual([{ name: 'tick-program', sha256: TICK_PROGRAM_SHA256, role: 'multiboot' }]);
    expect(decoded.manifest.machine.vmm).toEqual({ name: 'format 1.0.0 fixture' });
  });

  it('the upgraded 1.0.0 snapshot restores and the guest runs on to its end', async () => {
    const decoded = await decodeSnapshot(fixture);
    const image = tickProgram(10);
    const m = restoreDecodedSnapshot(decoded, { resetImages: { multiboot: image } });
    expect(m.memory.physRead(TICKS_ADDRESS, 4)).toBe(3);
    // The snapshot was taken inside the third tick's handler, after its count and before its
    // dot: that dot, seven more ticks with one dot each, then the count on the exit port.
    expect(runToExit(m)).toBe('........');
    expect(m.exitCode).toBe(10);
    // A reboot loads the image given for the recorded Multiboot boot and runs all ten ticks.
    m.reset();
    expect(runToExit(m)).toBe('..........');
    m.release();
  });

  it('a snapshot of the upgraded machine is written in the current format', async () => {
    const decoded = await decodeSnapshot(fixture);
    const m = restoreDecodedSnapshot(decoded);
    const again = await decodeSnapshot(await captureSnapshot(m, { images: decoded.manifest.images }));
    expect(again.writtenWith).toEqual(CURRENT_FORMAT);
    expect(again.manifest.images[0]!.role).toBe('multiboot');
    m.release();
  });

  it('1.0 manifests of Linux boots list the kernel, then the initrd', () => {
    const manifest = migrateManifest({
      createdAt: '2026-11-26T00:00:00.000Z',
      machine: { ramBytes: 1 << 20, boot: { kind: 'linux', cmdline: '', commandLine: '' } },
      images: [{ name: 'a', sha256: '00' }, { name: 'b', sha256: '11' }],
      components: {},
    }, { major: 1, minor: 0, patch: 3 });
    expect(manifest.images.map((i) => i.role)).toEqual(['kernel', 'initrd']);
  });

  it('a current manifest without roles is corrupt, not silently upgraded', () => {
    const manifest = { createdAt: 'x', machine: { ramBytes: 4096 }, images: [{ name: 'a', sha256: '00' }], components: {} };
    expect(() => migrateManifest(manifest, CURRENT_FORMAT)).toThrow(new SnapshotError('corrupt', 'snapshot manifest has an invalid images list'));
  });

  it('versions without an upgrade path, older or newer, are refused naming both versions', async () => {
    const decoded = await decodeSnapshot(fixture);
    const file = await encodeSnapshot(decoded);
    const current = formatVersionText(CURRENT_FORMAT);
    const withVersion = (major: number, minor: number): Uint8Array => {
      const copy = file.slice();
      const view = new DataView(copy.buffer);
      view.setUint16(8, major, true);
      view.setUint16(10, minor, true);
      return copy;
    };
    const refusal = (f: Uint8Array) => decodeSnapshot(f).then(() => undefined, (e: unknown) => e as SnapshotError);
    const older = await refusal(withVersion(0, 3));
    expect(older?.code).toBe('unsupported-version');
    expect(older?.message).toBe(`snapshot format 0.3.0 is too old: this tabvisor reads ${current} and has no upgrade from 0.3`);
    const newer = await refusal(withVersion(CURRENT_FORMAT.major + 1, 2));
    expect(newer?.code).toBe('unsupported-version');
    expect(newer?.message).toBe(`snapshot format ${CURRENT_FORMAT.major + 1}.2.0 is newer than this tabvisor reads (${current}): update tabvisor`);
  });
});
