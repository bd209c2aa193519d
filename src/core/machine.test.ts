import { describe, expect, it } from 'vitest';
import { Machine } from './machine.ts';

const MiB = 1024 * 1024;
const LOAD = 0x100000;

/** A tiny assembler: bytes, little-endian dwords and rel8 jumps to labels. */
class Asm {
  readonly bytes: number[] = [];
  private readonly labels = new Map<string, number>();
  private readonly fixups: Array<{ at: number; label: string }> = [];
  constructor(readonly origin: number) {}
  get here(): number {
    return this.origin + this.bytes.length;
  }
  emit(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  dword(v: number): this {
    return this.emit(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }
  label(name: string): this {
    this.labels.set(name, this.here);
    return this;
  }
  /** Jcc/JMP short: `opcode` then a rel8 to `label`. */
  jump8(opcode: number, label: string): this {
    this.emit(opcode);
    this.fixups.push({ at: this.bytes.length, label });
    return this.emit(0);
  }
  /** mov al, imm8; out imm8, al */
  outImm(port: number, value: number): this {
    return this.emit(0xb0, value, 0xe6, port);
  }
  resolve(): Uint8Array {
    for (const f of this.fixups) {
      const target = this.labels.get(f.label);
      if (target === undefined) throw new Error(`no label ${f.label}`);
      const rel = target - (this.origin + f.at + 1);
      if (rel < -128 || rel > 127) throw new Error(`jump to ${f.label} out of range`);
      this.bytes[f.at] = rel & 0xff;
    }
    return new Uint8Array(this.bytes);
  }
}

/**
 * A flat Multiboot image (a.out kludge) at 1 MiB: checks EAX, prints "M" on
 * COM1, installs an IRQ 0 handler, programs the PIC and the PIT (100 Hz),
 * sleeps in HLT until 10 ticks were counted, prints "T" and writes the tick
 * count to the test-exit port.
 */
function timerProgram(): Uint8Array {
  const IDTR = LOAD + 0x300;
  const TICKS = LOAD + 0x310;
  const IDT = LOAD + 0x800;
  const HANDLER = LOAD + 0x200;
  const image = new Uint8Array(0x1000);
  const v = new DataView(image.buffer);
  const flags = 0x00010000;
  v.setUint32(0, 0x1badb002, true);
  v.setUint32(4, flags, true);
  v.setUint32(8, -(0x1badb002 + flags) >>> 0, true);
  v.setUint32(12, LOAD, true); // header_addr
  v.setUint32(16, LOAD, true); // load_addr
  v.setUint32(20, LOAD + image.length, true); // load_end_addr
  v.setUint32(24, LOAD + image.length, true); // bss_end_addr
  v.setUint32(28, LOAD + 0x40, true); // entry

  const code = new Asm(LOAD + 0x40)
    .emit(0xbc).dword(0x90000) // mov esp, 0x90000
    .emit(0x3d).dword(0x2badb002) // cmp eax, multiboot magic
    .jump8(0x74, 'ok')
    .outImm(0xf4, 0x01) // wrong magic: exit code 1
    .emit(0xf4)
    .label('ok')
    .emit(0x66, 0xba, 0xf8, 0x03) // mov dx, 0x3f8
    .emit(0xb0, 0x4d, 0xee) // mov al, 'M'; out dx, al
    .emit(0x0f, 0x01, 0x1d).dword(IDTR) // lidt [IDTR]
    .outImm(0x20, 0x11).outImm(0x21, 0x20).outImm(0x21, 0x04).outImm(0x21, 0x01) // master: vectors 0x20
    .outImm(0xa0, 0x11).outImm(0xa1, 0x28).outImm(0xa1, 0x02).outImm(0xa1, 0x01) // slave: vectors 0x28
    .outImm(0x21, 0xfe).outImm(0xa1, 0xff) // only IRQ 0
    .outImm(0x43, 0x34).outImm(0x40, 0x9c).outImm(0x40, 0x2e) // PIT channel 0, mode 2, 11932 = 100 Hz
    .emit(0xfb) // sti
    .label('wait')
    .emit(0xf4) // hlt
    .emit(0x83, 0x3d).dword(TICKS).emit(10) // cmp dword [TICKS], 10
    .jump8(0x72, 'wait') // jb wait
    .emit(0xfa) // cli
    .emit(0xb0, 0x54, 0xee) // mov al, 'T'; out dx, al
    .emit(0xa1).dword(TICKS) // mov eax, [TICKS]
    .emit(0xe6, 0xf4) // out 0xf4, al
    .emit(0xf4)
    .resolve();
  image.set(code, 0x40);

  const handler = new Asm(HANDLER)
    .emit(0xff, 0x05).dword(TICKS) // inc dword [TICKS]
    .emit(0x50) // push eax
    .outImm(0x20, 0x20) // EOI
    .emit(0x58, 0xcf) // pop eax; iret
    .resolve();
  image.set(handler, 0x200);

  v.setUint16(0x300, 0x7ff, true); // IDTR limit
  v.setUint32(0x302, IDT, true); // IDTR base
  const gate = 0x800 + 0x20 * 8; // interrupt gate for vector 0x20
  v.setUint16(gate, HANDLER & 0xffff, true);
  v.setUint16(gate + 2, 0x08, true);
  v.setUint8(gate + 5, 0x8e);
  v.setUint16(gate + 6, HANDLER >>> 16, true);
  return image;
}

function machine(options: { testExit?: boolean } = {}) {
  const m = new Machine({ ramBytes: 16 * MiB, clock: { mode: 'instructions' }, testExit: options.testExit ?? true, startEpochMs: 0 });
  let serial = '';
  m.onSerialOutput = (b) => (serial += String.fromCharCode(b));
  return { m, serial: () => serial };
}

/** Runs until something other than an exhausted budget happens. */
function runUntilStop(m: Machine, maxInstructions = 10_000_000) {
  for (let total = 0; total < maxInstructions; ) {
    const r = m.runSlice(1_000_000, 10_000);
    total += r.instructions;
    if (r.stop !== 'budget') return r;
  }
  throw new Error('the guest did not stop');
}

describe('Machine', () => {
  it('runs a Multiboot program that takes timer interrupts through PIC and PIT', () => {
    const { m, serial } = machine();
    m.bootMultiboot(timerProgram());
    const r = runUntilStop(m);
    expect(r.stop).toBe('test-exit');
    expect(m.exitCode).toBe(10);
    expect(serial()).toBe('MT');
    // Programming mode 2 raises OUT0 at once (the first tick, at time ~0), then
    // nine 100 Hz periods pass, skipped over while the CPU is halted.
    expect(m.clock.nowNs()).toBeGreaterThanOrEqual(90e6);
    expect(m.clock.nowNs()).toBeLessThan(90.1e6);
    expect(m.metrics()['pic.irq0']).toBe(10);
  });

  it('is deterministic with the instruction clock and resumes from a snapshot', () => {
    const a = machine();
    a.m.bootMultiboot(timerProgram());
    expect(a.m.runSlice(60, 10_000).stop).toBe('budget'); // somewhere inside the tick loop
    expect(a.serial()).toBe('M');
    expect(a.m.metrics()['pic.irq0']).toBeGreaterThan(0);
    const state = JSON.parse(JSON.stringify(a.m.saveState()));
    const pages = a.m.memory.presentPages();
    const b = machine();
    for (const page of pages) {
      const bytes = new Uint8Array(4096);
      a.m.memory.readPage(page, bytes);
      b.m.memory.writeBytes(page * 4096, bytes);
    }
    b.m.restoreState(state);
    const ra = runUntilStop(a.m);
    const rb = runUntilStop(b.m);
    expect(rb.stop).toBe('test-exit');
    expect(b.m.exitCode).toBe(10);
    expect(b.serial()).toBe('T');
    expect(b.m.cpu.instructionsRetired).toBe(a.m.cpu.instructionsRetired);
    expect(b.m.clock.nowNs()).toBe(a.m.clock.nowNs());
    expect(ra.stop).toBe('test-exit');
  });

  it('reports a reset request from the keyboard controller and can reset', () => {
    const { m } = machine();
    const image = timerProgram();
    // Replace the entry with: mov al, 0xfe; out 0x64, al; hlt
    image.set([0xb0, 0xfe, 0xe6, 0x64, 0xf4], 0x40);
    m.bootMultiboot(image);
    expect(runUntilStop(m).stop).toBe('reset');
    m.reset();
    expect(m.cpu.getEip()).toBe(LOAD + 0x40);
    expect(runUntilStop(m).stop).toBe('reset');
  });

  it('reports a triple fault', () => {
    const { m } = machine();
    const image = timerProgram();
    // lidt with a zero limit, then ud2: #UD -> #GP -> #DF -> shutdown.
    const idtr = LOAD + 0x320;
    image.set([0x0f, 0x01, 0x1d, idtr & 0xff, (idtr >> 8) & 0xff, (idtr >> 16) & 0xff, idtr >>> 24, 0x0f, 0x0b], 0x40);
    m.bootMultiboot(image);
    expect(runUntilStop(m).stop).toBe('triple-fault');
    expect(m.shutdownReason).toMatch(/triple fault/);
  });

  it('reports HLT with interrupts disabled as halted forever', () => {
    const { m } = machine();
    const image = timerProgram();
    image.set([0xfa, 0xf4], 0x40); // cli; hlt
    m.bootMultiboot(image);
    expect(runUntilStop(m).stop).toBe('halted-forever');
  });

  it('stops with out-of-memory when the frame budget is used up, and continues after more is granted', () => {
    const m = new Machine({ ramBytes: 16 * MiB, clock: { mode: 'instructions' }, testExit: true, budgetFrames: 8 });
    const image = timerProgram();
    // Touch 64 pages from 2 MiB up, one per 4 KiB: mov edi, 0x200000; mov ecx, 64; l: mov [edi], eax; add edi, 4096; loop l; out 0xf4, al
    image.set([0xbf, 0, 0, 0x20, 0, 0xb9, 64, 0, 0, 0, 0x89, 0x07, 0x81, 0xc7, 0, 0x10, 0, 0, 0xe2, 0xf6, 0xe6, 0xf4, 0xf4], 0x40);
    m.bootMultiboot(image);
    expect(runUntilStop(m).stop).toBe('out-of-memory');
    expect(m.outOfMemoryReason).toBe('budget');
    m.memory.budgetFrames = 200;
    m.memory.clearOutOfMemory();
    expect(runUntilStop(m).stop).toBe('test-exit');
    expect(m.memory.residentFrames).toBeGreaterThanOrEqual(64);
  });

  it('announces virtio-mmio slots on the kernel command line', () => {
    const { m } = machine();
    const seen: Array<[number, number]> = [];
    for (let i = 0; i < 2; i++) {
      m.addVirtioMmioDevice((base, irq) => {
        seen.push([base, irq]);
        return {
          name: `virtio${i}`,
          reset: () => {},
          attach: (s) => s.addMmio(base, 0x200, { read: () => 0x74726976, write: () => {} }),
          saveState: () => ({}),
          restoreState: () => {},
        };
      });
    }
    expect(seen).toEqual([[0xd0000000, 5], [0xd0000200, 9]]);
    expect(m.virtioCommandLine()).toBe('virtio_mmio.device=512@0xd0000000:5 virtio_mmio.device=512@0xd0000200:9');
    expect(m.memory.physRead(0xd0000200, 4)).toBe(0x74726976);
  });
});
