import { describe, it, expect } from 'vitest';
import { StopReason } from './host.ts';
import { FlatHost, flatCpu, loadProgram, setGate, SEL, GDT, descriptor } from './test-support/flat-host.ts';
import { enterNest, boundProg, repMovs, singleStep, alignCheck, expandDown, divProg } from './test-support/programs.ts';
import type { Cpu } from './cpu.ts';

const CODE = 0x20000;

function ring0(p: string | { org: number; hex: string }, opts: { paging?: boolean; ring3?: boolean } = {}): { h: FlatHost; cpu: Cpu } {
  const h = new FlatHost();
  const cpu = flatCpu(h, CODE, { paging: opts.paging ?? true, ring3: opts.ring3 });
  cpu.trapExceptions = true;
  if (typeof p === 'string') h.loadHex(CODE, p);
  else loadProgram(h, p);
  return { h, cpu };
}

describe('exceptions and special instructions', () => {
  it('#DE on divide by zero and on quotient overflow; DIV/IDIV results', () => {
    const { cpu } = ring0(divProg);
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(0);
    expect(cpu.getReg32(6)).toBe(14);
    expect(cpu.getReg32(7)).toBe(2);
    expect(cpu.getReg32(3) | 0).toBe(-14);
    expect(cpu.getReg32(5) | 0).toBe(-2);
    const o = ring0('ba 07 00 00 00 b8 00 00 00 00 b9 07 00 00 00 f7 f1 cc'); // edx=7 >= ecx: overflow
    expect(o.cpu.run(100)).toBe(StopReason.Exception);
    expect(o.cpu.exceptionVector).toBe(0);
    expect(o.cpu.getEip()).toBe(CODE + 15);
  });

  it('AAM 0 raises #DE', () => {
    const { cpu } = ring0('d4 00 cc');
    cpu.run(10);
    expect(cpu.exceptionVector).toBe(0);
  });

  it('ENTER with nesting level 3 copies frame pointers', () => {
    const { h, cpu } = ring0(enterNest);
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(3);
    // push ebp(0x5000) at 0x5ffc; copies [0x4ffc]=0x1111, [0x4ff8]=0x2222; pushes frameTemp=0x5ffc
    expect(h.r32(0x5ffc)).toBe(0x5000);
    expect(h.r32(0x5ff8)).toBe(0x1111);
    expect(h.r32(0x5ff4)).toBe(0x2222);
    expect(h.r32(0x5ff0)).toBe(0x5ffc);
    expect(cpu.getReg32(5)).toBe(0x5ffc);
    expect(cpu.getReg32(4)).toBe(0x5ff0 - 16);
  });

  it('BOUND passes in range and raises #BR (fault) out of range', () => {
    const { cpu } = ring0(boundProg);
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(5);
    expect(cpu.getEip()).toBe(CODE + 0x24);
  });

  it('LOCK on a register destination or a non-lockable instruction is #UD; LOCK ADD [mem] is fine', () => {
    for (const code of ['f0 01 c0', 'f0 8b 00', 'f0 90', 'f0 0f 01 15 00 05 00 00']) {
      const { cpu } = ring0(code + ' cc');
      cpu.run(10);
      expect(cpu.exceptionVector).toBe(6);
      expect(cpu.getEip()).toBe(CODE);
    }
    const { h, cpu } = ring0('f0 01 05 00 05 00 00 f0 0f c7 0d 00 06 00 00 cc'); // lock add [0x500],eax; lock cmpxchg8b [0x600]
    cpu.setReg32(0, 5);
    h.w32(0x500, 10);
    cpu.run(10);
    expect(cpu.exceptionVector).toBe(3);
    expect(h.r32(0x500)).toBe(15);
  });

  it('UD2 and invalid opcodes raise #UD', () => {
    for (const code of ['0f 0b', '0f ff', '0f aa', 'fe f8', '8f c8']) {
      const { cpu } = ring0(code);
      cpu.run(10);
      expect(cpu.exceptionVector).toBe(6);
    }
  });

  it('REP MOVSB faulting mid-way leaves ECX/ESI/EDI consistent and restarts', () => {
    // copies 16 bytes from 0x100ff0 to 0x3fff8..0x40007: the destination page 0x40000 is made not present
    const { h, cpu } = ring0(repMovs);
    for (let i = 0; i < 16; i++) h.w8(0x100ff0 + i, i + 1);
    const pte = 0x10000 + 0x1000 + (0x40 * 4);
    h.w32(pte, 0x40000 | 6); // not present
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(14);
    expect(cpu.getCr(2)).toBe(0x40000);
    expect(cpu.getReg32(1)).toBe(8);
    expect(cpu.getReg32(6)).toBe(0x100ff8);
    expect(cpu.getReg32(7)).toBe(0x40000);
    expect(cpu.getEip()).toBe(CODE + 16); // at the REP MOVSB
    h.w32(pte, 0x40000 | 7);
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(3);
    expect(cpu.getReg32(1)).toBe(0);
    for (let i = 0; i < 16; i++) expect(h.r8(0x3fff8 + i)).toBe(i + 1);
  });

  it('REP STOSD over several pages and an interrupt mid-REP resumes correctly', () => {
    const { h, cpu } = ring0('fc b8 78 56 34 12 bf 00 00 30 00 b9 00 00 02 00 f3 ab cc'); // rep stosd x 128Ki dwords
    cpu.trapExceptions = true;
    expect(cpu.run(1000)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(3);
    expect(h.r32(0x300000)).toBe(0x12345678);
    expect(h.r32(0x300000 + 0x80000 - 4)).toBe(0x12345678);
    expect(h.r32(0x380000)).toBe(0);
    expect(cpu.getReg32(7)).toBe(0x380000);
  });

  it.each([
    ['stosb', 0, 0x80], ['stosw', 1, 0x4141], ['stosw', 1, 0x4142], ['stosw', 1, 0x12340000],
    ['stosd', 2, 0], ['stosd', 2, 0x80808080], ['stosd', 2, 0x12121213], ['stosd', 2, 0x12341212], ['stosd', 2, 0x00ff00ff],
  ] as const)('REP %s (element 2^%i bytes) with EAX = %i across pages stores EAX\'s low bytes', (_, sz, eax) => {
    const le = (v: number): string => [0, 8, 16, 24].map((k) => ((v >>> k) & 0xff).toString(16).padStart(2, '0')).join(' ');
    const count = 0x1803 >>> sz;
    const op = ['f3 aa', '66 f3 ab', 'f3 ab'][sz]!;
    const { h, cpu } = ring0(`fc b8 ${le(eax)} bf ${le(0x300ffd)} b9 ${le(count)} ${op} cc`);
    expect(cpu.run(1000)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(3);
    const size = 1 << sz;
    for (let k = 0; k < count * size; k++) expect(h.r8(0x300ffd + k), `byte ${k}`).toBe((eax >>> (8 * (k % size))) & 0xff);
    expect(h.r8(0x300ffd + count * size)).toBe(0);
    expect(cpu.getReg32(7)).toBe(0x300ffd + count * size);
  });

  it('single-step: TF set by POPF traps after the next instruction, with DR6.BS', () => {
    const { cpu } = ring0(singleStep);
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(1);
    expect(cpu.getEip()).toBe(CODE + 10); // after the NOP following POPF
    expect((cpu.dr[6] >>> 0) & 0x4000).toBe(0x4000);
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.getEip()).toBe(CODE + 11);
  });

  it('single-step delivered through the IDT clears TF in the handler; INT n is not stepped', () => {
    // #DB handler: inc esi; iret.  Code: pushfd; or [esp],TF; popfd; nop; int 0x40; nop; int3
    const { h, cpu } = ring0('9c 81 0c 24 00 01 00 00 9d 90 cd 40 90 cc');
    cpu.trapExceptions = false;
    setGate(h, 1, SEL.code0, 0x21000);
    setGate(h, 0x40, SEL.code0, 0x21100);
    setGate(h, 3, SEL.code0, 0x21200);
    h.loadHex(0x21000, '46 cf'); // inc esi; iret
    h.loadHex(0x21100, '47 cf'); // inc edi; iret
    h.loadHex(0x21200, 'f4');
    cpu.run(1000);
    expect(cpu.getReg32(7)).toBe(1); // INT 0x40 handler ran once
    // traps after: nop, (int 0x40: none), nop after iret?, ...
    expect(cpu.getReg32(6)).toBeGreaterThanOrEqual(2);
  });

  it('#AC for a misaligned access at CPL 3 with CR0.AM and EFLAGS.AC', () => {
    const { cpu } = ring0(alignCheck, { ring3: true });
    cpu.setCr(0, cpu.getCr(0) | 0x40000);
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(17);
    expect(cpu.exceptionErrorCode).toBe(0);
    const { cpu: c0 } = ring0(alignCheck); // CPL 0: no #AC
    c0.setCr(0, c0.getCr(0) | 0x40000);
    expect(c0.run(100)).toBe(StopReason.Exception);
    expect(c0.exceptionVector).toBe(3);
  });

  it('expand-down data segments fault below and at the limit', () => {
    const { h, cpu } = ring0(expandDown);
    const d2 = descriptor(0, 0x0fff, 0x97, 0x4); // expand-down, byte-granular, B=1: valid offsets 0x1000..0xffffffff
    h.w32(GDT + 9 * 8, d2[0]);
    h.w32(GDT + 9 * 8 + 4, d2[1]);
    cpu.setGdtr(GDT, 0x4f);
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(13);
    expect(cpu.getEip()).toBe(CODE + 11); // mov eax,[0x2000] passed, [0xffe] faulted
  });

  it('triple fault stops with Shutdown and names the chain', () => {
    const { cpu } = ring0('0f 0b');
    cpu.trapExceptions = false;
    cpu.setIdtr(0, 0); // empty IDT: #UD -> #GP -> #DF -> shutdown
    expect(cpu.run(100)).toBe(StopReason.Shutdown);
    expect(cpu.shutdownReason).toMatch(/triple fault/);
    expect(cpu.shutdownReason).toMatch(/#UD/);
    expect(cpu.run(100)).toBe(StopReason.Shutdown);
  });

  it('a #PF while delivering a #PF becomes #DF', () => {
    const { h, cpu } = ring0('a1 00 00 00 40');
    cpu.trapExceptions = false;
    setGate(h, 14, SEL.code0, 0x40001000); // handler in an unmapped page... fetch #PF -> #DF
    setGate(h, 8, SEL.code0, 0x21000);
    h.loadHex(0x21000, 'f4');
    // Make the stack unmapped too so delivering #PF faults: ESP in the unmapped 0x40000000 region
    cpu.setReg32(4, 0x40002000);
    expect(cpu.run(100)).toBe(StopReason.Shutdown); // #PF, pushing faults (#PF) -> #DF, pushing faults -> shutdown
  });

  it('#DF is delivered when a contributory fault happens during delivery', () => {
    const { h, cpu } = ring0('0f 0b');
    cpu.trapExceptions = false;
    setGate(h, 6, 0x78, 0x21000); // #UD gate with a selector beyond the GDT limit -> #GP -> #DF
    setGate(h, 13, 0x78, 0x21000);
    setGate(h, 8, SEL.code0, 0x21000);
    h.loadHex(0x21000, 'f4');
    expect(cpu.run(100)).toBe(StopReason.HaltedNoInterrupts);
    expect(cpu.getReg32(4)).toBe(0x80000 - 16); // EFLAGS, CS, EIP, error code 0
  });

  it('INTO traps only with OF=1; INT3 reports EIP after the instruction', () => {
    const { cpu } = ring0('ce b0 7f 04 01 ce cc');
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(4);
    expect(cpu.getEip()).toBe(CODE + 6);
  });

  it('#NM for ESC with CR0.EM or CR0.TS, WAIT with MP+TS; #UD without an FPU', () => {
    const a = ring0('d9 e8');
    a.cpu.setCr(0, a.cpu.getCr(0) | 8);
    a.cpu.run(10);
    expect(a.cpu.exceptionVector).toBe(7);
    const b = ring0('9b');
    b.cpu.setCr(0, b.cpu.getCr(0) | 0xa);
    b.cpu.run(10);
    expect(b.cpu.exceptionVector).toBe(7);
    const u = ring0('d9 e8');
    u.cpu.run(10);
    expect(u.cpu.exceptionVector).toBe(6);
  });

  it('MOV SS inhibits interrupts for one instruction', () => {
    // mov ss,ax; mov esp,0x80000; nop...   interrupt line raised before
    const { h, cpu } = ring0('8e d0 bc 00 00 08 00 90 90 cc');
    cpu.trapExceptions = false;
    cpu.setReg32(0, SEL.data0);
    cpu.setEflags(0x202);
    setGate(h, 0x20, SEL.code0, 0x21000);
    h.loadHex(0x21000, 'f4'); // the handler halts, ESP shows where it interrupted
    h.onAcknowledge = () => cpu.setInterruptLine(false);
    cpu.run(1); // mov ss
    cpu.setInterruptLine(true);
    cpu.run(100);
    expect(h.r32(0x80000 - 12)).toBe(CODE + 7); // return EIP: after mov esp (not between)
  });

  it('requestStop() from a device callback stops at the next instruction boundary', () => {
    const { h, cpu } = ring0('e6 80 90 90 90 cc'); // out 0x80,al; nops
    h.onIoWrite = () => cpu.requestStop();
    expect(cpu.run(100)).toBe(StopReason.StopRequested);
    expect(cpu.getEip()).toBe(CODE + 2);
    expect(cpu.instructionsRetired).toBe(1);
    expect(cpu.run(100)).toBe(StopReason.Exception);
  });

  it('a host (JS) error inside an instruction is re-thrown wrapped with EIP and bytes', () => {
    const { h, cpu } = ring0('90 e4 60');
    h.ioRead = () => { throw new TypeError('device exploded'); };
    expect(() => cpu.run(100)).toThrow(/host error at CS:EIP=8:00020001 bytes e4 60 .*device exploded/);
  });
});
