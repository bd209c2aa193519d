/**
 * Tests of the differential harness itself (native runner, generator,
 * comparator), independent of the real CPU: a harness that cannot fail is
 * worthless, so these check that it does.
 */
import { describe, expect, it } from 'vitest';
import { ARITH, AF, CF, ZF } from './test-support/undefined-masks.ts';
import { type Builder, bit, fx } from './test-support/builder.ts';
import { type Group, GROUPS, generateCases, generateCase, groupOf, groupByName } from './test-support/gen.ts';
import { runNative, nativeKind, nativeRunnerPath, runBatchWith, hostQuirks } from './test-support/native.ts';
import { compareOutcomes } from './test-support/compare.ts';
import { type Outcome, CODE_BASE } from './test-support/format.ts';
import { runDiff, emulatorReference, formatDiffMismatch } from './test-support/diff-run.ts';
import { Cpu } from '../cpu.ts';
import { IS_PREFIX } from '../decoder.ts';
import { FakeCpu, type FakeBug } from './test-support/fake-cpu.ts';
import { hostRunsI386 } from '../test-support/i386-exec.ts';

const SIGNAL_OF_VECTOR: Record<number, number> = { 0: 8, 1: 5, 3: 5, 4: 11, 5: 11, 6: 4, 13: 11, 14: 11, 17: 7 };

function clone(o: Outcome): Outcome {
  return { ...o, regs: o.regs.slice(), segs: o.segs.slice(), data: o.data.slice(), stack: o.stack.slice() };
}

/** Only what FakeCpu executes: ADD/OR/AND/SUB/XOR/CMP r32, r32. */
const FAKE_GROUP: Group = {
  name: 'fake-alu',
  weight: 1,
  maxInsns: 6,
  templates: [[1, (b: Builder) => {
    const op = b.rng.pick([0x01, 0x09, 0x21, 0x29, 0x31, 0x39]);
    const dst = b.reg(32, op !== 0x39);
    const src = b.reg(32, false);
    const logic = op === 0x09 || op === 0x21 || op === 0x31;
    b.op({
      opcode: [op], rm: { kind: 'reg', reg: dst }, regField: src, rmWrite: op !== 0x39, reads: bit(src),
      effect: logic ? fx(ARITH & ~AF, AF, ['logicAf']) : fx(ARITH),
    });
  }]],
};

// The host CPU is the reference: skipped, with the reason printed, where it runs no 32-bit code (native.ts).
const onHost = nativeKind() !== null;

describe('native runner', () => {
  const cases = generateCases(7, 0, 6000);
  const nat = onHost ? runNative(cases) : [];

  it.skipIf(!onHost)('is deterministic and reports faults with consistent signals', () => {
    const again = runNative(cases.slice(0, 2000));
    for (let i = 0; i < again.length; i++) expect(compareOutcomes(cases[i]!, nat[i]!, again[i]!)).toEqual([]);
    for (const o of nat) {
      if (o.done) continue;
      const sig = SIGNAL_OF_VECTOR[o.vector];
      expect(sig, `vector ${o.vector}`).toBeDefined();
      expect(o.signo).toBe(sig);
    }
  });

  it.skipIf(!onHost)('runs every group, and the fault groups do fault', () => {
    const seen = new Map<string, { n: number; faults: number }>();
    cases.forEach((c, i) => {
      const s = seen.get(c.group) ?? { n: 0, faults: 0 };
      s.n++;
      if (!nat[i]!.done) s.faults++;
      seen.set(c.group, s);
    });
    for (const g of GROUPS) expect(seen.get(g.name)?.n ?? 0, g.name).toBeGreaterThan(10);
    for (const g of ['traps', 'mem-faults', 'div-idiv', 'bound', 'single-step']) expect(seen.get(g)!.faults, g).toBeGreaterThan(5);
    for (const g of ['add-sub-cmp', 'and-or-xor', 'shift', 'string', 'push-pop']) expect(seen.get(g)!.faults, g).toBe(0);
  });

  it.skipIf(!onHost)('comparator: accepts identical outcomes and flags every kind of corruption', () => {
    let flagged = 0, masked = 0;
    cases.forEach((c, i) => {
      const n = nat[i]!;
      expect(compareOutcomes(c, n, clone(n))).toEqual([]);
      const m = c.built.masks;
      const corrupt = (f: (o: Outcome) => void): number => {
        const e = clone(n);
        f(e);
        return compareOutcomes(c, n, e).length;
      };
      // A compared register bit.
      const r = i % 8;
      const rm = m.regs[r]!;
      if (rm !== 0) {
        expect(corrupt((e) => { e.regs[r] = (e.regs[r]! ^ (rm & -rm)) >>> 0; })).toBeGreaterThan(0);
        flagged++;
      }
      // A compared flag, an uncompared (undefined) flag.
      const fm = n.done ? m.flags : m.faultFlags;
      for (const f of [CF, ZF, AF, 0x800, 0x400, 0x40000]) {
        if ((fm & f) !== 0) expect(corrupt((e) => { e.eflags ^= f; })).toBeGreaterThan(0);
        else if (f !== 0x40000) { expect(corrupt((e) => { e.eflags ^= f; })).toBe(0); masked++; }
      }
      // Segment selectors: any change is flagged, except a null selector's RPL in a data register.
      expect(corrupt((e) => { e.segs[1] = e.segs[1]! ^ 8; })).toBeGreaterThan(0);
      expect(corrupt((e) => { e.segs[3] = e.segs[3]! ^ 4; })).toBeGreaterThan(0);
      const es = n.segs[0]!;
      expect(corrupt((e) => { e.segs[0] = es ^ 1; })).toBe((es & ~3) === 0 ? 0 : 1);
      // Memory, outcome kind, EIP, stray writes, fault details.
      const at = (i * 37) % 256;
      if (m.dataUndef === null || m.dataUndef[at] === 0) expect(corrupt((e) => { e.data[at] = e.data[at]! ^ 0x40; })).toBeGreaterThan(0);
      expect(corrupt((e) => { e.stack[at] = e.stack[at]! ^ 1; })).toBe(m.stackUndef !== null && m.stackUndef[at] === 1 ? 0 : 1);
      expect(corrupt((e) => { e.eip = (e.eip + 1) >>> 0; })).toBeGreaterThan(0);
      expect(corrupt((e) => { e.dataOutsideHash ^= 0x10; })).toBeGreaterThan(0);
      if (n.done) expect(corrupt((e) => { e.done = false; e.vector = 13; })).toBeGreaterThan(0);
      else {
        expect(corrupt((e) => { e.vector = e.vector === 6 ? 13 : 6; })).toBeGreaterThan(0);
        if (n.vector === 14) expect(corrupt((e) => { e.cr2 ^= 0x1000; })).toBeGreaterThan(0);
        if (n.vector === 13 || n.vector === 14) expect(corrupt((e) => { e.errorCode ^= 2; })).toBeGreaterThan(0);
      }
    });
    expect(flagged).toBeGreaterThan(5000);
    expect(masked).toBeGreaterThan(500);
  });

  // Where both runners work (a kernel that runs i386 binaries), the x86-64 one must report exactly what the i386 one does.
  it.skipIf(!onHost || !hostRunsI386())('the x86-64 runner (compatibility mode) agrees with the i386 runner', () => {
    const compat = runBatchWith(nativeRunnerPath('compat'), cases);
    const i386 = runBatchWith(nativeRunnerPath('i386'), cases);
    let differ = 0;
    cases.forEach((c, i) => { if (compareOutcomes(c, i386[i]!, compat[i]!).length > 0) differ++; });
    expect(differ).toBe(0);
  });

  it.skipIf(!onHost)('the stale-flags quirk mask covers only the flags at a trap between iterations of REPE/REPNE CMPS/SCAS', () => {
    const quirk = { staleFlagsOnRepTrap: true };
    const steps = Array.from({ length: 3000 }, (_, id) => generateCase(11, id, groupByName('single-step')));
    const out = runNative(steps);
    let masked = 0, compared = 0;
    steps.forEach((c, i) => {
      const n = out[i]!;
      if (n.vector !== 1) return;
      const flagFlipped = clone(n);
      flagFlipped.eflags ^= CF;
      expect(compareOutcomes(c, n, flagFlipped).length, 'without the quirk every flag is compared').toBeGreaterThan(0);
      if (compareOutcomes(c, n, flagFlipped, quirk).length > 0) { compared++; return; }
      masked++;
      const op = c.code.subarray(n.eip - CODE_BASE - c.codeOffset).find((b) => IS_PREFIX[b] === 0);
      expect([0xa6, 0xa7, 0xae, 0xaf]).toContain(op);
      const countFlipped = clone(n);
      countFlipped.regs[1] = (countFlipped.regs[1]! ^ 1) >>> 0;
      expect(compareOutcomes(c, n, countFlipped, quirk).length, 'registers stay compared').toBeGreaterThan(0);
    });
    expect(masked).toBeGreaterThan(0);
    expect(compared).toBeGreaterThan(masked);
    console.log(`quirk mask: would mask the flags of ${masked} of ${masked + compared} single-step traps; ` +
      `this host ${hostQuirks().staleFlagsOnRepTrap ? 'has' : 'does not have'} the quirk`);
  });

  it('cases are reproducible from (seed, id)', () => {
    for (const i of [0, 17, 999, 4321]) {
      const again = generateCase(7, i, groupOf(i));
      expect(Array.from(again.code)).toEqual(Array.from(cases[i]!.code));
      expect(Array.from(again.regs)).toEqual(Array.from(cases[i]!.regs));
      expect(Array.from(again.data)).toEqual(Array.from(cases[i]!.data));
    }
  });
});

// Against the host CPU, or where that runs no 32-bit code against our interpreter (the harness is what is tested here).
describe('harness end to end with a fake CPU', () => {
  const reference = onHost ? undefined : emulatorReference((h) => new Cpu(h));
  const run = (bug: FakeBug) => runDiff({ seed: 3, count: 3000, factory: (h) => new FakeCpu(h, bug), groups: [FAKE_GROUP], keep: 3, reference });

  it('a correct (tiny) CPU gives no mismatches', () => {
    const s = run('none');
    if (s.mismatches > 0) console.log(s.first.map((m) => formatDiffMismatch(m, 3)).join('\n\n'));
    expect(s.total).toBe(3000);
    expect(s.mismatches).toBe(0);
  });

  it.each<[FakeBug, string]>([['sub-af', 'eflags'], ['xor-keeps-cf', 'eflags'], ['add-wrong-result', '']])('catches a planted bug: %s', (bug, field) => {
    const s = run(bug);
    expect(s.mismatches).toBeGreaterThan(0);
    if (field !== '') expect(s.first[0]!.diffs.map((d) => d.field)).toContain(field);
    expect(formatDiffMismatch(s.first[0]!, 3)).toContain(`code at 0x${CODE_BASE.toString(16).padStart(8, '0')}`);
  });
});
