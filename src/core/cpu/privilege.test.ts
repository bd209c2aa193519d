import { describe, it, expect } from 'vitest';
import { StopReason } from './host.ts';
import { FlatHost, flatCpu, loadProgram, setGate, SEL, TSS } from './test-support/flat-host.ts';
import { r3Syscall, r0Handler80, r3Sysenter, r0SysenterEntry, r0Msr, cpuidProg, ioProg } from './test-support/programs.ts';
import type { Cpu } from './cpu.ts';

const CODE = 0x20000;

function ring3(code: string | { org: number; hex: string }, paging = true): { h: FlatHost; cpu: Cpu } {
  const h = new FlatHost();
  const cpu = flatCpu(h, CODE, { paging, ring3: true });
  cpu.trapExceptions = true;
  if (typeof code === 'string') h.loadHex(CODE, code);
  else loadProgram(h, code);
  return { h, cpu };
}

describe('privilege levels', () => {
  it('ring 3 INT 0x80 enters ring 0 through the IDT with the TSS stack, IRET returns', () => {
    const { h, cpu } = ring3(r3Syscall);
    loadProgram(h, r0Handler80);
    setGate(h, 0x80, SEL.code0, r0Handler80.org, 0xe, 3);
    expect(cpu.run(1000)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(3);
    const r = (n: number): number => cpu.getReg32(n);
    expect(r(3)).toBe(43); // EBX = EAX + 1 from the handler
    expect(r(1)).toBe(0x90000 - 20); // ring-0 ESP after the 5-dword frame
    expect(r(2)).toBe(0x70000); // saved user ESP
    expect(r(6)).toBe(SEL.code0); // CS inside the handler
    expect(r(7)).toBe(SEL.data3); // saved user SS
    expect(cpu.getSegment(1).selector).toBe(SEL.code3);
    expect(cpu.getSegment(2).selector).toBe(SEL.data3);
    expect(r(4)).toBe(0x70000);
  });

  it('INT n through a gate with DPL < CPL raises #GP(vector*8+2)', () => {
    const { h, cpu } = ring3(r3Syscall);
    setGate(h, 0x80, SEL.code0, r0Handler80.org, 0xe, 0);
    expect(cpu.run(1000)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(13);
    expect(cpu.exceptionErrorCode).toBe(0x80 * 8 + 2);
    expect(cpu.getEip()).toBe(CODE + 7);
  });

  it('an exception in ring 3 is delivered to ring 0 with an error code', () => {
    // ring 3: hlt -> #GP(0) handler at 0x21000 reads the error code and halts at ring 0
    const { h, cpu } = ring3('f4');
    cpu.trapExceptions = false;
    setGate(h, 13, SEL.code0, 0x21000);
    h.loadHex(0x21000, '8b 04 24 8b 5c 24 04 f4'); // mov eax,[esp]; mov ebx,[esp+4]; hlt
    expect(cpu.run(100)).toBe(StopReason.HaltedNoInterrupts);
    expect(cpu.getReg32(0)).toBe(0);
    expect(cpu.getReg32(3)).toBe(CODE);
    expect(cpu.getReg32(4)).toBe(0x90000 - 24);
  });

  it('SYSENTER/SYSEXIT switch between flat ring 3 and ring 0', () => {
    const { h, cpu } = ring3(r3Sysenter);
    loadProgram(h, r0SysenterEntry);
    cpu.sysenterCs = SEL.code0;
    cpu.sysenterEsp = 0x88000;
    cpu.sysenterEip = r0SysenterEntry.org;
    expect(cpu.run(1000)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(3);
    expect(cpu.getReg32(6)).toBe(SEL.code0);
    expect(cpu.getReg32(7)).toBe(SEL.data0);
    expect(cpu.getReg32(5)).toBe(0x88000);
    expect(cpu.getReg32(3)).toBe(SEL.code0 + 16 + 3);
    expect(cpu.getSegment(2).selector).toBe(SEL.code0 + 24 + 3);
    expect(cpu.getReg32(4)).toBe(0x70000);
  });

  it('WRMSR/RDMSR of SYSENTER MSRs, #GP on an unknown MSR', () => {
    const h = new FlatHost();
    const cpu = flatCpu(h, r0Msr.org);
    cpu.trapExceptions = true;
    loadProgram(h, r0Msr);
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(13);
    expect(cpu.getReg32(3)).toBe(0x12345678);
    expect(cpu.sysenterCs).toBe(8);
  });

  it('CPUID reports GenuineIntel family 6 and exactly the implemented features', () => {
    const { h, cpu } = ring3(cpuidProg);
    h.tsc = 0x123456789a;
    expect(cpu.run(100)).toBe(StopReason.Exception);
    const str = String.fromCharCode(...Array.from(h.mem.subarray(0x600, 0x60c)));
    expect(str).toBe('GenuineIntel');
    expect((h.r32(0x610) >> 8) & 0xf).toBe(6);
    expect(h.r32(0x614)).toBe((1 << 3) | (1 << 4) | (1 << 5) | (1 << 8) | (1 << 11) | (1 << 13) | (1 << 15));
    expect(h.r32(0x618)).toBe(0);
    expect(cpu.getReg32(0)).toBe(0x3456789a);
    expect(cpu.getReg32(2)).toBe(0x12);
  });

  it('RDTSC from ring 3 raises #GP(0) when CR4.TSD is set', () => {
    const { cpu } = ring3('0f 31 cc');
    cpu.setCr(4, 4);
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(13);
    expect(cpu.exceptionErrorCode).toBe(0);
  });

  const privileged: [string, string][] = [
    ['HLT', 'f4'], ['CLI', 'fa'], ['STI', 'fb'], ['IN imm', 'e4 60'], ['OUT imm', 'e6 60'], ['IN dx', 'ec'],
    ['MOV CR0,EAX', '0f 22 c0'], ['MOV EAX,CR0', '0f 20 c0'], ['MOV CR3,EAX', '0f 22 d8'], ['MOV DR7,EAX', '0f 23 f8'],
    ['LGDT', '0f 01 15 00 05 00 00'], ['LIDT', '0f 01 1d 00 05 00 00'], ['LLDT', '0f 00 d0'], ['LTR', '0f 00 d8'],
    ['WRMSR', '0f 30'], ['RDMSR', '0f 32'], ['INVLPG', '0f 01 3d 00 05 00 00'], ['CLTS', '0f 06'], ['LMSW', '0f 01 f0'],
    ['WBINVD', '0f 09'], ['INSB', '6c'], ['OUTSB', '6e'],
  ];
  for (const [name, code] of privileged) {
    it(`${name} at CPL 3 raises #GP(0)`, () => {
      const { cpu } = ring3(code + ' cc');
      cpu.setReg32(2, 0x60);
      expect(cpu.run(100)).toBe(StopReason.Exception);
      expect(cpu.exceptionVector).toBe(13);
      expect(cpu.exceptionErrorCode).toBe(0);
      expect(cpu.getEip()).toBe(CODE);
    });
  }

  it('CLI/STI at CPL 3 are allowed with IOPL 3', () => {
    const { cpu } = ring3('fa fb cc');
    cpu.setEflags(0x3202);
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(3);
  });

  it('the TSS I/O permission bitmap allows individual ports', () => {
    const { h, cpu } = ring3(ioProg);
    h.w8(TSS + 0x68 + (0x3f8 >> 3), 0xfe); // allow port 0x3f8 only
    h.ioValues.set(0x60, 0x12);
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(13); // IN from port 0x60 denied
    expect(h.io).toEqual([{ dir: 'out', port: 0x3f8, size: 1, value: 0x41 }]);
    h.w8(TSS + 0x68 + (0x60 >> 3), 0xfe);
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(3);
    expect(cpu.getReg32(0) & 0xff).toBe(0x12);
  });

  it('a 16-bit access needs both port bits', () => {
    const { h, cpu } = ring3('66 ed cc'); // in ax, dx
    cpu.setReg32(2, 0x3f8 + 7);
    h.w8(TSS + 0x68 + (0x3f8 >> 3), 0x7f); // allow 0x3ff only, 0x400 denied
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(13);
  });

  it('MOV to a data segment register checks DPL against CPL', () => {
    const { cpu } = ring3('66 b8 10 00 8e d8 cc'); // mov ax,0x10; mov ds,ax
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(13);
    expect(cpu.exceptionErrorCode).toBe(0x10);
  });

  it('MOV SS with a null selector raises #GP(0); a null DS faults only on use', () => {
    const h = new FlatHost();
    const cpu = flatCpu(h, CODE);
    cpu.trapExceptions = true;
    h.loadHex(CODE, '31 c0 8e d8 8b 1d 00 05 00 00 cc'); // xor eax,eax; mov ds,ax; mov ebx,[0x500]
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(13);
    expect(cpu.getEip()).toBe(CODE + 4);
  });

  it('RETF to an outer privilege level reloads SS:ESP and nulls inaccessible data segments', () => {
    const h = new FlatHost();
    const cpu = flatCpu(h, CODE);
    cpu.trapExceptions = true;
    // push 0x23; push 0x7000; push 0x1b; push 0x21000; retf   (ring 3 code at 0x21000: int3)
    h.loadHex(CODE, '6a 23 68 00 70 00 00 6a 1b 68 00 10 02 00 cb');
    h.loadHex(0x21000, 'cc');
    expect(cpu.run(100)).toBe(StopReason.Exception);
    expect(cpu.exceptionVector).toBe(3);
    expect(cpu.getSegment(1).selector).toBe(SEL.code3);
    expect(cpu.getSegment(2).selector).toBe(SEL.data3);
    expect(cpu.getReg32(4)).toBe(0x7000);
    expect(cpu.getSegment(3).selector).toBe(0); // DS (DPL 0) nulled
  });
});
