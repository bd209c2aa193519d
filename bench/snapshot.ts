/**
 * Snapshot of the booted default VM in this Node process (real-time clock, as
 * `npm run vm` runs it): boots to the prompt, takes a snapshot, releases the
 * machine, restores the snapshot into a fresh one and types a command.
 * Prints JSON with
 *   sizeBytes       the snapshot file (compressed)
 *   saveMs          captureSnapshot: state + present pages copied, deflated
 *   restoreMs       restoreSnapshot: checked, inflated, machine built (RAM lazy)
 *   firstCommandMs  from the end of the restore until the guest has answered `echo`
 * plus the page counts behind them. Not a test; bench/main.ts can run it per sample.
 */
import { readFileSync } from 'node:fs';
import { Machine } from '../src/core/machine.ts';
import { bootDefaultImage } from './default-image.ts';
import { captureSnapshot, restoreSnapshot } from '../src/core/snapshot/machine-snapshot.ts';

const images = new URL('../public/images/', import.meta.url);
const PROMPT = 'root@tabvisor:~# ';

/** Runs a real-time machine until `done()`, sleeping while the guest idles (as the CLI does). */
async function runUntil(machine: Machine, done: () => boolean, what: string, log: () => string): Promise<void> {
  const t0 = performance.now();
  while (!done()) {
    const r = machine.runSlice(Number.MAX_SAFE_INTEGER, 20);
    if (r.stop === 'halted') await new Promise((resolve) => setTimeout(resolve, Math.min(20, r.sleepNs / 1e6)));
    else if (r.stop !== 'budget') throw new Error(`${what}: the guest stopped (${r.stop})\n${log().slice(-2000)}`);
    if (performance.now() - t0 > 120_000) throw new Error(`${what}: not done after 120 s\n${log().slice(-2000)}`);
  }
}

const manifest = JSON.parse(readFileSync(new URL('manifest.json', images), 'utf8')) as { defaultCmdline: string; files: Array<{ name: string; sha256: string }> };
const original = new Machine({ ramBytes: 64 << 20 });
let serial = '';
original.onSerialOutput = (b) => { serial += String.fromCharCode(b); };
await bootDefaultImage(original);
await runUntil(original, () => serial.includes(PROMPT), 'boot', () => serial);

const t0 = performance.now();
const file = await captureSnapshot(original, { images: manifest.files.map((f) => ({ name: f.name, sha256: f.sha256, role: f.name === 'bzImage' ? 'kernel' : 'initrd' })) });
const saveMs = performance.now() - t0;
const pages = original.memory.presentPages().length;
original.release();

const t1 = performance.now();
const restored = await restoreSnapshot(file);
const restoreMs = performance.now() - t1;
let answer = '';
restored.onSerialOutput = (b) => { answer += String.fromCharCode(b); };
const t2 = performance.now();
restored.uart0.receive(new TextEncoder().encode('echo "snap""shot-ok"\n'));
const answered = new RegExp(`snapshot-ok\r?\n[^]*${PROMPT}`);
await runUntil(restored, () => answered.test(answer), 'first command', () => answer);
const firstCommandMs = performance.now() - t2;

console.log(JSON.stringify({
  sizeBytes: file.length,
  saveMs,
  restoreMs,
  firstCommandMs,
  presentPages: pages,
  framesAfterFirstCommand: restored.memory.residentFrames,
}));
restored.release();
