import { describe, it, expect, vi } from 'vitest';
import { StopReason } from './host.ts';
import { FlatHost, flatCpu, loadProgram, GDT, descriptor } from './test-support/flat-host.ts';
import { bitOps, cmpxchgProg, cx8Prog, shldProg, descProg, stringCmps, bcdProg, mulProg } from './test-support/programs.ts';
import { disassemble } from './disasm.ts';
import type { Cpu } from './cpu.ts';
import { Cpu as CpuClass } from './cpu.ts';
import { X87 } from './fpu/x87.ts';
import { CR0_NE } from './constants.ts';
import { FpuHostAdapter } from './fpu-glue.ts';

function run(p: { org: number; hex: string }, setup?: (h: FlatHost, cpu: Cpu) => void): { h: FlatHost; cpu: Cpu; r: (n: number) => number } {
  const h = new FlatHost();
  const cpu = flatCpu(h, p.org, { paging: true });
  cpu.trapExceptions = true;
  loadProgram(h, p);
  if (setup) setup(h, cpu);
  expect(cpu.run(10000)).toBe(StopReason.Exception);
  expect(cpu.exceptionVector).toBe(3);
  return { h, cpu, r: (n: number) => cpu.getReg32(n) };
}

describe('integer instructions', () => {
  it('BT/BTS with register bit offsets address beyond the operand; BSF/BSR/BSWAP', () => {
    const { h, r } = run(bitOps);
    expect(h.r32(0x804)).toBe(8);
    expect(h.r32(0x800)).toBe(0x80000000);
    expect(r(3) & 0xffff).toBe(0);
    expect(r(2)).toBe(4);
    expect(r(6)).toBe(7);
    expect(r(7)).toBe(0x78563412);
  });

  it('CMPXCHG and XADD', () => {
    const { h, r } = run(cmpxchgProg);
    expect(r(3) & 0xff).toBe(1);
    expect((r(3) >> 8) & 0xff).toBe(0);
    expect(r(0)).toBe(9);
    expect(h.r32(0x800)).toBe(19);
    expect(r(2)).toBe(9);
  });

  it('CMPXCHG8B success and failure', () => {
    const { h, r } = run(cx8Prog);
    expect(h.r32(0x800)).toBe(0x33);
    expect(h.r32(0x804)).toBe(0x44);
    expect(r(0)).toBe(0x33);
    expect(r(2)).toBe(0x44);
  });

  it('SHLD/SHRD', () => {
    const { r } = run(shldProg);
    expect(r(0)).toBe(0x3456789a);
    expect(r(3)).toBe(0xef012345);
    expect(r(6)).toBe(0x19);
  });

  it('LLDT/SLDT/STR/LAR/LSL/VERR/VERW/ARPL', () => {
    const { h, r } = run(descProg, (hh, cpu) => {
      const d = descriptor(0x6000, 0xff, 0x82, 0);
      hh.w32(GDT + 8 * 8, d[0]);
      hh.w32(GDT + 8 * 8 + 4, d[1]);
      cpu.setGdtr(GDT, 0x4f);
    });
    expect(r(3) & 0xffff).toBe(0x40);
    expect(r(1) & 0xffff).toBe(0x28);
    expect(r(2)).toBe(0x00c0fb00);
    expect(r(6)).toBe(0xffffffff);
    expect(h.r8(0x900)).toBe(1);
    expect(h.r8(0x901)).toBe(0);
    expect(r(7) & 0xffff).toBe(0x23);
  });

  it('REPE CMPSB and REPNE SCASB stop on the condition', () => {
    const { r } = run(stringCmps);
    expect(r(3)).toBe(3);
    expect(r(1)).toBe(3);
    expect(r(7)).toBe(stringCmps.org + 0x23 + 5); // str1 is at offset 0x23
  });

  it('DAA/DAS/AAA/AAD/AAM', () => {
    const { r } = run(bcdProg);
    expect(r(3) & 0xffff).toBe(0x8814);
    expect(r(1) & 0xffff).toBe(0x0104);
    expect(r(2) & 0xffff).toBe(0x003a);
    expect(r(0) & 0xffff).toBe(0x0707);
  });

  it('MUL/IMUL 64-bit products', () => {
    const { r } = run(mulProg);
    expect(r(3)).toBe(2);
    expect(r(6)).toBe(0);
    expect(r(7)).toBe(0xffffffff);
    expect(r(5)).toBe(0xffffffeb);
    expect(r(0)).toBe(0xffffffdd);
  });

  it('saveState/restoreState round-trips through JSON and resumes identically', () => {
    const h = new FlatHost();
    const cpu = flatCpu(h, mulProg.org, { paging: true });
    loadProgram(h, mulProg);
    cpu.trapExceptions = true;
    cpu.run(3);
    const st = JSON.parse(JSON.stringify(cpu.saveState())) as ReturnType<typeof cpu.saveState>;
    cpu.run(100);
    const after = cpu.saveState();
    cpu.restoreState(st);
    cpu.run(100);
    expect(cpu.saveState()).toEqual({ ...after, instructionsRetired: cpu.instructionsRetired });
    expect(after.regs[0]).toBe(0xffffffdd);
  });

  it('the disassembler prints Intel syntax', () => {
    const d = (hex: string, is32 = true): string => disassemble(Uint8Array.from(hex.split(' ').map((x) => parseInt(x, 16))), 0, is32).text;
    expect(d('8b 44 24 08')).toBe('mov eax,dword ptr [esp+0x8]');
    expect(d('66 01 d8')).toBe('add ax,bx');
    expect(d('f3 a5')).toBe('rep movsd');
    expect(d('0f b6 06')).toBe('movzx eax,byte ptr [esi]');
    expect(d('e8 00 00 00 00')).toBe('call 0x5');
    expect(d('f3 0f 1e fb')).toBe('endbr32');
    expect(d('cd 80')).toBe('int 0x80');
    expect(d('d9 e8')).toBe('fld1');
    expect(d('dd 1c 24')).toBe('fstp qword ptr [esp]');
    expect(d('0f 22 d8')).toBe('mov cr3,eax');
    expect(d('8b 07', false)).toBe('mov ax,word ptr [bx]');
    expect(disassemble(Uint8Array.from([0x0f]), 0, true)).toEqual({ text: '(bad)', length: 1 });
  });

  it('PAUSE, ENDBR32 and REP RET execute as their plain forms', () => {
    const h = new FlatHost();
    const cpu = flatCpu(h, 0x20000, { paging: true });
    cpu.trapExceptions = true;
    h.loadHex(0x20000, 'f3 90 f3 0f 1e fb e8 01 00 00 00 cc f3 c3');
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(3);
    expect(cpu.getEip()).toBe(0x2000c);
  });

  it('x87 instructions reach the FPU through the FpuHost adapter (X87 attached)', () => {
    const h = new FlatHost();
    const cpu = flatCpu(h, 0x20000, { paging: true });
    const withFpu = new CpuClass(h, (fh) => new X87(fh));
    withFpu.restoreState({ ...cpu.saveState(), fpu: null });
    withFpu.setCr(0, withFpu.getCr(0) | CR0_NE);
    withFpu.trapExceptions = true;
    // fninit; fld1; fadd st0,st0; fld1; faddp; fistp [0x800]; fnstsw ax; fldz; fld1; fcomip; fstp st0; fxsave [0x1000]; int3
    h.loadHex(0x20000, 'db e3 d9 e8 d8 c0 d9 e8 de c1 db 1d 00 08 00 00 df e0 d9 ee d9 e8 df f1 dd d8 0f ae 05 00 10 00 00 cc');
    expect(withFpu.run(100)).toBe(StopReason.Exception);
    expect(withFpu.exceptionVector).toBe(3);
    expect(h.r32(0x800)).toBe(3);
    expect(withFpu.getEflags() & 0x45).toBe(0); // 1 > 0: ZF=PF=CF=0
    expect(h.r16(0x1000)).toBe(0x037f); // FXSAVE: FCW
  });

  it('FXSAVE/FXRSTOR images copied in one step through the TLB equal those written field by field', () => {
    const h = new FlatHost();
    const cpu = flatCpu(h, 0x20000, { paging: true });
    const withFpu = new CpuClass(h, (fh) => new X87(fh));
    withFpu.restoreState({ ...cpu.saveState(), fpu: null });
    withFpu.trapExceptions = true;
    const copied: boolean[] = [];
    const tryWrite = vi.spyOn(FpuHostAdapter.prototype, 'tryWriteBytes');
    const tryRead = vi.spyOn(FpuHostAdapter.prototype, 'tryReadBytes');
    // fninit; fld1; fldpi; fxsave [0x1000]; fxsave [0x1400]; fxsave [0x1ff0] (crosses into the next page);
    // fninit; fxrstor [0x1400]; fxsave [0x1800]; fxrstor [0x1ff0]; fxsave [0x1c00]; int3
    h.loadHex(0x20000, 'db e3 d9 e8 d9 eb 0f ae 05 00 10 00 00 0f ae 05 00 14 00 00 0f ae 05 f0 1f 00 00 ' +
      'db e3 0f ae 0d 00 14 00 00 0f ae 05 00 18 00 00 0f ae 0d f0 1f 00 00 0f ae 05 00 1c 00 00 cc');
    try {
      expect(withFpu.run(100)).toBe(StopReason.Exception);
      expect(withFpu.exceptionVector).toBe(3);
      for (const r of [...tryWrite.mock.results, ...tryRead.mock.results]) copied.push(r.value as boolean);
    } finally {
      tryWrite.mockRestore();
      tryRead.mockRestore();
    }
    // Both ways were taken: one step within a page, field by field across the page end.
    expect(copied).toContain(true);
    expect(copied).toContain(false);
    const image = (at: number): number[] => Array.from({ length: 288 }, (_, i) => h.r8(at + i));
    const saved = image(0x1000);
    expect(saved.slice(0, 2)).toEqual([0x7f, 0x03]); // FCW
    expect(saved[4]).toBe(0b1100_0000); // physical 6 and 7 in use
    for (const at of [0x1400, 0x1ff0, 0x1800, 0x1c00]) expect(image(at)).toEqual(saved);
  });
});
