/**
 * The workloads run natively: the same i386 busybox and tvb-* binaries as the
 * guest's, executed by the host kernel, each command through the i386
 * busybox sh in a tmpfs directory (like the guest's /tmp) when /dev/shm
 * exists. Timed from spawning the shell to its exit.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SETUP_COMMAND, type Workload } from './definitions.ts';
import type { GuestRun, WorkloadSample } from './results.ts';

function runShell(nativeBin: string, cwd: string, command: string): WorkloadSample {
  const t0 = performance.now();
  const r = spawnSync(join(nativeBin, 'sh'), ['-c', command], {
    cwd,
    env: { PATH: nativeBin, HOME: cwd, LC_ALL: 'C' },
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  const ms = performance.now() - t0;
  if (r.error) throw new Error(`native ${command}: ${r.error.message}`);
  const output = `${r.stdout}${r.stderr}`.split('\n').map((l) => l.trimEnd()).join('\n').trim();
  return { ms, output, status: r.status ?? -1 };
}

/** One pass: make the inputs in a fresh directory, then every workload once. */
export function runNativeOnce(nativeBin: string, workloads: readonly Workload[]): GuestRun {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tvb-native-'));
  try {
    const setup = runShell(nativeBin, dir, SETUP_COMMAND);
    if (setup.status !== 0) throw new Error(`native: making the inputs failed: ${setup.output}`);
    const samples: Record<string, WorkloadSample> = {};
    for (const w of workloads) samples[w.id] = runShell(nativeBin, dir, w.command);
    return { setupMs: setup.ms, samples };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
