import { describe, expect, test } from 'vitest';
import { Cpu } from './cpu.ts';
import { StopReason } from './host.ts';
import { warmUpBlockTier, warmUpInterpreter, BLOCK_WARM_UP_END, WARM_UP_END } from './warmup.ts';

/**
 * The warm-up program is hand-assembled bytes. A wrong byte would not fail
 * anything visible: the pass would stop at an early fault and the paths
 * after it would simply stay cold (and deoptimise execute() in the boot).
 * So every pass must end where the program ends: #UD at its last UD2.
 */
describe('interpreter warm-up program', () => {
  test('every pass runs to the final UD2, in flat, limited and wide-address passes', () => {
    const ends: { stop: StopReason; vector: number; eip: number }[] = [];
    warmUpInterpreter((host) => {
      const cpu = new Cpu(host);
      const run = cpu.run.bind(cpu);
      cpu.run = (budget: number): StopReason => {
        const stop = run(budget);
        if (budget > 10) ends.push({ stop, vector: cpu.exceptionVector, eip: cpu.getEip() >>> 0 });
        return stop;
      };
      return cpu;
    });
    // 10 passes at CS base 0 (8 flat, 2 with 1 MiB data segments), then 4 at CS base 0x40000000 and EIP 0xC001xxxx.
    expect(ends).toHaveLength(14);
    ends.forEach((end, pass) => {
      const eip = pass < 10 ? WARM_UP_END : (WARM_UP_END + 0xc0000000) >>> 0;
      expect({ pass, ...end }).toEqual({ pass, stop: StopReason.Exception, vector: 6, eip });
    });
  });
});

describe('block tier warm-up program', () => {
  test('runs its 24 loops to the final UD2 through decoded blocks, including an invalidation', () => {
    let cpu: Cpu | undefined;
    warmUpBlockTier((host) => {
      cpu = new Cpu(host);
      cpu.setBlockTier(true, { warmup: 0 }); // as prewarmInterpreter() runs it
      return cpu;
    });
    expect(cpu!.exceptionVector).toBe(6);
    expect(cpu!.getEip() >>> 0).toBe(BLOCK_WARM_UP_END);
    expect(cpu!.getReg32(5)).toBe(0); // EBP: the loop counter ran down
    const stats = cpu!.blocks!.stats;
    expect(stats.built).toBeGreaterThan(20);
    expect(stats.invalidations).toBeGreaterThan(0);
  });
});
