/**
 * The kernel's system-call and context-switch instructions inside compiled
 * blocks (translator.ts "system instructions"): STI and POPF at CPL 0 with
 * an interrupt line raised at arbitrary points, MOV Sreg (flat and not),
 * RDTSC, CMPXCHG8B, FXSAVE/FXRSTOR and MOV CR3 must give the interpreter's
 * state at every instruction boundary, interrupts taken at the same
 * instruction.
 */
import { describe, expect, it } from 'vitest';
import { Cpu } from '../cpu/cpu.ts';
import { StopReason } from '../cpu/host.ts';
import { FlatRamHost } from '../cpu/flat-ram-host.ts';
import { X87 } from '../cpu/fpu/x87.ts';
import { Jit, JIT_FRAMES, type JitOptions } from './jit.ts';

/**
 * A TSC that counts retired instructions (so RDTSC shows whether the JIT
 * reports its position exactly), above 2^32; an interrupt line that drops
 * when the CPU takes the interrupt (an edge-triggered controller).
 */
class CountingTscHost extends FlatRamHost {
  cpu: Cpu | null = null;
  override readTsc(): number {
    return 0x1_2345_0000 + 1000 * (this.cpu?.liveInstructionCount() ?? 0);
  }
  override acknowledgeInterrupt(): number {
    this.cpu?.setInterruptLine(false);
    return 0x20;
  }
}

const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

const GDT = 0x6000;
const IDT = 0x6800;
const HANDLER = 0x10900;
const COUNTERS = 0x9000;

/**
 * Ring 0, flat segments from a GDT (0x08 code, 0x10 data, 0x18 data based
 * at 0x2000, an IDT whose vector
 * 0x20 (what FlatRamHost acknowledges) counts interrupts at COUNTERS, code
 * at 0x10000.
 */
function machine(code: number[], jit: false | JitOptions): { cpu: Cpu; host: CountingTscHost; engine: Jit | null } {
  const host = new CountingTscHost(1 << 20, { wasm: true });
  const mem = new Uint8Array(host.buffer);
  const dv = new DataView(host.buffer);
  mem.set(code, 0x10000);
  for (let k = 0; k < 0x3000; k += 4) dv.setUint32(k, k * 0x9e3779b1, true); // something to read at 0x10 and 0x2010
  const descriptors: [number, number][] = [[0, 0], [0x0000ffff, 0x00cf9a00], [0x0000ffff, 0x00cf9200], [0x2000ffff, 0x00cf9200]];
  descriptors.forEach(([lo, hi], k) => { dv.setUint32(GDT + 8 * k, lo, true); dv.setUint32(GDT + 8 * k + 4, hi, true); });
  // Interrupt gate 0x20 -> HANDLER: inc dword [COUNTERS] / iretd
  dv.setUint32(IDT + 0x20 * 8, (0x08 << 16) | (HANDLER & 0xffff), true);
  dv.setUint32(IDT + 0x20 * 8 + 4, (HANDLER & 0xffff0000) | 0x8e00, true);
  mem.set([0xff, 0x05, ...le32(COUNTERS), 0xcf], HANDLER);
  const cpu = new Cpu(host, (fh) => new X87(fh));
  host.cpu = cpu;
  let engine: Jit | null = null;
  if (jit !== false) cpu.enableJit((core) => (engine = new Jit(core, host.memory!, host.spareFrames.slice(0, JIT_FRAMES), false, jit)));
  cpu.setCr(0, 0x60000011 & ~0x60000000); // PE, ET; caches on; no TS/EM: FXSAVE runs
  cpu.setGdtr(GDT, 4 * 8 - 1);
  cpu.setIdtr(IDT, 0x21 * 8 - 1);
  cpu.setSegment(1, 0x08, 0, 0xffffffff, 0xc9b);
  for (const s of [0, 2, 3, 4, 5]) cpu.setSegment(s, 0x10, 0, 0xffffffff, 0xc93);
  cpu.setReg32(4, 0x80000);
  cpu.setReg32(2, 0);
  cpu.setEip(0x10000);
  return { cpu, host, engine };
}

/** The loop of the first tests: every instruction this file covers, 300 times. */
function systemLoop(): { code: number[]; end: number } {
  const body: number[] = [];
  const at = (): number => 0x10005 + body.length;
  const emit = (...b: number[]): void => { body.push(...b); };
  emit(0xfa); // cli
  emit(0xba, ...le32(0x10)); // mov edx,0x10
  emit(0x8e, 0xda); // mov ds,dx
  emit(0x8e, 0xc2); // mov es,dx
  emit(0xeb, 0x00); // jmp $+2: short blocks, which small budgets still let run compiled
  emit(0x89, 0xce, 0x83, 0xe6, 0x01, 0xc1, 0xe6, 0x03, 0x83, 0xc6, 0x10); // mov esi,ecx / and esi,1 / shl esi,3 / add esi,0x10
  emit(0x8e, 0xee); // mov gs,si: 0x10 (flat) and 0x18 (based at 0x2000) by turns
  emit(0x65, 0x8b, 0x05, ...le32(0x10)); // mov eax,gs:[0x10]  (linear 0x10 or 0x2010)
  emit(0x01, 0x05, ...le32(COUNTERS + 8)); // add [COUNTERS+8],eax
  emit(0x8c, 0xe8, 0x01, 0x05, ...le32(COUNTERS + 28)); // mov eax,gs / add [COUNTERS+28],eax
  emit(0xeb, 0x00);
  emit(0x0f, 0x31); // rdtsc
  emit(0xa3, ...le32(COUNTERS + 12)); // mov [COUNTERS+12],eax
  emit(0x89, 0x15, ...le32(COUNTERS + 16)); // mov [COUNTERS+16],edx
  emit(0xeb, 0x00);
  emit(0xa1, ...le32(0x8000)); // mov eax,[0x8000]
  emit(0x8b, 0x15, ...le32(0x8004)); // mov edx,[0x8004]
  emit(0x89, 0xcb, 0x83, 0xe3, 0x01, 0x31, 0xd8); // mov ebx,ecx / and ebx,1 / xor eax,ebx: odd passes miss
  emit(0x51, 0x89, 0xcb, 0xb9, ...le32(0x5555)); // push ecx / mov ebx,ecx / mov ecx,0x5555
  emit(0xf0, 0x0f, 0xc7, 0x0d, ...le32(0x8000)); // lock cmpxchg8b [0x8000]
  emit(0x59); // pop ecx
  emit(0x0f, 0x94, 0xc0, 0x00, 0x05, ...le32(COUNTERS + 20)); // setz al / add [COUNTERS+20],al
  emit(0xeb, 0x00);
  emit(0xd9, 0xe8); // fld1 (something for FXSAVE to see)
  emit(0x0f, 0xae, 0x05, ...le32(0x7000)); // fxsave [0x7000]
  emit(0xdd, 0xd8); // fstp st0
  emit(0x0f, 0xae, 0x0d, ...le32(0x7000)); // fxrstor [0x7000]
  emit(0xdd, 0xd8); // fstp st0
  emit(0xeb, 0x00);
  emit(0x9c, 0x81, 0x0c, 0x24, ...le32(0x200), 0x9d); // pushfd / or dword [esp],0x200 / popfd: IF 0 -> 1
  // Stretches with IF = 0 before each point that enables interrupts, so that raised lines wait there.
  const work = (): void => { for (let k = 0; k < 6; k++) emit(0x01, 0xcf); }; // add edi,ecx
  emit(0xfa); // cli
  work();
  emit(0xfb, 0xbb, ...le32(1)); // sti / mov ebx,1 (interrupts after the MOV)
  emit(0xfa); // cli
  work();
  const call = at();
  emit(0xe8, ...le32(0x10800 - (call + 5))); // call 0x10800: cli / sti / ret (interrupts at the return address)
  emit(0x9c, 0x81, 0x24, 0x24, ...le32(~0x200), 0x9d); // pushfd / and dword [esp],~0x200 / popfd: IF 1 -> 0
  emit(0xba, ...le32(0x18), 0x8e, 0xc2); // mov edx,0x18 / mov es,dx: ES based at 0x2000, the region must stop
  emit(0x26, 0x89, 0x1d, ...le32(COUNTERS + 24)); // mov es:[COUNTERS+24],ebx (linear 0x2000 higher)
  emit(0xba, ...le32(0x10), 0x8e, 0xc2); // mov edx,0x10 / mov es,dx
  work();
  emit(0xfb, 0x90); // sti / nop
  // ... dec ecx / jnz loop / hlt / jmp hlt (an interrupt wakes it; it halts again)
  const code = [0xb9, ...le32(300), ...body, 0x49, 0x0f, 0x85, ...le32(-(body.length + 7)), 0xf4, 0xeb, 0xfd];
  const end = 0x10000 + code.length - 2;
  while (code.length < 0x800) code.push(0x90);
  code.splice(0x800, 3, 0xfa, 0xfb, 0xc3);
  return { code, end };
}

/**
 * Steps the interpreter (runs[0]) and the JIT (runs[1]) side by side with
 * budgets of 1..31 instructions, which stop runs everywhere and still let
 * whole blocks run compiled; raises the interrupt line before the steps
 * `raise` picks and compares `snapshot` after every step. Returns how often
 * the line was raised.
 */
function lockstep<R extends { cpu: Cpu }>(runs: R[], steps: number, raise: (step: number) => boolean, snapshot: (r: R) => number[]): number {
  let raised = 0;
  for (let step = 0; step < steps; step++) {
    const up = raise(step);
    for (const r of runs) {
      if (up) r.cpu.setInterruptLine(true);
      r.cpu.run(1 + ((step * 7) % 31));
    }
    if (up) raised++;
    expect(snapshot(runs[1]!), `after step ${step}`).toEqual(snapshot(runs[0]!));
  }
  return raised;
}

const state = (cpu: Cpu, mem: DataView): number[] => [
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((r) => cpu.getReg32(r) >>> 0),
  cpu.getEip(), cpu.getEflags(), cpu.instructionsRetired,
  ...[0, 4, 8, 12, 16, 20, 24, 28].map((k) => mem.getUint32(COUNTERS + k, true)),
  mem.getUint32(0x8000, true), mem.getUint32(0x8004, true), mem.getUint32(0x7000 + 32, true), mem.getUint32(0x2000 + COUNTERS + 24, true),
  // The last interrupt's frame (EIP, CS, EFLAGS): where it was taken.
  mem.getUint32(0x80000 - 12, true), mem.getUint32(0x80000 - 4, true),
];

describe('system instructions in compiled blocks', () => {
  const { code, end } = systemLoop();
  for (const [name, jit] of [['compiled on first sight', { threshold: 0 }], ['compiled when hot', { threshold: 20, warmupInstructions: 0 }]] as const) {
    it(`${name}: the interpreter's state at every boundary, interrupts at the same instruction`, () => {
      const runs = [false as const, jit].map((j) => {
        const m = machine(code, j);
        return { ...m, dv: new DataView(m.host.buffer) };
      });
      // Raise the line now and then (it drops when the CPU takes the interrupt).
      const raised = lockstep(runs, 6_000, (step) => step % 23 === 0, (r) => state(r.cpu, r.dv));
      const [interp, compiled] = runs;
      expect(interp!.cpu.getReg32(1)).toBe(0);
      expect(interp!.cpu.getEip()).toBe(end);
      // Interrupts were taken, at both STI shapes and at POPF, and the loop ran mostly compiled.
      expect(interp!.dv.getUint32(COUNTERS, true)).toBe(raised);
      expect(interp!.dv.getUint32(COUNTERS + 20, true)).toBe(150); // CMPXCHG8B: every even pass matched
      // (Small budgets keep the loop's longer blocks from running compiled: about a fifth ran there.)
      expect(compiled!.engine!.stats.instructions).toBeGreaterThan(compiled!.cpu.instructionsRetired / 8);
    });
  }

  it('without interrupts: the whole loop in large runs gives the same state', () => {
    const runs = [false as const, { threshold: 20, warmupInstructions: 0 }].map((j) => {
      const m = machine(code, j);
      let stop = m.cpu.run(500);
      while (stop === StopReason.Budget) stop = m.cpu.run(500);
      return { ...m, stop, dv: new DataView(m.host.buffer) };
    });
    expect(runs[0]!.stop).toBe(StopReason.Halted); // the loop ends with STI
    expect(runs[1]!.stop).toBe(runs[0]!.stop);
    expect(state(runs[1]!.cpu, runs[1]!.dv)).toEqual(state(runs[0]!.cpu, runs[0]!.dv));
    // Most of it ran compiled, with one return to JS per pass or so: at the MOV ES that makes ES not flat.
    expect(runs[1]!.engine!.stats.instructions).toBeGreaterThan(runs[1]!.cpu.instructionsRetired * 0.6);
    expect(runs[1]!.engine!.stats.blockRuns).toBeLessThan(300 * 2);
  });
});

describe('MOV CR3 in a compiled block', () => {
  // Two page directories map 0x400000 to different frames (0x50000, 0x51000) and the first 1 MiB
  // to itself. loop: add esi,[0x400000] / cmp ecx,-1 / je after (never taken: it puts the code after
  // the switch in the loop's region) / mov cr3,eax / after: rol esi,3 / add esi,[0x400000]
  // / xchg eax,edi / dec ecx / jnz loop / hlt. The first ADD leaves the old mapping in the TLB under
  // the old epoch key; the ROL makes the sum depend on which value each ADD saw.
  const code = [
    0xb9, ...le32(1000), 0x03, 0x35, ...le32(0x400000), 0x83, 0xf9, 0xff, 0x74, 0x03, 0x0f, 0x22, 0xd8,
    0xc1, 0xc6, 0x03, 0x03, 0x35, ...le32(0x400000), 0x97, 0x49, 0x75, 0xe5, 0xf4,
  ];
  let expected = 0;
  for (let k = 0, now = 1, next = 1000; k < 1000; k++) {
    expected = (expected + now) | 0;
    expected = (expected << 3) | (expected >>> 29);
    expected = (expected + next) | 0;
    [now, next] = [next, now];
  }

  it('the next access after the switch sees the new mapping, as in the interpreter', () => {
    const runs = [false as const, { threshold: 20, warmupInstructions: 0 }].map((j) => {
      const m = machine(code, j);
      const dv = new DataView(m.host.buffer);
      for (const [pd, frame] of [[0x30000, 0x50000], [0x31000, 0x51000]] as const) {
        dv.setUint32(pd, 0x32000 | 3, true);
        dv.setUint32(pd + 4, (pd + 0x3000) | 3, true);
        dv.setUint32(pd + 0x3000, frame | 3, true);
      }
      // The first 1 MiB global (as the kernel's pages are): the code stays in the TLB across switches.
      for (let k = 0; k < 256; k++) dv.setUint32(0x32000 + 4 * k, (k << 12) | 0x103, true);
      dv.setUint32(0x50000, 1, true);
      dv.setUint32(0x51000, 1000, true);
      m.cpu.setCr(3, 0x30000);
      m.cpu.setCr(4, 0x80); // PGE
      m.cpu.setCr(0, m.cpu.getCr(0) | 0x80000000);
      m.cpu.setReg32(0, 0x31000);
      m.cpu.setReg32(7, 0x30000);
      let stop = m.cpu.run(300);
      while (stop === StopReason.Budget) stop = m.cpu.run(300);
      return { ...m, stop };
    });
    expect(runs[0]!.stop).toBe(StopReason.HaltedNoInterrupts);
    expect(runs[0]!.cpu.getReg32(6)).toBe(expected >>> 0);
    for (const r of [0, 1, 2, 3, 4, 5, 6, 7]) expect(runs[1]!.cpu.getReg32(r), `register ${r}`).toBe(runs[0]!.cpu.getReg32(r));
    expect(runs[1]!.cpu.instructionsRetired).toBe(runs[0]!.cpu.instructionsRetired);
    // The switch leaves the region; the dispatcher goes on into the next one without JS.
    expect(runs[1]!.engine!.stats.instructions).toBeGreaterThan(5000);
    expect(runs[1]!.engine!.stats.blockRuns).toBeLessThan(100);
  });
});

describe('one frame of code at two virtual addresses', () => {
  // Frame 0x50000 holds `L: add ebx,ecx / dec ecx / jnz L / ret`; page directory A maps it at
  // 0x400000, B at 0x800000 (as each process maps the vDSO at its own address). The driver calls
  // it through A 2,000 times round the loop, then through B 20,000 times.
  const driver: number[] = [];
  const emit = (...b: number[]): void => { driver.push(...b); };
  const callTo = (target: number): void => { const next = 0x10000 + driver.length + 5; emit(0xe8, ...le32(target - next)); };
  emit(0xb8, ...le32(0x30000), 0x0f, 0x22, 0xd8); // mov eax,PD A / mov cr3,eax
  emit(0xb9, ...le32(2000)); callTo(0x400000);
  emit(0xb8, ...le32(0x31000), 0x0f, 0x22, 0xd8); // mov eax,PD B / mov cr3,eax
  emit(0xb9, ...le32(20000)); callTo(0x800000);
  emit(0xf4);

  it('is compiled again for the second address once that is hot, with the interpreter\'s result', () => {
    const runs = [false as const, { threshold: 20, warmupInstructions: 0 }].map((j) => {
      const m = machine(driver, j);
      const dv = new DataView(m.host.buffer);
      new Uint8Array(m.host.buffer).set([0x01, 0xcb, 0x49, 0x75, 0xfb, 0xc3], 0x50000);
      for (const [pd, pt, slot] of [[0x30000, 0x33000, 1], [0x31000, 0x34000, 2]] as const) {
        dv.setUint32(pd, 0x32000 | 3, true);
        dv.setUint32(pd + 4 * slot, pt | 3, true);
        dv.setUint32(pt, 0x50000 | 3, true);
      }
      for (let k = 0; k < 256; k++) dv.setUint32(0x32000 + 4 * k, (k << 12) | 3, true);
      m.cpu.setCr(3, 0x30000);
      m.cpu.setCr(0, m.cpu.getCr(0) | 0x80000000);
      let stop = m.cpu.run(1000);
      while (stop === StopReason.Budget) stop = m.cpu.run(1000);
      return { ...m, stop };
    });
    expect(runs[0]!.stop).toBe(StopReason.HaltedNoInterrupts);
    expect(runs[0]!.cpu.getReg32(3)).toBe(2000 * 2001 / 2 + 20000 * 20001 / 2);
    expect(runs[1]!.cpu.getReg32(3)).toBe(runs[0]!.cpu.getReg32(3));
    expect(runs[1]!.cpu.instructionsRetired).toBe(runs[0]!.cpu.instructionsRetired);
    // The block compiled for 0x400000 sits in the table under the frame's host offset; at 0x800000
    // the interpreter used to find that key, skip counting, and run the loop interpreted to the end.
    expect(runs[1]!.engine!.stats.instructions).toBeGreaterThan(0.8 * runs[1]!.cpu.instructionsRetired);
  });
});

describe('slow paths of one frame at two far-apart addresses', () => {
  // Frame 0x50000 holds `rdtsc / add esi,eax / mov ebx,[edi] / ret` at offsets 0 and 0x20,
  // mapped at 0x400000 and at 0x80000000; the driver calls 0x400000 and 0x80000020 in one loop.
  // Slow paths learn their instruction from a site packed against the running region's first
  // EIP (translator.ts slowArgs): RDTSC reports the retired count its slow path was told, and
  // EDI points nowhere mapped, so the #PF handler, which adds the faulting EIP to REC and skips
  // the load, shows the EIP each slow path reported.
  const REC = 0x9100;
  const PF_HANDLER = 0x10a00;
  const driver = [
    0xb9, ...le32(300), // mov ecx,300
    0x51, // L: push ecx
    0xe8, ...le32(0x400000 - 0x1000b), // call 0x400000
    0xe8, ...le32((0x80000020 - 0x10010) | 0), // call 0x80000020
    0x59, 0x49, 0x75, 0xf1, // pop ecx / dec ecx / jnz L
    0xf4,
  ];
  const routine = [0x0f, 0x31, 0x01, 0xc6, 0x8b, 0x1f, 0xc3];

  it('reports each fault at its own EIP and each instruction count exactly, as the interpreter does', () => {
    const runs = [false as const, { threshold: 20, warmupInstructions: 0 }].map((j) => {
      const m = machine(driver, j);
      const mem = new Uint8Array(m.host.buffer);
      const dv = new DataView(m.host.buffer);
      mem.set(routine, 0x50000);
      mem.set(routine, 0x50020);
      // pop eax (error code) / mov eax,[esp] / add [REC],eax / add dword [esp],2 / iretd
      mem.set([0x58, 0x8b, 0x04, 0x24, 0x01, 0x05, ...le32(REC), 0x83, 0x04, 0x24, 0x02, 0xcf], PF_HANDLER);
      dv.setUint32(IDT + 14 * 8, (0x08 << 16) | (PF_HANDLER & 0xffff), true);
      dv.setUint32(IDT + 14 * 8 + 4, (PF_HANDLER & 0xffff0000) | 0x8e00, true);
      dv.setUint32(0x30000, 0x32000 | 3, true);
      dv.setUint32(0x30000 + 4 * 1, 0x33000 | 3, true);
      dv.setUint32(0x30000 + 4 * 0x200, 0x34000 | 3, true);
      dv.setUint32(0x33000, 0x50000 | 3, true);
      dv.setUint32(0x34000, 0x50000 | 3, true);
      for (let k = 0; k < 256; k++) dv.setUint32(0x32000 + 4 * k, (k << 12) | 3, true);
      m.cpu.setCr(3, 0x30000);
      m.cpu.setCr(0, m.cpu.getCr(0) | 0x80000000);
      m.cpu.setReg32(7, 0xc0000000);
      let stop = m.cpu.run(1000);
      while (stop === StopReason.Budget) stop = m.cpu.run(1000);
      return { ...m, stop, rec: dv.getUint32(REC, true) };
    });
    expect(runs[0]!.stop).toBe(StopReason.HaltedNoInterrupts);
    expect(runs[0]!.rec).toBe((300 * (0x400004 + 0x80000024)) >>> 0);
    expect(runs[1]!.rec).toBe(runs[0]!.rec);
    for (const r of [0, 1, 2, 3, 4, 5, 6, 7]) expect(runs[1]!.cpu.getReg32(r), `register ${r}`).toBe(runs[0]!.cpu.getReg32(r));
    expect(runs[1]!.cpu.instructionsRetired).toBe(runs[0]!.cpu.instructionsRetired);
    expect(runs[1]!.engine!.stats.instructions).toBeGreaterThan(0.3 * runs[1]!.cpu.instructionsRetired);
  });
});

describe('SYSENTER and SYSEXIT in compiled blocks', () => {
  // GDT: 0x08/0x10 kernel code/data, 0x18/0x20 user code/data (DPL 3), 0x28 a TSS (ESP0 for
  // interrupts taken in user mode). Setup at 0x10000 (ring 0): LTR, DS/ES = 0x23, the SYSENTER
  // MSRs, then STI; SYSEXIT to the user loop at USER. Each pass: PUSH ECX/EDX/EBP, MOV EBP,ESP,
  // SYSENTER (as Linux's vDSO does); the kernel entry pushes CS, counts, returns EAX and goes back
  // with STI; SYSEXIT (ECX = EBP, EDX = the address after SYSENTER); the user code adds what it
  // got and its SS selector to counters.
  const USER = 0x11000;
  const KENTRY = 0x10400;
  const TSS = 0x6400;
  const RET_HERE = USER + 12;
  const setup = [
    0x66, 0xb8, 0x28, 0x00, 0x0f, 0x00, 0xd8, // mov ax,0x28 / ltr ax
    0x66, 0xb8, 0x23, 0x00, 0x8e, 0xd8, 0x8e, 0xc0, // mov ax,0x23 / mov ds,ax / mov es,ax
    0xb9, ...le32(0x174), 0x31, 0xd2, 0xb8, ...le32(0x08), 0x0f, 0x30, // SYSENTER_CS = 0x08
    0x41, 0xb8, ...le32(0x70000), 0x0f, 0x30, // SYSENTER_ESP
    0x41, 0xb8, ...le32(KENTRY), 0x0f, 0x30, // SYSENTER_EIP
    0xbf, ...le32(300), 0xb9, ...le32(0x60000), 0xba, ...le32(USER), // mov edi,300 / mov ecx,0x60000 / mov edx,USER
    0xfb, 0x0f, 0x35, // sti / sysexit
  ];
  const kernelEntry = [
    0x0e, 0x58, 0x01, 0x05, ...le32(COUNTERS + 8), // push cs / pop eax / add [COUNTERS+8],eax
    0xa1, ...le32(COUNTERS + 4), 0x40, 0xa3, ...le32(COUNTERS + 4), // mov eax,[COUNTERS+4] / inc eax / mov [COUNTERS+4],eax
    0x01, 0xf0, 0x89, 0xe9, 0xba, ...le32(RET_HERE), // add eax,esi / mov ecx,ebp / mov edx,RET_HERE
    0xfb, 0x0f, 0x35, // sti / sysexit
  ];
  const user = [
    0x83, 0xc6, 0x03, 0x51, 0x52, 0x55, 0x89, 0xe5, 0x8d, 0x76, 0x00, // add esi,3 / push ecx,edx,ebp / mov ebp,esp / lea esi,[esi]
    0x0f, 0x34, // sysenter (RET_HERE follows)
    0x5d, 0x5a, 0x59, 0x01, 0x05, ...le32(COUNTERS + 12), // pop ebp,edx,ecx / add [COUNTERS+12],eax
    0x8c, 0xd0, 0x01, 0x05, ...le32(COUNTERS + 16), // mov eax,ss / add [COUNTERS+16],eax
    0x4f, 0x0f, 0x85, // dec edi / jnz USER
  ];
  user.push(...le32(USER - (USER + user.length + 4)), 0xeb, 0xfe); // ... / end: jmp end
  const END = USER + user.length - 2;

  function sysMachine(jit: false | JitOptions): { cpu: Cpu; engine: Jit | null; dv: DataView } {
    const host = new CountingTscHost(1 << 20, { wasm: true });
    const mem = new Uint8Array(host.buffer);
    const dv = new DataView(host.buffer);
    mem.set(setup, 0x10000);
    mem.set(kernelEntry, KENTRY);
    mem.set(user, USER);
    const descriptors: [number, number][] = [
      [0, 0], [0x0000ffff, 0x00cf9a00], [0x0000ffff, 0x00cf9200], [0x0000ffff, 0x00cffa00], [0x0000ffff, 0x00cff200],
      [(TSS << 16) | 0x67, 0x00008900],
    ];
    descriptors.forEach(([lo, hi], k) => { dv.setUint32(GDT + 8 * k, lo, true); dv.setUint32(GDT + 8 * k + 4, hi, true); });
    dv.setUint32(TSS + 4, 0x6f000, true); // ESP0
    dv.setUint32(TSS + 8, 0x10, true); // SS0
    dv.setUint32(IDT + 0x20 * 8, (0x08 << 16) | (HANDLER & 0xffff), true);
    dv.setUint32(IDT + 0x20 * 8 + 4, (HANDLER & 0xffff0000) | 0x8e00, true);
    mem.set([0xff, 0x05, ...le32(COUNTERS), 0xcf], HANDLER); // inc dword [COUNTERS] / iretd
    const cpu = new Cpu(host, (fh) => new X87(fh));
    host.cpu = cpu;
    let engine: Jit | null = null;
    if (jit !== false) cpu.enableJit((core) => (engine = new Jit(core, host.memory!, host.spareFrames.slice(0, JIT_FRAMES), false, jit)));
    cpu.setCr(0, 0x11); // PE, ET
    cpu.setGdtr(GDT, descriptors.length * 8 - 1);
    cpu.setIdtr(IDT, 0x21 * 8 - 1);
    cpu.setSegment(1, 0x08, 0, 0xffffffff, 0xc9b);
    for (const s of [0, 2, 3, 4, 5]) cpu.setSegment(s, 0x10, 0, 0xffffffff, 0xc93);
    cpu.setReg32(4, 0x70000);
    cpu.setEip(0x10000);
    return { cpu, engine, dv };
  }

  const sysState = (cpu: Cpu, dv: DataView): number[] => [
    ...[0, 1, 2, 3, 4, 5, 6, 7].map((r) => cpu.getReg32(r) >>> 0),
    cpu.getEip(), cpu.getEflags(), cpu.instructionsRetired, cpu.getSegment(1).selector, cpu.getSegment(2).selector,
    ...[0, 4, 8, 12, 16].map((k) => dv.getUint32(COUNTERS + k, true)),
    // The last interrupt's frame on the ring-0 stack (EIP, CS, EFLAGS, ESP, SS): taken in user mode.
    ...[20, 16, 12, 8, 4].map((k) => dv.getUint32(0x6f000 - k, true)),
  ];

  it("the interpreter's state at every boundary, interrupts after SYSEXIT at the user address", () => {
    const runs = [false as const, { threshold: 20, warmupInstructions: 0 }].map(sysMachine);
    // Also whenever a run stopped right after SYSENTER (IF = 0): the line waits for STI; SYSEXIT.
    const raised = lockstep(runs, 4_000, (step) => step % 23 === 0 || runs[0]!.cpu.getEip() === KENTRY, (r) => sysState(r.cpu, r.dv));
    const [interp, compiled] = runs;
    expect(interp!.cpu.getEip()).toBe(END);
    expect(interp!.dv.getUint32(COUNTERS + 4, true)).toBe(300); // system calls
    expect(interp!.dv.getUint32(COUNTERS, true)).toBe(raised);
    expect(interp!.dv.getUint32(0x6f000 - 16, true)).toBe(0x1b); // interrupts came in user mode
    expect(compiled!.engine!.stats.instructions).toBeGreaterThan(compiled!.cpu.instructionsRetired / 8);
  });

  it('without interrupts the chain crosses SYSENTER and SYSEXIT without returning to JS', () => {
    const runs = [false as const, { threshold: 20, warmupInstructions: 0 }].map((j) => {
      const m = sysMachine(j);
      for (let k = 0; k < 40; k++) m.cpu.run(500);
      return m;
    });
    expect(sysState(runs[1]!.cpu, runs[1]!.dv)).toEqual(sysState(runs[0]!.cpu, runs[0]!.dv));
    expect(runs[0]!.cpu.getEip()).toBe(END);
    // 300 system calls: a return to JS at each SYSENTER and SYSEXIT would be 600 block runs.
    expect(runs[1]!.engine!.stats.instructions).toBeGreaterThan(runs[1]!.cpu.instructionsRetired * 0.6);
    expect(runs[1]!.engine!.stats.blockRuns).toBeLessThan(100);
  });
});
