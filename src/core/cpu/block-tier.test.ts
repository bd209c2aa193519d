/**
 * The decoded-block tier's own rules (block-cache.ts, block-run.ts), each
 * checked against the same program with the tier off: code that rewrites
 * itself inside one block, a fault in the middle of a block, a budget that
 * ends inside a block, flags skipped where a later instruction
 * overwrites them (but not before an instruction that can fault), calls
 * and returns followed inside a block, and compare-and-branch pairs.
 */
import { describe, expect, it } from 'vitest';
import { StopReason } from './host.ts';
import { FlatHost, flatCpu } from './test-support/flat-host.ts';
import type { Cpu } from './cpu.ts';
import { BLOCK_FORMAT, blockSlot } from './block-run.ts';

const CODE = 0x20000;

function setup(hex: string, blocks: boolean): Cpu {
  const h = new FlatHost();
  const cpu = flatCpu(h, CODE, { paging: true });
  cpu.trapExceptions = true;
  cpu.setBlockTier(blocks, { hotVisits: 1, warmup: 0 });
  h.loadHex(CODE, hex.match(/../g)!.join(' '));
  return cpu;
}

/** The program run with the tier on and off, each until `stop` (and exception `vector`, if given): [on, off]. */
function bothWays(hex: string, budget: number, stop: StopReason, vector?: number): [Cpu, Cpu] {
  const [on, off] = [true, false].map((blocks) => {
    const cpu = setup(hex, blocks);
    expect(cpu.run(budget)).toBe(stop);
    if (vector !== undefined) expect(cpu.exceptionVector).toBe(vector);
    return cpu;
  });
  return [on!, off!];
}

function state(cpu: Cpu): number[] {
  return [...[0, 1, 2, 3, 4, 5, 6, 7].map((r) => cpu.getReg32(r)), cpu.getEip() >>> 0, cpu.getEflags(), cpu.instructionsRetired];
}

describe('decoded blocks', () => {
  it('see a write to the next instruction of their own block (self-modifying loop)', () => {
    // mov ecx,10 / xor ebx,ebx / top: mov [patch+1],ecx / patch: mov eax,0 / add ebx,eax / dec ecx / jnz top / int3
    const hex = 'b90a00000031db890d0e000200b80000000001c34975f0cc';
    const runs = bothWays(hex, 10_000, StopReason.Exception);
    expect(runs[0]!.getReg32(3)).toBe(55); // 10 + 9 + ... + 1: every pass ran the immediate it had just written
    expect(runs[0]!.blocks!.stats.invalidations).toBeGreaterThan(0);
    expect(state(runs[0]!)).toEqual(state(runs[1]!));
  });

  it('leave a fault in their middle exact: EIP of the faulting instruction, earlier ones retired, later ones not', () => {
    // nop / mov eax,1 / mov ebx,2 / mov ecx,[0x2000000] (not mapped) / mov edx,4 / int3
    const hex = '90b801000000bb020000008b0d00000002ba04000000cc';
    const runs = bothWays(hex, 10_000, StopReason.Exception, 14);
    expect(runs[0]!.blocks!.stats.built).toBeGreaterThan(0);
    expect(runs[0]!.getEip() >>> 0).toBe(CODE + 11);
    expect(runs[0]!.instructionsRetired).toBe(3);
    expect(runs[0]!.getReg32(2)).toBe(0x633); // EDX still holds its reset value: mov edx,4 did not run
    expect(state(runs[0]!)).toEqual(state(runs[1]!));
  });

  it('stop exactly where the budget ends, inside a block', () => {
    const hex = '90b801000000bb020000008b0d00000002ba04000000cc';
    for (const budget of [1, 2, 3]) {
      const runs = bothWays(hex, budget, StopReason.Budget);
      expect(runs[0]!.instructionsRetired).toBe(budget);
      expect(state(runs[0]!)).toEqual(state(runs[1]!));
    }
  });

  it('skip only flags nothing can see: a fault after the last writer sees its flags', () => {
    // mov eax,0x7fffffff / mov ebx,0x80000001 / add eax,ebx / inc ecx / shl eax,3 / imul edx,eax,7 / test edx,edx
    // lea esi,[eax+ebx] / sub eax,ebx / mov ecx,[0x2000000] (faults: SUB's flags must be there) / xor eax,eax / int3
    const hex = 'b8ffffff7fbb0100008001d841c1e0036bd00785d28d341829d88b0d0000000231c0cc';
    const runs = bothWays(hex, 10_000, StopReason.Exception, 14);
    expect(state(runs[0]!)).toEqual(state(runs[1]!));
    // The fault left the flags of SUB 0 - 0x80000001 (eax was shifted to 0): CF=1, OF=0, SF=0.
    expect(runs[0]!.getEflags() & 0x8c1).toBe(0x001);
    // Without the fault the same block ends in XOR's flags, equal either way too.
    const noFault = hex.replace('8b0d00000002', '8b0d00001000'); // mov ecx,[0x100000]: mapped
    const ends = bothWays(noFault, 10_000, StopReason.Exception, 3);
    expect(state(ends[0])).toEqual(state(ends[1]));
  });

  it('name the instruction when the emulator itself fails inside a block', () => {
    // nop / mov eax,1 / mov ebx,[0x3000] / int3: run once (blocks decoded, the TLB holds 0x3000), then again
    // with a memory view that throws, so that the load's inline path fails where no handler set EIP.
    const cpu = setup('90b801000000' + '8b1d00300000' + 'cc', true);
    expect(cpu.run(100)).toBe(StopReason.Exception);
    cpu.setEip(CODE);
    cpu.run(1); // the NOP, interpreted: the block starts at the MOV
    const real = cpu.dv;
    const getInt32 = (at: number, le?: boolean): number => {
      if (at === 0x3000) throw new Error('planted'); // the load's operand (identity-mapped RAM)
      return real.getInt32(at, le);
    };
    cpu.dv = new Proxy(real, { get: (t, k) => (k === 'getInt32' ? getInt32 : Reflect.get(t, k, t)) });
    expect(() => cpu.run(100)).toThrow(/host error at CS:EIP=[0-9a-f]+:0+20006 bytes 8b 1d 00 30 .*planted/);
  });

  it('go on into a callee on the same page, and jump to it when its first instruction cannot be decoded', () => {
    // mov eax,1 / push eax / pop eax (the stack page in the TLB) / call f / add eax,2 / int3
    // f: mov bx,7 (0x66 prefix: not taken into blocks) / add eax,10 / ret
    const hex = 'b8010000005058e80400000083c002cc66bb070083c00ac3';
    const runs = bothWays(hex, 1_000, StopReason.Exception, 3);
    expect(runs[0].getReg32(0)).toBe(13);
    expect(runs[0].getReg32(3) & 0xffff).toBe(7);
    expect(state(runs[0])).toEqual(state(runs[1]));
    // Without the prefix the callee joins the caller's block, which goes on to its RET.
    const joined = hex.replace('66bb0700', '90909090');
    const both = bothWays(joined, 1_000, StopReason.Exception, 3);
    expect(both[0].getReg32(0)).toBe(13);
    expect(state(both[0])).toEqual(state(both[1]));
  });

  it('branch on a register CMP or TEST fused with its Jcc exactly as the interpreter does, flags included', () => {
    const edges = [0, 1, 2, -1, -2, 0x7fffffff, 0x80000000 | 0, 0x80000001 | 0, 0x12345678];
    const le32 = (v: number): string => [0, 8, 16, 24].map((s) => ((v >>> s) & 0xff).toString(16).padStart(2, '0')).join('');
    const forms: [string, (b: number) => string][] = [
      ['cmp eax,ebx', () => '39d8'],
      ['cmp eax,imm32', (b) => '81f8' + le32(b)],
      ['test eax,ebx', () => '85d8'],
      ['test eax,imm32', (b) => 'a9' + le32(b)],
    ];
    for (const [name, compare] of forms) {
      for (let cc = 0; cc < 16; cc++) {
        // Per pair: mov eax,a / mov ebx,b / compare / jcc +6 / add ecx,weight / pushfd / pop edx / add esi,edx / rol esi,1
        let hex = '';
        let weight = 1;
        for (const a of edges) {
          for (const b of edges) {
            hex += 'b8' + le32(a) + 'bb' + le32(b) + compare(b) + (0x70 + cc).toString(16) + '06' + '81c1' + le32(weight) + '9c5a01d6d1c6';
            weight = (weight * 3) | 0;
          }
        }
        const runs = bothWays(hex + 'cc', 100_000, StopReason.Exception, 3);
        expect(state(runs[0]), `${name} / j${cc.toString(16)}`).toEqual(state(runs[1]));
        expect(runs[0].blocks!.stats.built).toBeGreaterThan(edges.length);
      }
    }
  });

  it('address memory through a data segment with a nonzero base (the fast paths take zero bases only)', () => {
    // mov edi,3 / top: mov esi,0x3000 / mov ebp,0x3000 / mov edx,[ebp] (SS, based at 0: linear 0x3000 in the TLB)
    // mov eax,[esi] / add eax,5 / mov [esi+4],eax / mov ebx,[esi+4] / add [esi+8],eax / movzx edx,byte [esi+1]
    // push eax / pop ecx / dec edi / jnz top / int3; DS based at 0x100000
    const hex = 'bf03000000be00300000bd003000008b55008b0683c0058946048b5e040146080fb6560150594f75dccc';
    const runs = [true, false].map((blocks) => {
      const h = new FlatHost();
      const cpu = flatCpu(h, CODE, { paging: true });
      cpu.trapExceptions = true;
      cpu.setBlockTier(blocks, { hotVisits: 1, warmup: 0 });
      h.loadHex(CODE, hex.match(/../g)!.join(' '));
      h.loadHex(0x103000, '78 56 34 12 00 00 00 00 01 00 00 00');
      cpu.setSegment(3, 0x10, 0x100000, 0xffffffff, 0xc93);
      expect(cpu.run(1_000)).toBe(StopReason.Exception);
      return { cpu, h };
    });
    const { cpu, h } = runs[0]!;
    expect(cpu.blocks!.stats.built).toBeGreaterThan(0);
    expect(cpu.getReg32(3)).toBe(0x1234567d); // read back at DS base + 0x3004
    expect(h.dv.getUint32(0x103008, true)).toBe((1 + 3 * 0x1234567d) >>> 0);
    expect(cpu.getReg32(2)).toBe(0x56);
    expect(h.dv.getUint32(0x3004, true)).toBe(0x90000); // linear 0x3004 (the TSS's ESP0) untouched
    expect(state(cpu)).toEqual(state(runs[1]!.cpu));
    expect(h.mem.subarray(0x103000, 0x103010)).toEqual(runs[1]!.h.mem.subarray(0x103000, 0x103010));
  });

  it('start at the first instruction after a jump to another page (its block, not one instruction interpreted first)', () => {
    // mov ecx,10 / top: call 0x21000 / dec ecx / jnz top / int3; at 0x21000: add eax,ecx / ret
    const runs = [true, false].map((blocks) => {
      const caller = 'b90a000000e8f60f00004975f8cc';
      const cpu = setup(caller + '00'.repeat(0x1000 - caller.length / 2) + '01c8c3', blocks);
      cpu.setReg32(0, 0);
      expect(cpu.run(1_000)).toBe(StopReason.Exception);
      return cpu;
    });
    expect(runs[0]!.getReg32(0)).toBe(55);
    expect(state(runs[0]!)).toEqual(state(runs[1]!));
    // The callee's block starts at its first instruction (host offset = physical address here).
    const { SLOT, S_KEY } = BLOCK_FORMAT;
    expect(runs[0]!.blocks!.slots[blockSlot(0x21000) * SLOT + S_KEY]).toBe(0x21000);
  });

  it("return into the caller's block only when the callee's RET pops the address its CALL pushed", () => {
    // mov eax,1 / push eax / pop eax / call f / add eax,2 / int3
    // f: add dword [esp],3 (returns past the ADD, onto the int3) / add eax,10 / ret
    const hex = 'b8010000005058e80400000083c002cc8304240383c00ac3';
    const changed = bothWays(hex, 1_000, StopReason.Exception, 3);
    expect(changed[0].getReg32(0)).toBe(11);
    expect(state(changed[0])).toEqual(state(changed[1]));
    expect(changed[0].blocks!.stats.built).toBe(2); // the RET left the block: the int3 starts another
    // With the return address left alone, one block runs from the first instruction to the int3.
    const kept = bothWays(hex.replace('83042403', '90909090'), 1_000, StopReason.Exception, 3);
    expect(kept[0].getReg32(0)).toBe(13);
    expect(state(kept[0])).toEqual(state(kept[1]));
    expect(kept[0].blocks!.stats.built).toBe(1);
  });
});
