/**
 * QEMU TCG (Debian's qemu-system-i386, software translation) as the native
 * emulator reference: one fresh QEMU process per run, serial console on its
 * stdio, the same guest, commands and markers as our emulator. Boot time is
 * from spawning QEMU to the prompt (SeaBIOS, the kernel's own decompressor
 * and initramfs unpacking included).
 */
import { execFileSync, spawn } from 'node:child_process';
import type { BenchImage } from './bench-image.ts';
import { GUEST_PREPARE_COMMAND, SETUP_COMMAND, type Workload } from './definitions.ts';
import type { GuestRun, WorkloadSample } from './results.ts';
import { SerialDriver } from './serial-driver.ts';

export const QEMU = 'qemu-system-i386';

export function qemuVersion(): string {
  return execFileSync(QEMU, ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
}

export async function runQemuOnce(image: BenchImage, workloads: readonly Workload[], ramMiB = 128): Promise<GuestRun> {
  const t0 = performance.now();
  const child = spawn(QEMU, [
    '-accel', 'tcg', '-cpu', 'pentium2', '-m', String(ramMiB),
    '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-parallel', 'none',
    '-no-reboot', '-nic', 'none',
    '-kernel', image.kernel, '-initrd', image.initrd, '-append', image.cmdline,
  ], { stdio: ['pipe', 'pipe', 'pipe'] });
  let wake: (() => void) | undefined;
  let exited: string | undefined;
  let stderr = '';
  const driver = new SerialDriver({
    write: (text) => { child.stdin.write(text); },
    pump: () => new Promise<void>((resolve) => {
      if (exited) throw new Error(`QEMU exited (${exited}): ${stderr.trim()}`);
      wake = resolve;
      setTimeout(resolve, 200);
    }),
  });
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (chunk: string) => { driver.append(chunk); wake?.(); });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  child.on('exit', (code, signal) => { exited = `code ${code}, signal ${signal}`; wake?.(); });
  try {
    const promptAt = await driver.waitForPrompt(60_000, 'QEMU boot').catch((e: unknown) => {
      throw new Error(`${e instanceof Error ? e.message : String(e)}\nQEMU stderr: ${stderr.trim().slice(-300) || '(empty)'}`);
    });
    const bootMs = promptAt - t0;
    const setup = await driver.run(`${GUEST_PREPARE_COMMAND} && ${SETUP_COMMAND}`, 600_000);
    if (setup.status !== 0) throw new Error(`QEMU: making the inputs failed: ${setup.output}`);
    const samples: Record<string, WorkloadSample> = {};
    for (const w of workloads) samples[w.id] = await driver.run(w.command, 1_800_000);
    return { bootMs, setupMs: setup.ms, samples };
  } finally {
    child.kill('SIGKILL');
  }
}
