import { describe, it, expect } from 'vitest';
import { StopReason } from './host.ts';
import { FlatHost, flatCpu, setGate, SEL } from './test-support/flat-host.ts';
import { disassemble } from './disasm.ts';
import { OPCODE_ROWS, rowFor } from './opcode-table.ts';

/** xorshift32: deterministic test randomness. */
function prng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

const CODE = 0x100000;
const CODE_LEN = 0x10000;

describe('fuzz', () => {
  for (const ring3 of [false, true]) {
    it(`random bytes never raise a host exception (${ring3 ? 'ring 3' : 'ring 0'}, exceptions trapped)`, () => {
      const rnd = prng(ring3 ? 0x1234 : 0x4321);
      const h = new FlatHost();
      const cpu = flatCpu(h, CODE, { paging: true, ring3 });
      const base = cpu.saveState();
      for (let i = 0; i < CODE_LEN; i++) h.mem[CODE + i] = rnd() & 0xff;
      cpu.trapExceptions = true;
      let executed = 0;
      for (let round = 0; round < 3000; round++) {
        if (round % 50 === 0) {
          cpu.restoreState(base);
          cpu.trapExceptions = true;
        }
        cpu.setEip(CODE + (rnd() % (CODE_LEN - 64)));
        const before = cpu.instructionsRetired;
        const r = cpu.run(64);
        executed += cpu.instructionsRetired - before;
        if (r === StopReason.Shutdown) cpu.restoreState(base);
        if (r === StopReason.HaltedNoInterrupts || r === StopReason.Halted) cpu.restoreState(base);
      }
      expect(executed).toBeGreaterThan(ring3 ? 200 : 1000);
    });
  }

  it('random bytes with exceptions delivered through an IDT pointing into garbage never throw', () => {
    const rnd = prng(0xbeef);
    const h = new FlatHost();
    const cpu = flatCpu(h, CODE, { paging: true });
    for (let v = 0; v < 256; v++) setGate(h, v, SEL.code0, CODE + (rnd() % (CODE_LEN - 64)), rnd() & 1 ? 0xe : 0xf, 3);
    const base = cpu.saveState();
    for (let i = 0; i < CODE_LEN; i++) h.mem[CODE + i] = rnd() & 0xff;
    let shutdowns = 0;
    for (let round = 0; round < 400; round++) {
      cpu.restoreState(base);
      cpu.setEip(CODE + (rnd() % (CODE_LEN - 64)));
      const r = cpu.run(500);
      if (r === StopReason.Shutdown) {
        shutdowns++;
        expect(cpu.shutdownReason).toMatch(/triple fault/);
      }
    }
    expect(shutdowns).toBeLessThan(400);
  });

  it('the disassembler length equals the bytes the interpreter consumes', () => {
    const rnd = prng(77);
    const h = new FlatHost();
    const cpu = flatCpu(h, CODE, { paging: false });
    cpu.trapExceptions = true;
    const base = cpu.saveState();
    const prefixes = [0x66, 0x67, 0x2e, 0x3e, 0x26, 0x64, 0xf3, 0xf2];
    let checked = 0;
    for (let n = 0; n < 20000; n++) {
      const bytes: number[] = [];
      const np = rnd() % 3;
      for (let k = 0; k < np; k++) bytes.push(prefixes[rnd() % prefixes.length]);
      if (rnd() % 4 === 0) bytes.push(0x0f);
      while (bytes.length < 16) bytes.push(rnd() & 0xff);
      const d = disassemble(Uint8Array.from(bytes), 0, true);
      if (d.text === '(bad)') continue;
      // Skip control transfers and REP string ops (they restart or jump).
      let i = 0;
      while (prefixes.includes(bytes[i])) i++;
      let op = bytes[i];
      if (op === 0x0f) op = 0x100 | bytes[i + 1];
      const row = rowFor(op, (bytes[i + (op >= 0x100 ? 2 : 1)] >> 3) & 7);
      if (row === undefined || row.branch || row.rep !== 0 || row.mnemonic === 'esc') continue;
      cpu.restoreState(base);
      cpu.trapExceptions = true;
      // Registers pointing at mapped, harmless data.
      for (let r = 0; r < 8; r++) if (r !== 4) cpu.setReg32(r, 0x200000 + (rnd() & 0xffff));
      h.load(CODE, bytes);
      const res = cpu.run(1);
      if (res === StopReason.Exception) continue;
      const len = cpu.getEip() - CODE;
      if (len !== d.length) throw new Error(`length mismatch for ${bytes.map((b) => b.toString(16)).join(' ')}: disasm "${d.text}" ${d.length}, cpu ${len}`);
      checked++;
    }
    expect(checked).toBeGreaterThan(3000);
  });

  it('every table row disassembles to its mnemonic', () => {
    for (const row of OPCODE_ROWS) {
      if (row.mnemonic === 'esc') continue;
      const bytes: number[] = [];
      if (row.opcode >= 0x100) bytes.push(0x0f);
      bytes.push(row.opcode & 0xff);
      if (row.modrm) bytes.push(0xc0 | ((row.reg < 0 ? 0 : row.reg) << 3));
      while (bytes.length < 12) bytes.push(0);
      const d = disassemble(Uint8Array.from(bytes), 0, true);
      const want = row.mnemonic.includes('|') ? row.mnemonic.split('|')[1] : row.mnemonic;
      expect(d.text.split(' ')[0]).toBe(want);
    }
  });
});
