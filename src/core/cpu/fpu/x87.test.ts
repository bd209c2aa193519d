import { describe, expect, test } from 'vitest';
import { X87, isValidX87 } from './x87.ts';
import { MockFpuHost } from './test-support/mock-host.ts';

const SCRATCH = 0x100;
const AREA = 0x1000;

/** A small driver: memory-operand instructions use seg 0 and the given offset. */
function setup(): { fpu: X87; host: MockFpuHost; mem: (opc: number, reg: number, off: number, o32?: boolean) => void; reg: (opc: number, modrm: number) => void; fld: (se: number, sig: bigint) => void; fildd: (v: number) => void; sw: () => number } {
  const host = new MockFpuHost();
  const fpu = new X87(host);
  fpu.reset();
  const mem = (opc: number, reg: number, off: number, o32 = true): void => fpu.execute(opc, (reg << 3) | 5, 0, off, o32, 0x1b, 0x1234);
  const reg = (opc: number, modrm: number): void => fpu.execute(opc, modrm, -1, 0, true, 0x1b, 0x1236);
  const fld = (se: number, sig: bigint): void => {
    host.writeU32(0, SCRATCH, Number(sig & 0xffffffffn));
    host.writeU32(0, SCRATCH + 4, Number(sig >> 32n));
    host.writeU16(0, SCRATCH + 8, se);
    mem(0xdb, 5, SCRATCH);
  };
  const fildd = (v: number): void => { host.writeU32(0, SCRATCH, v >>> 0); mem(0xdb, 0, SCRATCH); };
  return { fpu, host, mem, reg, fld, fildd, sw: () => fpu.readStatusWord() };
}

const u16 = (h: MockFpuHost, o: number): number => h.readU16(0, o);
const u32 = (h: MockFpuHost, o: number): number => h.readU32(0, o);
function readF80(h: MockFpuHost, o: number): string {
  let sig = 0n;
  for (let i = 7; i >= 0; i--) sig = (sig << 8n) | BigInt(h.mem[o + i]!);
  return u16(h, o + 8).toString(16).padStart(4, '0') + sig.toString(16).padStart(16, '0');
}

describe('initial state and control instructions', () => {
  test('FNINIT state: CW 037F, SW 0, all tags empty', () => {
    const { host, mem } = setup();
    mem(0xd9, 6, AREA); // FNSTENV (32-bit)
    expect(u32(host, AREA)).toBe(0xffff037f);
    expect(u32(host, AREA + 4)).toBe(0xffff0000);
    expect(u32(host, AREA + 8)).toBe(0xffffffff);
  });

  test('FLDCW/FNSTCW and FNSTSW m16 with TOP', () => {
    const { host, mem, fildd } = setup();
    host.writeU16(0, SCRATCH + 16, 0x0c7f);
    mem(0xd9, 5, SCRATCH + 16);
    mem(0xd9, 7, AREA);
    expect(u16(host, AREA)).toBe(0x0c7f);
    fildd(5);
    fildd(6);
    mem(0xdd, 7, AREA + 2);
    expect(u16(host, AREA + 2)).toBe(6 << 11);
  });

  test('unmasked exception sets ES and B; FNCLEX clears them; FLDCW re-evaluates', () => {
    const { fpu, host, mem, reg, fildd, sw } = setup();
    host.writeU16(0, SCRATCH + 16, 0x037b); // ZE unmasked
    mem(0xd9, 5, SCRATCH + 16);
    fildd(0);
    fildd(1);
    reg(0xd8, 0xf1); // FDIV ST0, ST1: 1/0
    expect(sw() & 0x80ff).toBe(0x8084);
    expect(fpu.hasPendingException()).toBe(true);
    reg(0xdb, 0xe2); // FNCLEX
    expect(sw() & 0x80ff).toBe(0);
    expect(fpu.hasPendingException()).toBe(false);
    // masked divide sets ZE without ES; unmasking it with FLDCW makes it pending
    host.writeU16(0, SCRATCH + 16, 0x037f);
    mem(0xd9, 5, SCRATCH + 16);
    reg(0xd8, 0xf1);
    expect(sw() & 0x80ff).toBe(0x04);
    host.writeU16(0, SCRATCH + 16, 0x037b);
    mem(0xd9, 5, SCRATCH + 16);
    expect(fpu.hasPendingException()).toBe(true);
  });

  test('unmasked zero-divide leaves the destination unchanged', () => {
    const { host, mem, reg, fildd } = setup();
    host.writeU16(0, SCRATCH + 16, 0x037b);
    mem(0xd9, 5, SCRATCH + 16);
    fildd(0);
    fildd(7);
    reg(0xd8, 0xf1);
    mem(0xdd, 3, AREA); // FSTP m64 (waiting instructions are the CPU's business)
    expect(host.readU32(0, AREA + 4)).toBe(0x401c0000); // 7.0
  });
});

describe('register stack', () => {
  test('stack overflow: C1 = 1, IE|SF, indefinite pushed (masked)', () => {
    const { host, fildd, sw, mem } = setup();
    for (let i = 0; i < 8; i++) fildd(i);
    expect(sw() & 0x3fff).toBe(0);
    fildd(99);
    expect(sw() & 0x02ff).toBe(0x0241);
    mem(0xdb, 7, AREA); // FSTP m80
    expect(readF80(host, AREA)).toBe('ffffc000000000000000');
  });

  test('stack underflow: C1 = 0, IE|SF, FSTP of empty stores the indefinite', () => {
    const { host, mem, sw, reg } = setup();
    reg(0xd9, 0xe8); // FLD1
    mem(0xdd, 3, AREA);
    expect(sw() & 0x02ff).toBe(0);
    mem(0xdd, 3, AREA); // underflow
    expect(sw() & 0x02ff).toBe(0x41);
    expect(u32(host, AREA + 4)).toBe(0xfff80000);
    expect(u32(host, AREA)).toBe(0);
  });

  test('unmasked stack overflow changes nothing', () => {
    const { host, fildd, sw, mem } = setup();
    host.writeU16(0, SCRATCH + 16, 0x037e);
    mem(0xd9, 5, SCRATCH + 16);
    for (let i = 0; i < 8; i++) fildd(i);
    fildd(99);
    expect(sw() & 0x3fff).toBe(0x02c1);
    mem(0xd9, 6, AREA);
    expect(u32(host, AREA + 8) & 0xffff).toBe(0x4000); // all eight still there (the first one, 0, tagged zero)
    expect((u32(host, AREA + 4) >> 11) & 7).toBe(0);
  });

  test('tag word: valid, zero, special, empty', () => {
    const { host, mem, reg, fld } = setup();
    reg(0xd9, 0xe8); // 1.0 → phys 7 valid
    reg(0xd9, 0xee); // +0 → phys 6 zero
    fld(0x7fff, 0x8000000000000000n); // inf → phys 5 special
    fld(0x0000, 0x1n); // denormal → phys 4 special
    mem(0xd9, 6, AREA);
    expect(u16(host, AREA + 8)).toBe(0b00_01_10_10_11_11_11_11);
  });

  test('FINCSTP/FDECSTP/FFREE', () => {
    const { host, mem, reg, sw } = setup();
    reg(0xd9, 0xe8);
    reg(0xd9, 0xf7); // FINCSTP
    expect((sw() >> 11) & 7).toBe(0);
    reg(0xd9, 0xf6); // FDECSTP
    expect((sw() >> 11) & 7).toBe(7);
    reg(0xdd, 0xc0); // FFREE ST0
    mem(0xd9, 6, AREA);
    expect(u16(host, AREA + 8)).toBe(0xffff);
  });
});

describe('environment and save layouts', () => {
  function loaded(): ReturnType<typeof setup> {
    const s = setup();
    s.host.writeU16(0, SCRATCH + 16, 0x0a7a);
    s.mem(0xd9, 5, SCRATCH + 16);
    s.fildd(3);
    s.reg(0xd9, 0xeb); // FLDPI
    s.reg(0xd9, 0xee); // FLDZ
    s.fpu.execute(0xd8, 0xc1, -1, 0, true, 0x0023, 0x00401000); // FADD st0, st1
    s.fpu.execute(0xdc, 0x05, 0, 0x2222, true, 0x0023, 0x00401002); // FADD m64 (reads 0.0)
    return s;
  }

  test('FNSTENV 28-byte protected-mode layout, and masks all exceptions', () => {
    const { host, mem, fpu } = loaded();
    mem(0xd9, 6, AREA);
    expect(u32(host, AREA)).toBe(0xffff0a7a);
    expect(u32(host, AREA + 4) >>> 16).toBe(0xffff);
    expect((u32(host, AREA + 4) >> 11) & 7).toBe(5);
    expect(u32(host, AREA + 8)).toBe((0xffff0000 | 0b00_00_00_11_11_11_11_11) >>> 0);
    expect(u32(host, AREA + 12)).toBe(0x00401002);
    expect(u32(host, AREA + 16)).toBe((0x405 << 16) | 0x23);
    expect(u32(host, AREA + 20)).toBe(0x2222);
    mem(0xd9, 7, AREA + 64);
    expect(u16(host, AREA + 64)).toBe(0x0a7f);
    expect(fpu.hasPendingException()).toBe(false);
  });

  test('FNSTENV 14-byte layout (16-bit operand size)', () => {
    const { host, mem } = loaded();
    host.mem.fill(0xee, AREA, AREA + 32);
    mem(0xd9, 6, AREA, false);
    expect(u16(host, AREA)).toBe(0x0a7a);
    expect(u16(host, AREA + 4)).toBe(0b00_00_00_11_11_11_11_11);
    expect(u16(host, AREA + 6)).toBe(0x1002);
    expect(u16(host, AREA + 8)).toBe(0x23);
    expect(u16(host, AREA + 10)).toBe(0x2222);
    expect(host.mem[AREA + 14]).toBe(0xee);
  });

  test('FLDENV restores CW/SW/tags (empty vs not) and pointers', () => {
    const a = loaded();
    a.mem(0xd9, 6, AREA);
    const b = setup();
    b.host.mem.set(a.host.mem.subarray(AREA, AREA + 28), AREA);
    b.mem(0xd9, 4, AREA);
    b.mem(0xd9, 6, AREA + 64);
    const img = Array.from(b.host.mem.subarray(AREA + 64, AREA + 92));
    const want = Array.from(a.host.mem.subarray(AREA, AREA + 28));
    // Only empty/non-empty comes from the loaded tag word: b's registers hold
    // zeros, so its non-empty registers now read back as "zero" (01).
    expect(img[9]).toBe(0b01_01_01_11);
    img[9] = want[9]!;
    expect(img).toEqual(want);
  });

  for (const o32 of [true, false]) {
    test(`FNSAVE/FRSTOR round trip (${o32 ? 108 : 94} bytes) and FNSAVE re-initialises`, () => {
      const a = loaded();
      const size = o32 ? 108 : 94;
      a.mem(0xdd, 6, AREA, o32);
      a.mem(0xd9, 6, AREA + 0x200);
      expect(u32(a.host, AREA + 0x200)).toBe(0xffff037f);
      expect(u32(a.host, AREA + 0x208)).toBe(0xffffffff);
      const regBase = AREA + (o32 ? 28 : 14);
      expect(readF80(a.host, regBase)).toBe('4000c90fdaa22168c800'); // ST0 = 0 + pi rounded up to 53 bits (PC = 53, RC = up)
      expect(readF80(a.host, regBase + 10)).toBe('4000c90fdaa22168c235');
      expect(readF80(a.host, regBase + 20)).toBe('4000c000000000000000'); // 3
      const b = setup();
      b.host.mem.set(a.host.mem.subarray(AREA, AREA + size), AREA);
      b.mem(0xdd, 4, AREA, o32);
      b.mem(0xdd, 6, AREA + 0x400, o32);
      expect(Array.from(b.host.mem.subarray(AREA + 0x400, AREA + 0x400 + size))).toEqual(Array.from(a.host.mem.subarray(AREA, AREA + size)));
    });
  }

  test.each([false, true])('FXSAVE layout and FXRSTOR round trip (image copied in one step: %s)', (direct) => {
    const a = loaded();
    a.host.direct = direct;
    a.host.mem.fill(0xaa, AREA, AREA + 512);
    a.fpu.fxsave(0, AREA);
    const h = a.host;
    expect(u16(h, AREA)).toBe(0x0a7a);
    expect((u16(h, AREA + 2) >> 11) & 7).toBe(5);
    expect(h.mem[AREA + 4]).toBe(0b1110_0000); // physical 5, 6, 7 in use
    expect(u16(h, AREA + 6)).toBe(0x405);
    expect(u32(h, AREA + 8)).toBe(0x00401002);
    expect(u16(h, AREA + 12)).toBe(0x23);
    expect(u32(h, AREA + 16)).toBe(0x2222);
    expect(u32(h, AREA + 24)).toBe(0x1f80);
    expect(u32(h, AREA + 28)).toBe(0xffbf);
    expect(readF80(h, AREA + 32)).toBe('4000c90fdaa22168c800');
    expect(readF80(h, AREA + 64)).toBe('4000c000000000000000');
    expect(u16(h, AREA + 42)).toBe(0);
    expect(h.mem.subarray(AREA + 160, AREA + 288).every((x) => x === 0)).toBe(true);
    expect(h.mem[AREA + 300]).toBe(0xaa); // reserved area untouched
    const b = setup();
    b.host.direct = direct;
    b.host.mem.set(h.mem.subarray(AREA, AREA + 512), AREA);
    b.fpu.fxrstor(0, AREA);
    b.fpu.fxsave(0, AREA + 0x400);
    expect(Array.from(b.host.mem.subarray(AREA + 0x400, AREA + 0x400 + 288))).toEqual(Array.from(h.mem.subarray(AREA, AREA + 288)));
    // the live state matches too: FNSTENV of both
    a.mem(0xd9, 6, AREA + 0x800);
    b.mem(0xd9, 6, AREA + 0x900);
    expect(Array.from(b.host.mem.subarray(AREA + 0x900, AREA + 0x900 + 28))).toEqual(Array.from(a.host.mem.subarray(AREA + 0x800, AREA + 0x800 + 28)));
  });

  test('a faulting store leaves memory and the FPU untouched (probeWrite first)', () => {
    const { fpu, host, reg, mem } = setup();
    reg(0xd9, 0xeb);
    const before = JSON.stringify(fpu.saveState());
    host.faultAbove = AREA + 4;
    expect(() => mem(0xdd, 3, AREA)).toThrow(/mock #PF/);
    expect(() => mem(0xdd, 6, AREA)).toThrow(/mock #PF/);
    expect(() => fpu.fxsave(0, AREA)).toThrow(/mock #PF/);
    expect(JSON.stringify(fpu.saveState())).toBe(before);
    expect(host.mem.subarray(AREA, AREA + 16).every((x) => x === 0)).toBe(true);
  });

  test('saveState/restoreState round trip', () => {
    const a = loaded();
    const state = a.fpu.saveState();
    expect(state).toMatchObject({ controlWord: 0x0a7a, lastOpcode: 0x405, lastDataPointer: 0x2222 });
    const b = setup();
    b.fpu.restoreState(JSON.parse(JSON.stringify(state)) as Record<string, unknown>);
    a.mem(0xdd, 6, AREA);
    b.mem(0xdd, 6, AREA);
    expect(Array.from(b.host.mem.subarray(AREA, AREA + 108))).toEqual(Array.from(a.host.mem.subarray(AREA, AREA + 108)));
  });
});

describe('packed BCD', () => {
  const cases: Array<[string, string]> = [
    ['00000000000000000000', '00000000000000000000'],
    ['80000000000000000000', '80000000000000000000'],
    ['00000000000000000001', '00000000000000000001'],
    ['00999999999999999999', '00999999999999999999'],
    ['80123456789012345678', '80123456789012345678'],
  ];
  for (const [inHex, outHex] of cases) {
    test(`FBLD/FBSTP ${inHex}`, () => {
      const { host, mem } = setup();
      const bytes = inHex.match(/../g)!.map((b) => parseInt(b, 16)).reverse();
      host.mem.set(bytes, SCRATCH);
      mem(0xdf, 4, SCRATCH);
      mem(0xdf, 6, AREA);
      const out = Array.from(host.mem.subarray(AREA, AREA + 10)).reverse().map((b) => b.toString(16).padStart(2, '0')).join('');
      expect(out).toBe(outHex);
    });
  }

  test('FBSTP rounds per RC and stores the BCD indefinite when out of range', () => {
    const { host, mem, fld, sw } = setup();
    fld(0x3fff, 0xc000000000000000n); // 1.5 → 2 (nearest even)
    mem(0xdf, 6, AREA);
    expect(host.mem[AREA]).toBe(0x02);
    expect(sw() & 0x3f).toBe(0x20);
    fld(0x403a, 0xde0b6b3a76400000n); // 1e18
    mem(0xdf, 6, AREA);
    expect(Array.from(host.mem.subarray(AREA, AREA + 10))).toEqual([0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff]);
    expect(sw() & 0x01).toBe(1);
  });
});

describe('compares to EFLAGS and FCMOV', () => {
  test('FCOMI sets ZF/PF/CF through the host, FCMOVB moves on CF', () => {
    const { host, fildd, reg, mem } = setup();
    fildd(2);
    fildd(1); // ST0 = 1, ST1 = 2
    reg(0xdb, 0xf1);
    expect(host.compareFlags).toEqual({ zf: false, pf: false, cf: true });
    reg(0xda, 0xc1); // FCMOVB ST0, ST1 (CF = 1)
    mem(0xdd, 2, AREA);
    expect(u32(host, AREA + 4)).toBe(0x40000000); // 2.0
  });
});

describe('isValidX87 (Pentium Pro: no SSE3)', () => {
  test.each([
    [0xdb, 0x08, false], [0xdd, 0x08, false], [0xdf, 0x08, false], // FISTTP
    [0xd9, 0x08, false], [0xdb, 0x20, false], [0xdb, 0x30, false], [0xdd, 0x28, false],
    [0xd9, 0xd1, false], [0xd9, 0xe2, false], [0xd9, 0xef, false], [0xda, 0xe8, false], [0xdb, 0xe5, false],
    [0xdb, 0xf8, false], [0xdd, 0xf0, false], [0xde, 0xd8, false], [0xdf, 0xe1, false], [0xdf, 0xf8, false],
    [0xd8, 0x00, true], [0xd9, 0x28, true], [0xdb, 0x28, true], [0xdd, 0x30, true], [0xdf, 0x38, true],
    [0xd9, 0xd0, true], [0xd9, 0xd8, true], [0xda, 0xe9, true], [0xdb, 0xe3, true], [0xdb, 0xe8, true],
    [0xde, 0xd9, true], [0xdf, 0xe0, true], [0xdf, 0xf0, true], [0xdd, 0xc8, true],
  ])('%s %s → %s', (opc, modrm, ok) => {
    expect(isValidX87(opc, modrm)).toBe(ok);
  });
});
