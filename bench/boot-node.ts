/**
 * One cold boot of the default image in this Node process, real-time clock
 * (as `npm run vm` runs it): prints JSON with the wall time from machine
 * creation to the shell prompt and the guest instructions retired.
 * Run by bench/main.ts in a fresh process per sample.
 */
import { Machine } from '../src/core/machine.ts';
import { bootDefaultImage } from './default-image.ts';

const PROMPT = 'root@tabvisor:~# ';

const t0 = performance.now();
// argv[2] = 'jit': with the JIT; argv[3]: visits that make code hot (default: the JIT's own).
const machine = new Machine({ ramBytes: 64 << 20, jit: process.argv[2] === 'jit' ? (process.argv[3] !== undefined ? { threshold: Number(process.argv[3]) } : true) : false });
let serial = '';
machine.onSerialOutput = (b) => { serial += String.fromCharCode(b); };
await bootDefaultImage(machine);
let haltedMs = 0;
while (!serial.includes(PROMPT)) {
  const r = machine.runSlice(Number.MAX_SAFE_INTEGER, 50);
  if (r.stop === 'halted') {
    // Idle until the next timer event, as the CLI does (busy-wait-free).
    const ms = Math.min(50, r.sleepNs / 1e6);
    const h0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, ms));
    haltedMs += performance.now() - h0;
  } else if (r.stop !== 'budget') {
    throw new Error(`boot stopped: ${r.stop}\n${serial.slice(-2000)}`);
  }
  if (performance.now() - t0 > 120_000) throw new Error(`no prompt after 120 s\n${serial.slice(-2000)}`);
}
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, haltedMs, instructions: machine.cpu.instructionsRetired, jit: machine.jitStats }));
