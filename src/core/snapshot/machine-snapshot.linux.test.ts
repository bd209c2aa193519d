/**
 * The snapshot issue's end-to-end test on the default Linux guest: files in
 * tmpfs, a background loop and the uptime survive a snapshot restored into a
 * fresh machine (the original released first, so nothing can be shared), the
 * shell keeps working, and a damaged file is refused without building a
 * machine. Prints the snapshot's size, the save time and the time until the
 * restored guest answers its first command.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Machine } from '../machine.ts';
import { FramePool } from '../memory/frame-pool.ts';
import { IMAGES_DIR, LinuxSession } from '../test-support/linux-session.ts';
import { SnapshotError } from './errors.ts';
import { decodeSnapshot } from './format.ts';
import { captureSnapshot, restoreSnapshot } from './machine-snapshot.ts';
import { checkComponentRoundTrips } from './test-support/component-round-trip.ts';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const uptime = (s: LinuxSession) => Number(s.run('cat /proc/uptime').output.split(' ')[0]);
const lines = (s: LinuxSession) => Number(s.run('wc -l < /tmp/t').output.trim());
/** The sha256sum line of a file (kernel messages may interleave with the output). */
const hashOf = (s: LinuxSession, path: string) => new RegExp(`([0-9a-f]{64})  ${path}`).exec(s.run(`sha256sum ${path}`).output)?.[1];

let original: LinuxSession | undefined;
let restored: LinuxSession | undefined;
let file: Uint8Array;
const before = { hash: '', uptime: 0, uptimeNs: 0, lines: 0, guestNs: 0, state: '' };
const figures = { sizeBytes: 0, presentPages: 0, storedPages: 0, saveMs: 0, restoreMs: 0, firstCommandMs: 0 };

beforeAll(async () => {
  // A 20 MIPS pace (about the interpreter's real speed): the first /dev/urandom read busy-waits
  // 2.56 s of guest time for the entropy pool, 51 M instructions at this pace instead of 2.6 G.
  original = await LinuxSession.boot(64, { nsPerInstruction: 50 });
  const s = original;
  const r = s.run('echo hello > /tmp/a; dd if=/dev/urandom of=/tmp/r bs=1k count=64 2>/dev/null; sha256sum /tmp/r');
  expect(r.status).toBe(0);
  before.hash = /([0-9a-f]{64}) {2}\/tmp\/r/.exec(r.output)![1]!;
  s.run('while true; do date >> /tmp/t; sleep 1; done & true'); // "& true": run() appends "; echo ...
  s.run('sleep 3');
  before.lines = lines(s);
  before.uptime = uptime(s);
  before.uptimeNs = s.machine.clock.nowNs(); // (just after the guest read /proc/uptime)

  const t0 = performance.now();
  file = await captureSnapshot(s.machine, {
    images: [
      { name: 'bzImage', sha256: sha256(readFileSync(IMAGES_DIR + 'bzImage')), role: 'kernel' },
      { name: 'initramfs.cpio.gz', sha256: sha256(readFileSync(IMAGES_DIR + 'initramfs.cpio.gz')), role: 'initrd' },
    ],
    config: { name: 'linux snapshot test' },
  });
  figures.saveMs = performance.now() - t0;
  figures.sizeBytes = file.length;
  const present = s.machine.memory.presentPages();
  figures.presentPages = present.length;
  // The snapshot leaves out pages that hold only zeros (they read as zeros without a frame).
  const page = new Uint8Array(4096);
  figures.storedPages = present.filter((p) => {
    s.machine.memory.readPage(p, page);
    return page.some((b) => b !== 0);
  }).length;
  before.guestNs = s.machine.clock.nowNs();
  before.state = JSON.stringify(s.machine.saveState());
  // Released before the restore: the restored machine cannot lean on anything of it.
  s.release();
  original = undefined;

  const t1 = performance.now();
  const machine = await restoreSnapshot(file);
  figures.restoreMs = performance.now() - t1;
  restored = LinuxSession.attach(machine);
  const t2 = performance.now();
  expect(restored.run('echo ready').output).toBe('ready\n');
  figures.firstCommandMs = performance.now() - t2;
  console.log(`snapshot of the booted default VM: ${JSON.stringify(figures)}`);
}, 900_000);

afterAll(() => {
  original?.release();
  restored?.release();
});

describe('snapshot of the default Linux guest', () => {
  test('the restored machine starts exactly in the saved state', async () => {
    // (The first command has run since, so compare a fresh restore.)
    const m = await restoreSnapshot(file);
    try {
      expect(JSON.stringify(m.saveState())).toBe(before.state);
      expect(m.clock.nowNs()).toBe(before.guestNs);
      expect(m.memory.residentFrames).toBe(0);
      expect(m.memory.lazyPages).toBe(figures.storedPages);
    } finally {
      m.release();
    }
  });

  test('every component of the running guest round-trips through JSON into a fresh instance', async () => {
    const m = await restoreSnapshot(file);
    try {
      checkComponentRoundTrips(m);
    } finally {
      m.release();
    }
  });

  test('uptime continues from where it was: not reset, not jumped', () => {
    const s = restored!;
    const now = uptime(s);
    // Not reset, and grown by the guest time that passed since (the saved commands' and
    // the restored ones', e.g. idle waits for typed input), not by anything more.
    const guestSeconds = (s.machine.clock.nowNs() - before.uptimeNs) / 1e9;
    expect(now).toBeGreaterThanOrEqual(before.uptime);
    expect(now - before.uptime).toBeLessThanOrEqual(guestSeconds + 0.02);
    expect(now - before.uptime).toBeGreaterThan(guestSeconds - 0.5);
    expect(guestSeconds).toBeLessThan(10);
  });

  test('a restored guest runs exactly like the machine it was captured from (paging, user mode, interrupts)', async () => {
    // The first machine is itself restored; what matters is that the second, restored from a
    // snapshot of the first taken mid-command, follows it instruction for instruction.
    const m1 = await restoreSnapshot(file);
    let m2: Machine | undefined;
    try {
      let out1 = '';
      let out2 = '';
      m1.onSerialOutput = (b) => (out1 += String.fromCharCode(b));
      m1.uart0.receive(new TextEncoder().encode('ls -l / | sha256sum; cat /proc/uptime\n'));
      m1.runSlice(300_000, 60_000); // the shell has read part of the line
      m2 = await restoreSnapshot(await captureSnapshot(m1, { images: [] }));
      m2.onSerialOutput = (b) => (out2 += String.fromCharCode(b));
      out1 = '';
      for (let step = 0; step < 30; step++) {
        const r1 = m1.runSlice(500_000, 60_000);
        const r2 = m2.runSlice(500_000, 60_000);
        expect(r2, `step ${step}`).toEqual(r1);
        expect(out2, `step ${step}`).toBe(out1);
        expect(m2.cpu.saveState(), `step ${step}`).toEqual(m1.cpu.saveState());
      }
      expect(JSON.stringify(m2.saveState())).toBe(JSON.stringify(m1.saveState()));
      expect(out1).toMatch(/[0-9a-f]{64} {2}-/);
    } finally {
      m1.release();
      m2?.release();
    }
  });

  test('files in tmpfs are intact', () => {
    const s = restored!;
    expect(s.run('cat /tmp/a').output).toBe('hello\n');
    expect(hashOf(s, '/tmp/r')).toBe(before.hash);
  });

  test('the background loop keeps running', () => {
    const s = restored!;
    const first = lines(s);
    expect(first).toBeGreaterThanOrEqual(before.lines);
    s.run('sleep 3');
    expect(lines(s)).toBeGreaterThanOrEqual(first + 2);
    expect(s.run('jobs').output).toMatch(/Running/);
  });

  test('the shell still works', () => {
    const s = restored!;
    expect(s.run('echo $((6*7))').output).toBe('42\n');
    expect(s.run('seq 1 2000 | sort -rn | head -1').output).toBe('2000\n');
    expect(s.run('uname -r').status).toBe(0);
  });

  test('a flipped byte gives a SnapshotError and no machine', async () => {
    const pool = new FramePool({ limitFrames: (64 << 20) / 4096 + 2 });
    for (const at of [100, file.length >> 1, file.length - 10]) {
      const damaged = file.slice();
      damaged[at]! ^= 0x04;
      let machine: Machine | undefined;
      const error = await restoreSnapshot(damaged, { pool }).then((m) => (machine = m), (e: unknown) => e);
      machine?.release();
      expect(error).toBeInstanceOf(SnapshotError);
      expect(machine).toBeUndefined();
      expect(pool.allocatedFrames).toBe(0);
    }
  });

  test('the snapshot stores only present pages that are not all zeros, and records the images and command line', async () => {
    const { manifest, pageNumbers } = await decodeSnapshot(file);
    expect(pageNumbers.length).toBe(figures.storedPages);
    expect(figures.storedPages).toBeLessThan(figures.presentPages);
    expect(pageNumbers.length).toBeLessThan((64 << 20) / 4096);
    expect(manifest.images.map((i) => i.name)).toEqual(['bzImage', 'initramfs.cpio.gz']);
    expect(manifest.machine.boot).toMatchObject({ kind: 'linux', commandLine: expect.stringContaining('tsc_early_khz=') });
    expect(figures.sizeBytes).toBeLessThan(pageNumbers.length * 4096);
  });
});
