/**
 * One run of the guest workloads on our emulator in this Node process (a
 * fresh process per run, real-time clock as `npm run vm` runs it): boots the
 * default bzImage with the benchmark initramfs, makes the inputs, runs each
 * workload once over the serial console and prints one JSON line (GuestRun).
 *
 *   node --import tsx bench/workloads/ours-node.ts --initrd FILE [--jit] [--ram MiB] [--workloads id,id]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Machine } from '../../src/core/machine.ts';
import { prepareInitrd } from '../../src/core/boot/initrd.ts';
import { jitStatsOf, machineOptionsFor } from '../our-variants.ts';
import { findWorkload, GUEST_PREPARE_COMMAND, SETUP_COMMAND } from './definitions.ts';
import type { GuestRun, WorkloadSample } from './results.ts';
import { SerialDriver } from './serial-driver.ts';

const { values } = parseArgs({
  options: {
    initrd: { type: 'string' },
    jit: { type: 'boolean', default: false },
    ram: { type: 'string', default: '128' },
    workloads: { type: 'string', default: '' },
  },
});
if (!values.initrd) throw new Error('--initrd is required');
const images = new URL('../../public/images/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', images), 'utf8')) as { defaultCmdline: string };
const workloads = values.workloads.split(',').filter(Boolean).map(findWorkload);
const SLICE_MS = 20;

const t0 = performance.now();
const machine = new Machine(machineOptionsFor({ ramBytes: Number(values.ram) << 20 }, { jit: values.jit }));
const pendingInput: number[] = [];
const driver = new SerialDriver({
  write: (text) => { for (const c of new TextEncoder().encode(text)) pendingInput.push(c); },
  matched: () => machine.stop(),
  async pump() {
    if (pendingInput.length) pendingInput.splice(0, machine.uart0.receive(Uint8Array.from(pendingInput)));
    const r = machine.runSlice(Number.MAX_SAFE_INTEGER, SLICE_MS);
    if (r.stop === 'halted') {
      // Idle until the next timer event, as the CLI does.
      await new Promise((resolve) => setTimeout(resolve, Math.min(SLICE_MS, r.sleepNs / 1e6)));
    } else if (r.stop !== 'budget' && r.stop !== 'stopped') {
      throw new Error(`the guest stopped (${r.stop} ${machine.shutdownReason})\n${driver.text.slice(-2000)}`);
    }
  },
});
machine.onSerialOutput = (b) => driver.append(String.fromCharCode(b));
machine.bootLinux({
  kernel: new Uint8Array(readFileSync(new URL('bzImage', images))),
  initrd: await prepareInitrd(new Uint8Array(readFileSync(values.initrd))),
  cmdline: manifest.defaultCmdline,
});
const bootMs = (await driver.waitForPrompt(120_000, 'boot')) - t0;

const setup = await driver.run(`${GUEST_PREPARE_COMMAND} && ${SETUP_COMMAND}`, 600_000);
if (setup.status !== 0) throw new Error(`making the inputs failed (status ${setup.status}): ${setup.output}`);
const samples: Record<string, WorkloadSample> = {};
for (const w of workloads) {
  samples[w.id] = await driver.run(w.command, 1_800_000);
  const stats = jitStatsOf(machine) as Partial<Record<string, number>> | null | undefined;
  // The JIT's counters so far: a later workload's slowdown often shows here first (flushes, rebuilds).
  const counters = stats ? ` (compiled ${stats.compiled}, live ${stats.live}, flushes ${stats.flushes}, rebuilds ${stats.rebuilds}, block runs ${stats.blockRuns})` : '';
  process.stderr.write(` ${w.id} ${(samples[w.id]!.ms / 1000).toFixed(1)} s${counters}\n`);
}
const jitStats = jitStatsOf(machine);
// A JIT row that ran on the interpreter alone would be a fake figure.
if (values.jit && (jitStats === null || jitStats === undefined)) throw new Error('the JIT was asked for but did not run (machine.jitStats is null)');
machine.release();
const run: GuestRun = { bootMs, setupMs: setup.ms, samples, ...(values.jit && { jitStats }) };
console.log(JSON.stringify(run));
