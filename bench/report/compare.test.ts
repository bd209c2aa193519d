import { describe, expect, it } from 'vitest';
import { summarize } from '../stats.ts';
import type { Workload } from '../workloads/definitions.ts';
import type { GuestRun } from '../workloads/results.ts';
import { compare, detailTable, medianRatio, ratioTables, type EngineResult } from './compare.ts';
import { formatMs, formatNumber, formatRatio, formatTable } from './table.ts';

const W: Workload[] = [
  { id: 'a', label: 'workload A', kind: 'c', command: 'a' },
  { id: 'z', label: 'zeros', kind: 'busybox', command: 'z', expected: 'zero-sum' },
];
const run = (bootMs: number | undefined, a: number, z: number, out = 'A1', zOut = 'zero-sum'): GuestRun => ({
  ...(bootMs !== undefined && { bootMs }),
  setupMs: 1,
  samples: { a: { ms: a, output: out, status: 0 }, z: { ms: z, output: zOut, status: 0 } },
});
const engines: EngineResult[] = [
  { id: 'native', kind: 'native', label: 'native', runs: [run(undefined, 10, 1), run(undefined, 12, 2), run(undefined, 11, 3)] },
  { id: 'ours', kind: 'ours', label: 'ours', runs: [run(900, 1000, 40), run(1100, 1300, 50), run(1000, 1200, 60)] },
  { id: 'v86', kind: 'v86', label: 'v86', runs: [run(2000, 400, 20), run(2200, 500, 20, 'A2'), run(2100, 600, 20)] },
  { id: 'jit', kind: 'ours', label: 'ours JIT', unavailable: 'not available: no jit option', runs: [] },
];

describe('summarize', () => {
  it('gives the median (mean of the middle two for even counts), min, max and count', () => {
    expect(summarize([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, runs: 3 });
    expect(summarize([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4, runs: 4 });
    expect(() => summarize([])).toThrow(/no samples/);
  });
});

describe('compare', () => {
  const c = compare(engines, W);

  it('summarises every measured engine per workload and boot', () => {
    expect(c.cells.get('ours')!.get('a')!.summary).toEqual({ median: 1200, min: 1000, max: 1300, runs: 3 });
    expect(c.cells.get('ours')!.get('boot')!.summary.median).toBe(1000);
    expect(c.cells.get('native')!.has('boot')).toBe(false);
    expect(c.cells.has('jit')).toBe(false);
  });

  it('checks each sample against the native output and flags a differing one', () => {
    expect(c.reference).toEqual({ a: 'A1', z: 'zero-sum' });
    expect(c.cells.get('ours')!.get('a')!.verified).toBe(true);
    expect(c.cells.get('v86')!.get('a')!.verified).toBe(false);
    expect(c.problems).toEqual(['v86: a: printed "A2", natively "A1"']);
  });

  it('divides medians for ratios, and has none when an engine is missing', () => {
    expect(medianRatio(c, 'a', 'ours', 'native')).toBeCloseTo(1200 / 11);
    expect(medianRatio(c, 'a', 'ours', 'v86')).toBeCloseTo(1200 / 500);
    expect(medianRatio(c, 'boot', 'ours', 'v86')).toBeCloseTo(1000 / 2100);
    expect(medianRatio(c, 'a', 'ours', 'qemu')).toBeUndefined();
    expect(medianRatio(c, 'boot', 'ours', 'native')).toBeUndefined();
  });

  it('prints the detail table with verdicts and the unavailable engines with their reason', () => {
    const text = detailTable(c, engines, W);
    expect(text).toMatch(/^workload A +native +11\.0 ms +10\.0 ms +12\.0 ms +3 +ok$/m);
    expect(text).toMatch(/^ +v86 +500 ms +400 ms +600 ms +3 +WRONG$/m);
    expect(text).toMatch(/^boot to prompt +ours +1\.00 s +900 ms +1\.10 s +3$/m);
    expect(text).toContain('ours JIT: not available: no jit option');
  });

  it('prints one ratio table per measured variant of ours', () => {
    const text = ratioTables(c, engines, W);
    expect(text).toContain('ours = ours\n');
    expect(text).not.toContain('ours = ours JIT');
    expect(text).toMatch(/^workload A +109× +2\.40× +45\.5×$/m);
    expect(text).toMatch(/^zeros +25\.0× +2\.50× +10\.0×$/m);
  });
});

describe('table formatting', () => {
  it('aligns columns', () => {
    expect(formatTable([{ title: 'n' }, { title: 'v', align: 'right' }], [['ab', '1'], ['c', '234']])).toBe('n     v\n--  ---\nab    1\nc   234');
  });
  it('formats figures with about three digits', () => {
    expect([formatNumber(1234.5), formatNumber(12.345), formatNumber(1.2345)]).toEqual(['1235', '12.3', '1.23']);
    expect([formatMs(950), formatMs(1500), formatMs(123_456)]).toEqual(['950 ms', '1.50 s', '123 s']);
    expect([formatRatio(3.14159), formatRatio(undefined)]).toEqual(['3.14×', '']);
  });
});
