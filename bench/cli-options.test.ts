import { describe, expect, it } from 'vitest';
import { parseBenchArgs, PARTS } from './cli-options.ts';

describe('npm run bench arguments', () => {
  it('runs every part 5 times by default', () => {
    const o = parseBenchArgs([]);
    expect([...o.parts]).toEqual([...PARTS]);
    expect(o.runs).toBe(5);
  });
  it('selects parts and groups, runs and workloads', () => {
    expect([...parseBenchArgs(['peers']).parts]).toEqual(['qemu', 'v86', 'chromium']);
    const o = parseBenchArgs(['workloads', 'native', '--runs', '3', '--workloads', 'c-int,sort']);
    expect([...o.parts]).toEqual(['workloads', 'native']);
    expect(o.runs).toBe(3);
    expect(o.workloads).toEqual(['c-int', 'sort']);
    expect(parseBenchArgs(['cpu'], { BENCH_RUNS: '7' }).runs).toBe(7);
  });
  it('chooses our variants', () => {
    expect(parseBenchArgs([]).variants).toBe('both');
    expect(parseBenchArgs(['workloads', '--variants', 'jit']).variants).toBe('jit');
    expect(() => parseBenchArgs(['--variants', 'fast'])).toThrow(/both, interpreter or jit/);
  });
  it('--quick means single runs', () => {
    expect(parseBenchArgs(['--quick', 'guest']).runs).toBe(1);
  });
  it('refuses unknown parts and bad counts', () => {
    expect(() => parseBenchArgs(['wrokloads'])).toThrow(/unknown argument "wrokloads"/);
    expect(() => parseBenchArgs(['--runs', '0'])).toThrow(/positive integer/);
  });
});
