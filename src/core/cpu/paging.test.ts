import { describe, it, expect } from 'vitest';
import { StopReason } from './host.ts';
import { FlatHost, flatCpu, PD } from './test-support/flat-host.ts';
import type { Cpu } from './cpu.ts';
import { fetchWouldTranslate } from './paging.ts';
import { refetchFromTlb } from './fetch.ts';
import { setEipRaw } from './tlb.ts';

const CODE = 0x20000;
const PT_HI = 0x30000; // extra page table for 0x40000000
const PDE_HI = PD + (0x40000000 >>> 22) * 4;

function setup(code: string, opts: { ring3?: boolean } = {}): { h: FlatHost; cpu: Cpu } {
  const h = new FlatHost();
  const cpu = flatCpu(h, CODE, { paging: true, ring3: opts.ring3 });
  cpu.trapExceptions = true;
  h.loadHex(CODE, code);
  h.w32(PDE_HI, PT_HI | 7);
  return { h, cpu };
}

function runToTrap(cpu: Cpu): number {
  const r = cpu.run(10000);
  expect(r).toBe(StopReason.Exception);
  return cpu.exceptionVector;
}

describe('paging', () => {
  it('refetchFromTlb walks for a page the TLB lacks when the fetch could not fault, and only then', () => {
    // The JIT's entry check needs the host offset of the next instruction after a jump; a code
    // page that kept losing its TLB slot was otherwise never entered compiled (jit.ts README).
    const { h, cpu } = setup('cc');
    h.w32(PT_HI, 0x200000 | 1); // 0x40000000: present, supervisor
    h.w32(PT_HI + 8, 0x202000 | 0); // 0x40002000: not present
    cpu.flushTlb();
    setEipRaw(cpu, 0x40000010);
    refetchFromTlb(cpu);
    expect(cpu.fp >= cpu.fpStart && cpu.fp < cpu.fpEnd).toBe(true);
    expect(cpu.fp - cpu.fpStart).toBe(0x10);
    expect(cpu.mem8[cpu.fp - 0x10]).toBe(cpu.readLinear8(0x40000000) & 0xff);
    expect(h.r32(PT_HI) & 0x20).toBe(0x20); // accessed, as the fetch itself would have set it
    setEipRaw(cpu, 0x40002010);
    refetchFromTlb(cpu); // not present: no walk that faults, nothing established
    expect(cpu.fpEnd).toBe(0);
    expect(h.r32(PT_HI + 8)).toBe(0x202000);
  });

  it('fetchWouldTranslate: present and user-accessible as CPL requires, with no A bit set', () => {
    const { h, cpu } = setup('cc');
    h.w32(PT_HI, 0x200000 | 1); // present, supervisor
    h.w32(PT_HI + 4, 0x201000 | 5); // present, user
    h.w32(PT_HI + 8, 0x202000 | 4); // not present
    expect(fetchWouldTranslate(cpu, 0x40000010, false)).toBe(true);
    expect(fetchWouldTranslate(cpu, 0x40000010, true)).toBe(false);
    expect(fetchWouldTranslate(cpu, 0x40001010, true)).toBe(true);
    expect(fetchWouldTranslate(cpu, 0x40002010, false)).toBe(false);
    expect(fetchWouldTranslate(cpu, 0x80000000, false)).toBe(false); // no page table
    h.w32(PDE_HI, PT_HI | 3); // the directory entry is supervisor-only
    expect(fetchWouldTranslate(cpu, 0x40001010, true)).toBe(false);
    expect(h.r32(PT_HI) & 0x20).toBe(0);
    expect(h.r32(PDE_HI) & 0x20).toBe(0);
  });

  it('4 KiB pages translate and set A, then D on write', () => {
    // mov eax,[0x40000123]; mov [0x40000124],eax; int3
    const { h, cpu } = setup('a1 23 01 00 40 a3 24 01 00 40 cc');
    h.w32(PT_HI, 0x200000 | 7); // page 0x40000000 -> 0x200000
    h.w32(0x200123, 0x11223344);
    expect(runToTrap(cpu)).toBe(3);
    expect(cpu.getReg32(0)).toBe(0x11223344);
    expect(h.r32(0x200124)).toBe(0x11223344);
    expect(h.r32(PT_HI) & 0x60).toBe(0x60); // A and D
    expect(h.r32(PDE_HI) & 0x20).toBe(0x20); // PDE accessed
  });

  it('a read sets A but not D', () => {
    const { h, cpu } = setup('a1 23 01 00 40 cc');
    h.w32(PT_HI, 0x200000 | 7);
    runToTrap(cpu);
    expect(h.r32(PT_HI) & 0x60).toBe(0x20);
  });

  it('4 MiB pages with CR4.PSE', () => {
    // mov eax,[0x80012345]; int3
    const { h, cpu } = setup('a1 45 23 01 80 cc');
    cpu.setCr(4, 0x10);
    h.w32(PD + (0x80000000 >>> 22) * 4, 0x400000 | 0x87);
    h.w32(0x412345, 0xcafef00d);
    runToTrap(cpu);
    expect(cpu.getReg32(0)).toBe(0xcafef00d);
    expect(h.r32(PD + 0x200 * 4) & 0x20).toBe(0x20);
  });

  it('#PF on a not-present page: CR2, error code 0, EIP at the instruction', () => {
    const { cpu } = setup('90 a1 23 01 00 40 cc');
    expect(runToTrap(cpu)).toBe(14);
    expect(cpu.exceptionErrorCode).toBe(0);
    expect(cpu.getCr(2)).toBe(0x40000123);
    expect(cpu.getEip()).toBe(CODE + 1);
  });

  it('#PF error code for a write to a not-present page is 2', () => {
    const { cpu } = setup('a3 23 01 00 40 cc');
    expect(runToTrap(cpu)).toBe(14);
    expect(cpu.exceptionErrorCode).toBe(2);
  });

  it('supervisor write to a read-only page: allowed with CR0.WP=0, #PF(3) with WP=1', () => {
    const { h, cpu } = setup('a3 00 01 00 40 cc');
    h.w32(PT_HI, 0x200000 | 5); // present, user, read-only
    cpu.setCr(0, cpu.getCr(0) & ~0x10000);
    cpu.setReg32(0, 0x55);
    expect(runToTrap(cpu)).toBe(3);
    expect(h.r32(0x200100)).toBe(0x55);

    const s2 = setup('a3 00 01 00 40 cc');
    s2.h.w32(PT_HI, 0x200000 | 5);
    expect(runToTrap(s2.cpu)).toBe(14);
    expect(s2.cpu.exceptionErrorCode).toBe(3);
    expect(s2.cpu.getCr(2)).toBe(0x40000100);
  });

  it('user access to a supervisor page: #PF 5 (read) / 7 (write)', () => {
    const r = setup('a1 00 01 00 40 cc', { ring3: true });
    r.h.w32(PT_HI, 0x200000 | 3); // supervisor, writable
    expect(runToTrap(r.cpu)).toBe(14);
    expect(r.cpu.exceptionErrorCode).toBe(5);
    const w = setup('a3 00 01 00 40 cc', { ring3: true });
    w.h.w32(PT_HI, 0x200000 | 3);
    expect(runToTrap(w.cpu)).toBe(14);
    expect(w.cpu.exceptionErrorCode).toBe(7);
  });

  it('user write to a user read-only page faults even with WP=0', () => {
    const w = setup('a3 00 01 00 40 cc', { ring3: true });
    w.h.w32(PT_HI, 0x200000 | 5);
    w.cpu.setCr(0, w.cpu.getCr(0) & ~0x10000);
    expect(runToTrap(w.cpu)).toBe(14);
    expect(w.cpu.exceptionErrorCode).toBe(7);
  });

  it('the TLB keeps a stale translation until INVLPG', () => {
    // mov eax,[0x40000000]; mov dword [PT_HI], 0x300007; mov ebx,[0x40000000]; invlpg [0x40000000]; mov ecx,[0x40000000]; int3
    const { h, cpu } = setup('a1 00 00 00 40 c7 05 00 00 03 00 07 00 30 00 8b 1d 00 00 00 40 0f 01 3d 00 00 00 40 8b 0d 00 00 00 40 cc');
    h.w32(PT_HI, 0x200000 | 7);
    h.w32(0x200000, 0xaaaa);
    h.w32(0x300000, 0xbbbb);
    runToTrap(cpu);
    expect(cpu.getReg32(0)).toBe(0xaaaa);
    expect(cpu.getReg32(3)).toBe(0xaaaa);
    expect(cpu.getReg32(1)).toBe(0xbbbb);
  });

  it('global pages survive a CR3 reload when CR4.PGE is set; others do not', () => {
    // read both pages; rewrite both PTEs; mov eax,cr3; mov cr3,eax; read both again
    const code = [
      '8b 1d 00 00 00 40', // mov ebx,[0x40000000] (global)
      '8b 0d 00 10 00 40', // mov ecx,[0x40001000] (not global)
      'c7 05 00 00 03 00 07 00 30 00', // PT_HI[0] = 0x300007
      'c7 05 04 00 03 00 07 10 30 00', // PT_HI[1] = 0x301007
      '0f 20 d8 0f 22 d8', // mov eax,cr3; mov cr3,eax
      '8b 35 00 00 00 40', // mov esi,[0x40000000]
      '8b 3d 00 10 00 40', // mov edi,[0x40001000]
      'cc',
    ].join(' ');
    const { h, cpu } = setup(code);
    cpu.setCr(4, 0x80);
    h.w32(PT_HI, 0x200000 | 0x107);
    h.w32(PT_HI + 4, 0x201000 | 7);
    h.w32(0x200000, 1); h.w32(0x201000, 2); h.w32(0x300000, 3); h.w32(0x301000, 4);
    runToTrap(cpu);
    expect(cpu.getReg32(6)).toBe(1); // global: stale translation kept
    expect(cpu.getReg32(7)).toBe(4); // non-global: re-walked
  });

  it('a write crossing into a not-present page faults without touching the first page', () => {
    // mov [0x40000ffe], eax ; int3
    const { h, cpu } = setup('a3 fe 0f 00 40 cc');
    h.w32(PT_HI, 0x200000 | 7);
    cpu.setReg32(0, 0x11223344);
    expect(runToTrap(cpu)).toBe(14);
    expect(cpu.getCr(2)).toBe(0x40001000);
    expect(h.r16(0x200ffe)).toBe(0);
  });

  it('accesses crossing a page boundary combine both frames', () => {
    const { h, cpu } = setup('a1 fe 0f 00 40 cc');
    h.w32(PT_HI, 0x200000 | 7);
    h.w32(PT_HI + 4, 0x500000 | 7);
    h.w16(0x200ffe, 0x2211);
    h.w16(0x500000, 0x4433);
    runToTrap(cpu);
    expect(cpu.getReg32(0)).toBe(0x44332211);
  });

  it('instruction fetch faults on a not-present code page with CR2 = EIP', () => {
    const { cpu } = setup('e9 fb ff ff 3f'); // jmp 0x40020000
    expect(runToTrap(cpu)).toBe(14);
    expect(cpu.getCr(2)).toBe(0x40020000);
    expect(cpu.getEip()).toBe(0x40020000);
    expect(cpu.exceptionErrorCode).toBe(0);
  });

  it('debugger reads go through paging without faults', () => {
    const { h, cpu } = setup('cc');
    h.w32(PT_HI, 0x200000 | 7);
    h.w32(0x200010, 0x12345678);
    expect(cpu.readLinear32(0x40000010)).toBe(0x12345678);
    expect(cpu.readLinear8(0x40001000)).toBe(-1);
    cpu.writeLinear32(0x40000020, 0xabcdef01);
    expect(h.r32(0x200020)).toBe(0xabcdef01);
  });
});
