import { describe, expect, it } from 'vitest';
import { Machine, type SliceResult } from '../machine.ts';
import { FramePool } from '../memory/frame-pool.ts';
import { SnapshotError } from './errors.ts';
import { decodeSnapshot, encodeSnapshot, PAGE_SIZE } from './format.ts';
import { captureSnapshot, captureSnapshotContent, restoreDecodedSnapshot, restoreSnapshot, type RestoreOptions } from './machine-snapshot.ts';
import { TICKS_ADDRESS, tickProgram } from './test-support/tick-program.ts';

const MiB = 1024 * 1024;
const IMAGES = [{ name: 'tick-program', sha256: '00'.repeat(32), role: 'multiboot' as const }];

function instructionMachine(options: { pool?: FramePool } = {}) {
  const m = new Machine({ ramBytes: 16 * MiB, clock: { mode: 'instructions' }, testExit: true, startEpochMs: Date.UTC(2026, 0, 1), pool: options.pool });
  return m;
}

function runUntil(m: Machine, done: (r: SliceResult) => boolean, maxInstructions = 20_000_000): SliceResult {
  for (let total = 0; total < maxInstructions; ) {
    const r = m.runSlice(5, 10_000); // small slices: the whole program is only ~200 instructions
    total += r.instructions;
    if (done(r)) return r;
    if (r.stop !== 'budget' && r.stop !== 'halted') return r;
  }
  throw new Error('the guest did not get there');
}

const ticks = (m: Machine) => m.memory.physRead(TICKS_ADDRESS, 4);
const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

async function expectSnapshotError(promise: Promise<unknown>, code: SnapshotError['code'], message: RegExp): Promise<void> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(SnapshotError);
  expect((error as SnapshotError).code).toBe(code);
  expect((error as SnapshotError).message).toMatch(message);
  // One sentence, no stack noise in the message.
  expect((error as SnapshotError).message).not.toMatch(/\n/);
}

/** Re-encodes a snapshot after `edit` changed its manifest (so the checksum is valid and the content is what is wrong). */
async function withManifest(file: Uint8Array, edit: (manifest: Record<string, unknown>) => void): Promise<Uint8Array> {
  const decoded = await decodeSnapshot(file);
  const manifest = json(decoded.manifest) as unknown as Record<string, unknown>;
  edit(manifest);
  return encodeSnapshot({ manifest: manifest as unknown as typeof decoded.manifest, pageNumbers: decoded.pageNumbers, pageData: decoded.pageData });
}

describe('machine snapshots', () => {
  it('records the board configuration and every component by name', async () => {
    const m = instructionMachine();
    m.bootMultiboot(tickProgram(), 'tick');
    runUntil(m, () => ticks(m) >= 3);
    const file = await captureSnapshot(m, { images: IMAGES, config: { name: 'test vm' } });
    const { manifest, pageNumbers } = await decodeSnapshot(file);
    expect(manifest.machine).toEqual({
      ramBytes: 16 * MiB,
      clock: { mode: 'instructions', nsPerInstruction: 1 },
      startEpochMs: Date.UTC(2026, 0, 1),
      testExit: true,
      secondUart: false,
      fpu: true,
      boot: { kind: 'multiboot', cmdline: 'tick', commandLine: 'tick' },
      virtio: [],
      vmm: { name: 'test vm' },
    });
    expect(manifest.images).toEqual(IMAGES);
    expect(Object.keys(manifest.components).sort()).toEqual(['clock', 'cpu', 'debug', 'fpu', 'i8042', 'pic', 'pit', 'rtc', 'uart0']);
    expect(manifest.components.cpu).not.toHaveProperty('fpu');
    // Only present pages: the program, its stack and the Multiboot info, not 16 MiB.
    expect(Array.from(pageNumbers)).toEqual(Array.from(m.memory.presentPages()));
    expect(pageNumbers.length).toBeLessThan(20);
    m.release();
  });

  it('restores into a fresh machine whose state equals the original and which continues identically', async () => {
    const a = instructionMachine();
    a.bootMultiboot(tickProgram());
    runUntil(a, () => ticks(a) >= 4);
    const file = await captureSnapshot(a, { images: IMAGES });
    const saved = json(a.saveState());

    const b = await restoreSnapshot(file);
    expect(json(b.saveState())).toEqual(saved);
    expect(b.memory.residentFrames).toBe(0); // nothing copied yet: RAM is lazy
    expect(b.memory.lazyPages).toBe(a.memory.presentPages().length);
    expect(Array.from(b.memory.presentPages())).toEqual(Array.from(a.memory.presentPages()));
    expect(b.bootInfo).toEqual(a.bootInfo);
    let serialA = '';
    let serialB = '';
    a.onSerialOutput = (byte) => (serialA += String.fromCharCode(byte));
    b.onSerialOutput = (byte) => (serialB += String.fromCharCode(byte));

    const ra = runUntil(a, (r) => r.stop === 'test-exit');
    const rb = runUntil(b, (r) => r.stop === 'test-exit');
    expect(ra.stop).toBe('test-exit');
    expect(rb.stop).toBe('test-exit');
    expect(b.exitCode).toBe(10);
    expect(serialB).toBe(serialA); // the remaining ticks' dots
    expect(serialB.length).toBeGreaterThanOrEqual(6);
    expect(b.cpu.instructionsRetired).toBe(a.cpu.instructionsRetired);
    expect(b.clock.nowNs()).toBe(a.clock.nowNs());
    expect(json(b.cpu.saveState())).toEqual(json(a.cpu.saveState()));
    // The pages the guest touched after the restore were copied in (all three: code, stack, and the GDT in the Multiboot page).
    expect(b.memory.residentFrames + b.memory.lazyPages).toBe(a.memory.residentFrames);
    a.release();
    b.release();
  });

  it('interrupt lines held high across the snapshot raise no new request after the restore', async () => {
    const a = instructionMachine();
    a.bootMultiboot(tickProgram());
    runUntil(a, () => ticks(a) >= 1);
    const out = (port: number, value: number) => a.ports.write(port, 1, value);
    out(0x20, 0x20); // end a timer interrupt that may be in service
    out(0x21, 0xef); // unmask IRQ 4 only
    out(0x3fc, 0x08); // OUT2: the UART's interrupt reaches the PIC
    out(0x3f9, 0x02); // THRE interrupt: the line goes high at once
    // The CPU takes IRQ 4 (acknowledge): in service, no longer requested, line still high.
    while (a.pic.interruptPending) a.pic.acknowledge();
    const pic = a.pic.saveState() as { master: { irr: number; isr: number; inputs: number } };
    expect(pic.master.isr & 0x10).toBe(0x10);
    expect(pic.master.irr & 0x10).toBe(0);
    expect(pic.master.inputs & 0x10).toBe(0x10);
    const b = await restoreSnapshot(await captureSnapshot(a, { images: IMAGES }));
    expect(b.pic.saveState()).toEqual(a.pic.saveState());
    expect(json(b.saveState())).toEqual(json(a.saveState()));
    a.release();
    b.release();
  });

  it('captures synchronously: the machine may run on while the file is compressed', async () => {
    const a = instructionMachine();
    a.bootMultiboot(tickProgram());
    runUntil(a, () => ticks(a) >= 2);
    const saved = json(a.saveState());
    const savedTicks = ticks(a);
    const pending = captureSnapshot(a, { images: IMAGES });
    runUntil(a, (r) => r.stop === 'test-exit');
    expect(ticks(a)).toBe(10);
    const b = await restoreSnapshot(await pending);
    expect(json(b.saveState())).toEqual(saved);
    expect(ticks(b)).toBe(savedTicks);
    a.release();
    b.release();
  });

  it('a snapshot of a restored machine (pages still lazy) is the same snapshot', async () => {
    const a = instructionMachine();
    a.bootMultiboot(tickProgram());
    runUntil(a, () => ticks(a) >= 2);
    const first = captureSnapshotContent(a, { images: IMAGES });
    const b = restoreDecodedSnapshot(first);
    const second = captureSnapshotContent(b, { images: IMAGES });
    expect(second.manifest.components).toEqual(json(first.manifest.components));
    expect(second.manifest.machine).toEqual(first.manifest.machine);
    expect(Array.from(second.pageNumbers)).toEqual(Array.from(first.pageNumbers));
    expect(second.pageData).toEqual(first.pageData);
    b.memory.materializeAll();
    expect(b.memory.lazyPages).toBe(0);
    expect(b.memory.residentFrames).toBe(first.pageNumbers.length);
    expect(captureSnapshotContent(b, { images: IMAGES }).pageData).toEqual(first.pageData);
    a.release();
    b.release();
  });

  it('eager restore copies every page in at once', async () => {
    const a = instructionMachine();
    a.bootMultiboot(tickProgram());
    runUntil(a, () => ticks(a) >= 2);
    const b = await restoreSnapshot(await captureSnapshot(a, { images: IMAGES }), { eager: true });
    expect(b.memory.lazyPages).toBe(0);
    expect(b.memory.residentFrames).toBe(a.memory.residentFrames);
    a.release();
    b.release();
  });

  it('restore cost does not grow with RAM size', async () => {
    const restoreMs = async (ramBytes: number) => {
      const m = new Machine({ ramBytes, clock: { mode: 'instructions' }, testExit: true });
      m.bootMultiboot(tickProgram());
      runUntil(m, () => ticks(m) >= 1);
      const file = await captureSnapshot(m, { images: IMAGES });
      m.release();
      const decoded = await decodeSnapshot(file);
      const pool = new FramePool({ limitFrames: ramBytes / PAGE_SIZE + 2, initialFrames: 64 });
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const r = restoreDecodedSnapshot(decoded, { pool });
        best = Math.min(best, performance.now() - t0);
        expect(r.memory.residentFrames).toBe(0);
        r.release();
      }
      return { best, frames: pool.allocatedFrames };
    };
    const small = await restoreMs(16 * MiB);
    const large = await restoreMs(1024 * MiB);
    expect(large.frames).toBe(0);
    // 64 times the RAM: allowed to be a little slower (the p2m map is allocated), not 64 times.
    expect(large.best).toBeLessThan(small.best * 8 + 20);
  });

  it('after a restore guest time continues from the save: no jump, no storm of missed ticks, RTC continues', async () => {
    let hostMs = 1_000;
    const hostNowMs = () => hostMs;
    const options = { clock: { mode: 'realtime' as const, hostNowMs }, hostNowMs };
    const a = new Machine({ ramBytes: 16 * MiB, testExit: true, startEpochMs: Date.UTC(2026, 0, 1, 12, 0, 0), ...options });
    a.bootMultiboot(tickProgram(10));
    /** Runs with a fake host clock: 0.05 ms per slice of 2000 instructions, and sleeps as long as the guest asks. */
    const run = (m: Machine, until: () => boolean) => {
      for (let i = 0; i < 100_000 && !until(); i++) {
        const r = m.runSlice(2_000, 1e9);
        if (r.stop === 'halted') hostMs += Math.max(0.01, r.sleepNs / 1e6);
        else if (r.stop === 'budget') hostMs += 0.05;
        else return r.stop;
      }
      return 'done';
    };
    const rtc = (m: Machine) => [0, 2, 4].map((index) => {
      m.ports.write(0x70, 1, index);
      return m.ports.read(0x71, 1);
    });
    run(a, () => ticks(a) >= 4);
    const savedNs = a.clock.nowNs();
    const savedRtc = rtc(a);
    const file = await captureSnapshot(a, { images: IMAGES });
    a.release();

    hostMs += 3_600_000; // an hour passes on the host before the restore
    const b = await restoreSnapshot(file, options);
    expect(b.clock.nowNs()).toBe(savedNs);
    expect(rtc(b)).toEqual(savedRtc);
    const irqsBefore = b.metrics()['pic.irq0'] ?? 0;
    expect(run(b, () => false)).toBe('test-exit');
    expect(b.exitCode).toBe(10);
    // Six more ticks at 100 Hz: about 60 ms of guest time, one interrupt each.
    expect((b.metrics()['pic.irq0'] ?? 0) - irqsBefore).toBe(6);
    expect(b.clock.nowNs() - savedNs).toBeGreaterThan(50e6);
    expect(b.clock.nowNs() - savedNs).toBeLessThan(70e6);
    b.release();
  });

  it('a restored guest can be reset when its images are given', async () => {
    const a = instructionMachine();
    const image = tickProgram();
    a.bootMultiboot(image);
    runUntil(a, () => ticks(a) >= 2);
    const b = await restoreSnapshot(await captureSnapshot(a, { images: IMAGES }), { resetImages: { multiboot: image } });
    b.reset();
    expect(ticks(b)).toBe(0);
    expect(b.memory.lazyPages).toBe(0);
    expect(runUntil(b, (r) => r.stop === 'test-exit').stop).toBe('test-exit');
    expect(b.exitCode).toBe(10);
    await expectSnapshotError(restoreSnapshot(await captureSnapshot(a, { images: IMAGES }), { resetImages: { kernel: image } }), 'incompatible', /Linux images were given/);
    a.release();
    b.release();
  });

  describe('errors', () => {
    let fileCache: Uint8Array | undefined;
    async function goodFile(): Promise<Uint8Array> {
      if (!fileCache) {
        const m = instructionMachine();
        m.bootMultiboot(tickProgram());
        runUntil(m, () => ticks(m) >= 2);
        fileCache = await captureSnapshot(m, { images: IMAGES });
        m.release();
      }
      return fileCache;
    }

    /** Restores into a shared pool and checks that a failure leaves no frame behind. */
    async function expectRejected(file: Uint8Array, code: SnapshotError['code'], message: RegExp, options: RestoreOptions = {}) {
      const pool = new FramePool({ limitFrames: 8192 });
      await expectSnapshotError(restoreSnapshot(file, { pool, ...options }), code, message);
      expect(pool.allocatedFrames).toBe(0);
    }

    it('a flipped byte anywhere gives a SnapshotError and no machine', async () => {
      const file = await goodFile();
      for (const at of [0, 9, 20, 40, file.length >> 1, file.length - 1]) {
        const damaged = file.slice();
        damaged[at]! ^= 0x01;
        const pool = new FramePool({ limitFrames: 8192 });
        const error = await restoreSnapshot(damaged, { pool }).then(() => null, (e: unknown) => e);
        expect(error, `byte ${at}`).toBeInstanceOf(SnapshotError);
        expect(pool.allocatedFrames).toBe(0);
      }
    });

    it('unknown, missing and malformed components', async () => {
      const file = await goodFile();
      await expectRejected(await withManifest(file, (m) => ((m.components as Record<string, unknown>).virtio7 = {})), 'incompatible',
        /^snapshot has a component "virtio7" that this machine does not have$/);
      await expectRejected(await withManifest(file, (m) => delete (m.components as Record<string, unknown>).pit), 'corrupt',
        /^snapshot has no state for component "pit"$/);
      await expectRejected(await withManifest(file, (m) => delete ((m.components as Record<string, Record<string, unknown>>).cpu!).cr3), 'corrupt',
        /^snapshot component "cpu" field "cr3" is missing$/);
      await expectRejected(await withManifest(file, (m) => ((m.components as Record<string, Record<string, unknown>>).cpu!.regs = [1, 2, 3])), 'corrupt',
        /^snapshot component "cpu" field "regs" should be a list of 8$/);
      await expectRejected(await withManifest(file, (m) => (((m.components as Record<string, Record<string, Record<string, unknown>>>).cpu!.cs!).base = 'x')), 'corrupt',
        /^snapshot component "cpu" field "cs.base" should be a number$/);
      await expectRejected(await withManifest(file, (m) => ((m.components as Record<string, Record<string, unknown>>).clock!.nowNs = null)), 'corrupt',
        /^snapshot component "clock" field "nowNs" should be a number$/);
      await expectRejected(await withManifest(file, (m) => delete ((m.components as Record<string, Record<string, unknown>>).fpu!).controlWord), 'corrupt',
        /^snapshot component "fpu" field "controlWord" is missing$/);
      await expectRejected(await withManifest(file, (m) => delete ((m.components as Record<string, Record<string, unknown>>).pit!).portB), 'corrupt',
        /^snapshot state does not restore: pit state: field "portB" should be a number, found nothing$/);
      await expectRejected(await withManifest(file, (m) => ((m.components as Record<string, Record<string, unknown>>).uart0!.triggerLevel = 3)), 'corrupt',
        /trigger level 3/);
    });

    it('bad machine configuration, RAM size and budget mismatches', async () => {
      const file = await goodFile();
      await expectRejected(await withManifest(file, (m) => delete (m.machine as Record<string, unknown>).secondUart), 'corrupt',
        /^snapshot machine configuration has no valid "secondUart" \(true or false\)$/);
      await expectRejected(await withManifest(file, (m) => ((m.machine as Record<string, unknown>).clock = { mode: 'sundial' })), 'corrupt',
        /no valid "clock"/);
      await expectRejected(await withManifest(file, (m) => ((m.machine as Record<string, unknown>).ramBytes = 0xf0000000)), 'incompatible',
        /^the snapshot's machine cannot be built here: machine: RAM size must be/);
      await expectRejected(file, 'incompatible', /^snapshot is of a machine with 16 MiB of RAM, not the 32 MiB expected$/, { ramBytes: 32 * MiB });
      await expectRejected(file, 'incompatible', /more than the VM's budget of 2 frames/, { budgetFrames: 2 });
      await expectRejected(file, 'incompatible', /^snapshot has 0 virtio-mmio devices but 1 device factories were given$/, {
        virtio: [() => ({ name: 'v', reset() {}, attach() {}, saveState: () => ({}), restoreState() {} })],
      });
      // Pages beyond the recorded RAM size.
      await expectRejected(await withManifest(file, (m) => ((m.machine as Record<string, unknown>).ramBytes = 1 * MiB)), 'corrupt', /page index is invalid/);
    });
  });
});
