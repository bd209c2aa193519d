/**
 * Random byte streams (seeded) at CPL 0 and CPL 3 must never make Cpu.run()
 * throw a JavaScript exception: guest faults are the CPU's business, a host
 * exception is a CPU bug. TABVISOR_FUZZ=N runs N million streams with a
 * random (printed) seed instead of the fixed CI sample.
 */
import { describe, expect, it } from 'vitest';
import { Cpu, disassemble } from '../index.ts';
import { type FuzzFailure } from './test-support/fuzz-machine.ts';
import { fuzz } from './test-support/fuzz-run.ts';
import { CODE_BASE } from './test-support/format.ts';
import { hex } from './test-support/compare.ts';

const CI_SEED = 0xf022;
const CI_STREAMS = 200_000;

function describeFailure(f: FuzzFailure, seed: number): string {
  const lines = [`stream ${f.stream} (seed ${seed}) at CPL ${f.ring}: ${f.error.split('\n').slice(0, 4).join('\n    ')}`];
  lines.push(`  bytes: ${Array.from(f.bytes, (b) => b.toString(16).padStart(2, '0')).join(' ')}`);
  lines.push(`  regs: ${Array.from(f.regs, (r) => hex(r)).join(' ')} eflags=${hex(f.eflags)}`);
  let off = 0;
  for (let k = 0; k < 12 && off < f.bytes.length; k++) {
    let text: string;
    let len: number;
    try {
      const d = disassemble(f.bytes, off, true, CODE_BASE + off);
      text = d.text;
      len = Math.max(1, d.length);
    } catch (e) {
      text = `(disassembler error: ${String(e)})`;
      len = 1;
    }
    lines.push(`    ${hex(CODE_BASE + off)}  ${Array.from(f.bytes.subarray(off, off + len), (b) => b.toString(16).padStart(2, '0')).join(' ').padEnd(36)} ${text}`);
    off += len;
  }
  return lines.join('\n');
}

describe('CPU fuzz: random instruction streams', () => {
  const soak = Number(process.env['TABVISOR_FUZZ'] ?? '0');
  const seed = soak > 0 ? Number(process.env['TABVISOR_FUZZ_SEED'] ?? String(Date.now() >>> 0)) : CI_SEED;
  const streams = soak > 0 ? Math.round(soak * 1_000_000) : CI_STREAMS;

  it(`${streams} streams at CPL 0 and CPL 3 never throw a host exception`, () => {
    const t = performance.now();
    const { failures, count, m } = fuzz(seed, streams);
    console.log(`fuzz seed ${seed}: ${count} streams in ${((performance.now() - t) / 1000).toFixed(1)} s, ${m.retired} instructions retired, ${failures.length} host exceptions`);
    console.log(`  stops: ${[...m.stops].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    if (failures.length > 0) {
      console.log(failures.slice(0, 20).map((f) => describeFailure(f, seed)).join('\n\n'));
    }
    expect(failures.length).toBe(0);
    expect(m.retired).toBeGreaterThan(streams); // the streams do execute
  }, 24 * 3600_000);

  it('self-check: a host exception inside the CPU is caught and reported', () => {
    // Port I/O that throws: ring-0 IN/OUT/INS/OUTS streams must surface as failures.
    const { failures } = fuzz(1, 3000, (h) => {
      h.ioRead = () => { throw new Error('planted host failure'); };
      h.ioWrite = () => { throw new Error('planted host failure'); };
      return new Cpu(h);
    });
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0]!.error).toContain('planted host failure');
    expect(describeFailure(failures[0]!, 1)).toContain('bytes:');
  });
});
