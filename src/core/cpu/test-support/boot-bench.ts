/**
 * Developer tool: boots the default image (public/images) with the Machine to
 * the busybox prompt and reports wall time, guest instructions and how much
 * of the wall time the guest spent idle (halted, waiting for a timer).
 *
 *   node --import tsx src/core/cpu/test-support/boot-bench.ts [realtime|instructions] [runs]
 *
 * The real-time mode mimics the CLI runner (src/cli/runner.ts): 20 ms slices,
 * sleeping while the guest halts. Bundle it with esbuild for browser-like numbers.
 */
import { readFileSync } from 'node:fs';
import { Machine } from '../../machine.ts';
import { prepareInitrd } from '../../boot/initrd.ts';

const mode = process.argv[2] === 'instructions' ? 'instructions' : 'realtime';
const runs = Number(process.argv[3] ?? 3);
const images = process.env.TABVISOR_IMAGES ?? new URL('../../../../public/images/', import.meta.url).pathname;

async function bootOnce(): Promise<void> {
  const kernel = new Uint8Array(readFileSync(images + 'bzImage'));
  const initrd = await prepareInitrd(new Uint8Array(readFileSync(images + 'initramfs.cpio.gz')));
  const m = new Machine({
    ramBytes: 64 * 1024 * 1024,
    clock: mode === 'instructions' ? { mode: 'instructions' } : undefined,
  });
  let serial = '';
  m.onSerialOutput = (b) => (serial += String.fromCharCode(b));
  m.bootLinux({ kernel, initrd, cmdline: 'console=ttyS0 tsc=reliable panic=-1' });
  const t0 = performance.now();
  let idleMs = 0;
  let halts = 0;
  let slices = 0;
  const cpu0 = process.cpuUsage();
  const marks: string[] = [];
  for (;;) {
    const r = m.runSlice(Number.MAX_SAFE_INTEGER, 20);
    slices++;
    const k = serial.indexOf('Run /init');
    if (k >= 0 && serial.slice(k).includes('# ')) break;
    if (r.stop === 'halted') {
      halts++;
      const ms = Math.min(100, r.sleepNs / 1e6);
      if (ms > 0.05) {
        const s = performance.now();
        await new Promise<void>((resolve) => setTimeout(resolve, ms));
        idleMs += performance.now() - s;
      }
    } else if (r.stop !== 'budget') {
      throw new Error(`stopped: ${r.stop}\n${serial}`);
    }
    if (marks.length === 0 && serial.includes('Freeing unused kernel')) marks.push(`freeing@${(performance.now() - t0).toFixed(0)}ms`);
  }
  const ms = performance.now() - t0;
  const u = process.cpuUsage(cpu0);
  const insns = m.cpu.instructionsRetired;
  console.log(
    `${mode}: prompt after ${ms.toFixed(0)} ms wall (cpu ${((u.user + u.system) / 1000).toFixed(0)} ms), ` +
      `${(insns / 1e6).toFixed(1)} M instructions, idle ${idleMs.toFixed(0)} ms in ${halts} halts, ${slices} slices, ` +
      `busy MIPS ${(insns / (ms - idleMs) / 1000).toFixed(1)} ${marks.join(' ')}`,
  );
  if (process.env.BOOT_LOG) console.log(serial);
  m.release();
}

for (let i = 0; i < runs; i++) await bootOnce();
