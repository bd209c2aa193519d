import { describe, it, expect } from 'vitest';
import { StopReason } from './host.ts';
import { FlatHost, loadProgram, realCpu, writeGdt } from './test-support/flat-host.ts';
import { realBasics, realInt, enterPm } from './test-support/programs.ts';
import { Cpu } from './cpu.ts';

describe('real mode', () => {
  it('reset state matches the SDM power-on values', () => {
    const cpu = new Cpu(new FlatHost(1 << 20));
    expect(cpu.getEip()).toBe(0xfff0);
    expect(cpu.getSegment(1)).toEqual({ selector: 0xf000, base: 0xffff0000, limit: 0xffff, flags: 0x9b });
    expect(cpu.getCr(0)).toBe(0x60000010);
    expect(cpu.getReg32(2) & 0xf00).toBe(0x600);
    expect(cpu.getEflags()).toBe(2);
  });

  it('executes 16-bit code with segment*16 addressing', () => {
    const h = new FlatHost(1 << 20);
    loadProgram(h, realBasics);
    const cpu = realCpu(h, realBasics.org);
    expect(cpu.run(1000)).toBe(StopReason.HaltedNoInterrupts);
    expect(h.r16(0x1010)).toBe(0x1234);
    expect(cpu.getReg32(6)).toBe(0x2468); // SI
    expect(cpu.getReg32(2)).toBe(0x633 + 5); // DX incremented 5 times by LOOP
    expect(cpu.getSegment(3).base).toBe(0x1000);
  });

  it('INT n through the IVT pushes FLAGS/CS/IP, clears IF, and IRET returns', () => {
    const h = new FlatHost(1 << 20);
    loadProgram(h, realInt);
    const cpu = realCpu(h, realInt.org);
    expect(cpu.run(1000)).toBe(StopReason.Halted); // IF=1 after IRET
    expect(cpu.getReg32(1)).toBe(0x77);
    expect(cpu.getReg32(3)).toBe(0x55);
    expect(cpu.getReg32(2) & 0x200).toBe(0); // IF clear inside the handler
    expect(cpu.getReg32(4)).toBe(0x9000);
  });

  it('enters protected mode via CR0.PE and a far jump', () => {
    const h = new FlatHost(1 << 20);
    writeGdt(h);
    loadProgram(h, enterPm);
    const cpu = realCpu(h, enterPm.org);
    expect(cpu.run(1000)).toBe(StopReason.HaltedNoInterrupts);
    expect(h.r32(0x500)).toBe(0xdeadbeef);
    expect(cpu.getReg32(3) & 0xffff).toBe(0x08);
    expect(cpu.getSegment(1).limit).toBe(0xffffffff);
    expect(cpu.getSegment(2).flags & 0xff).toBe(0x93); // accessed bit set on load
    expect(h.r8(0x1000 + 0x10 + 5)).toBe(0x93);
  });

  it('a HLT with IF=1 wakes on the interrupt line', () => {
    const h = new FlatHost(1 << 20);
    // IVT[0x20] -> 0000:0x7e00 (IRET); code: STI; HLT; MOV AX,1; HLT
    h.w16(0x20 * 4, 0x7e00);
    h.w16(0x20 * 4 + 2, 0);
    h.loadHex(0x7e00, 'cf');
    h.loadHex(0x7c00, 'fb f4 b8 01 00 fa f4');
    const cpu = realCpu(h, 0x7c00);
    cpu.setSegment(2, 0, 0, 0xffff, 0x93);
    cpu.setReg32(4, 0x8000);
    expect(cpu.run(100)).toBe(StopReason.Halted);
    expect(cpu.run(100)).toBe(StopReason.Halted); // still halted, nothing executed
    h.nextVector = 0x20;
    h.onAcknowledge = () => cpu.setInterruptLine(false);
    cpu.setInterruptLine(true);
    const r = cpu.run(100);
    expect(r).toBe(StopReason.HaltedNoInterrupts);
    expect(h.acks).toBeGreaterThan(0);
    expect(cpu.getReg32(0) & 0xffff).toBe(1);
  });
});
