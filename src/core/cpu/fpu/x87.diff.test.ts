/**
 * Differential test: every generated case runs on the host's x87 (through
 * test-support/x87-native.c) and on our X87, and the FNSAVE images, memory
 * operands and EFLAGS must agree (status-word bits the SDM leaves undefined
 * are masked by the native program; transcendentals are checked against
 * Math.* at double precision instead of bit-for-bit).
 *
 * CI: a fixed seed, ~25,000 cases. Soak: TABVISOR_SOAK=1 (optionally
 * TABVISOR_SOAK_CASES=n, TABVISOR_SOAK_SEED=s) runs many more.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Case, Rng, caseLine, genCase, opSpecs, parseNative, runEmulated } from './test-support/diff-cases.ts';
import { compareObserved } from './test-support/diff-compare.ts';
import { type NativeOracle, ORACLE_MEM_RM, buildNativeOracle } from './test-support/native.ts';

const soak = process.env.TABVISOR_SOAK === '1';
const PER_OP = soak ? Number(process.env.TABVISOR_SOAK_CASES ?? 20000) : 220;
const SEED = soak ? Number(process.env.TABVISOR_SOAK_SEED ?? Date.now() & 0x7fffffff) : 0x5eed87;

let oracle: NativeOracle | null = null;
let buildError: Error | null = null;

beforeAll(() => {
  if (process.arch !== 'x64' && process.arch !== 'ia32') {
    buildError = new Error(`the x87 differential test needs an x86 host (this is ${process.arch})`);
    return;
  }
  try { oracle = buildNativeOracle(); } catch (e) { buildError = e as Error; }
});
afterAll(() => oracle?.dispose());

describe('x87 against the host FPU', () => {
  test(`${opSpecs().length} instructions × ${PER_OP} cases (seed ${SEED})`, () => {
    if (buildError) throw buildError;
    const rng = new Rng(SEED);
    const cases: Case[] = [];
    const only = process.env.TABVISOR_X87_OPS ? new RegExp(process.env.TABVISOR_X87_OPS) : null;
    for (const op of opSpecs()) if (!only || only.test(op.name)) for (let k = 0; k < PER_OP; k++) cases.push(genCase(rng, op));
    const failures: string[] = [];
    const perOp = new Map<string, number>();
    const CHUNK = 50000;
    for (let start = 0; start < cases.length; start += CHUNK) {
      const chunk = cases.slice(start, start + CHUNK);
      const out = oracle!.run(chunk.map(caseLine));
      chunk.forEach((c, i) => {
        const diff = compareObserved(c, parseNative(out[i]!), runEmulated(c, ORACLE_MEM_RM));
        if (diff) {
          failures.push(diff);
          perOp.set(c.op.name, (perOp.get(c.op.name) ?? 0) + 1);
        }
      });
    }
    if (failures.length > 0) {
      const summary = [...perOp].map(([k, v]) => `${k}: ${v}`).join('\n');
      throw new Error(`${failures.length} of ${cases.length} cases differ\n${summary}\n\nfirst ones:\n${failures.slice(0, Number(process.env.TABVISOR_X87_SHOW ?? 40)).join('\n')}`);
    }
    expect(cases.length).toBeGreaterThanOrEqual(soak || only ? 0 : 20000);
  });
});
