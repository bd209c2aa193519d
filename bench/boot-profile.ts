/**
 * Where the guest spends its boot: samples the guest EIP every ~1,000
 * instructions from reset to the shell prompt and attributes each sample to a
 * kernel function (System.map of the kernel build) or to user space. This is
 * how the SLOB allocator and the unseeded-RNG cost were found (see
 * scripts/image/kernel.config).
 *
 *   node --import tsx bench/boot-profile.ts [System.map] [top N]
 *
 * System.map defaults to the kernel build tree of scripts/image/build-kernel.sh
 * (/tmp/tabvisor-build/linux-source-6.1/System.map); it must belong to the
 * bzImage in public/images.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Machine } from '../src/core/machine.ts';
import { bootDefaultImage } from './default-image.ts';

const mapPath = process.argv[2] ?? '/tmp/tabvisor-build/linux-source-6.1/System.map';
const top = Number(process.argv[3] ?? 30);
if (!existsSync(mapPath)) {
  console.error(`boot-profile: no System.map at ${mapPath} (build the kernel with scripts/image/build-kernel.sh, or pass its path)`);
  process.exit(1);
}
const PAGE_OFFSET = 0xc0000000;
const symbols = readFileSync(mapPath, 'utf8')
  .split('\n')
  .map((line) => line.split(' '))
  .filter((f) => f.length === 3 && /^[tTwW]$/.test(f[1]!))
  .map((f) => ({ address: parseInt(f[0]!, 16), name: f[2]! }))
  .sort((a, b) => a.address - b.address);

function symbolAt(eip: number): string {
  const a = eip >>> 0;
  if (a < PAGE_OFFSET) return '(user space)';
  let lo = 0;
  let hi = symbols.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (symbols[mid]!.address <= a) lo = mid;
    else hi = mid - 1;
  }
  return symbols[lo]!.name;
}

const machine = new Machine({ ramBytes: 64 << 20 });
let serial = '';
machine.onSerialOutput = (b) => { serial += String.fromCharCode(b); };
await bootDefaultImage(machine);
const counts = new Map<string, number>();
let samples = 0;
// An odd slice length so samples do not lock onto loops of a fixed period.
while (!serial.includes('~# ')) {
  const r = machine.runSlice(997, 50);
  const name = symbolAt(machine.cpu.eipStart);
  counts.set(name, (counts.get(name) ?? 0) + 1);
  samples++;
  if (r.stop === 'halted') await new Promise((resolve) => setTimeout(resolve, Math.min(50, r.sleepNs / 1e6)));
  else if (r.stop !== 'budget') throw new Error(`boot stopped: ${r.stop}`);
}
console.log(`${machine.cpu.instructionsRetired} instructions to the prompt, ${samples} samples`);
for (const [name, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${(100 * n / samples).toFixed(1).padStart(5)}%  ${name}`);
}
