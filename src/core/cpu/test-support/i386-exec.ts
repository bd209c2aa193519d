/**
 * Whether this host can run the i386 Linux binaries that are the differential
 * tests' reference (diff/test-support/native-runner.c,
 * fpu/test-support/x87-native.c).
 *
 * Any x86-64 Linux with IA-32 emulation runs them on the host CPU. Some
 * kernels refuse them: `ia32_emulation=off`, or a hypervisor whose guests run
 * 64-bit user code only (the machine of 2026-11-27: "IA-32 emulation off",
 * no 32-bit code segment in the GDT, so not even a far jump to compatibility
 * mode works). execve then fails with ENOEXEC, and Node's spawn, through
 * execvp, hands the binary to /bin/sh.
 *
 * There the tests that need the real CPU in 32-bit mode (the integer
 * differential test) are skipped, visibly and with this reason, rather than
 * run against a stand-in: qemu-i386 was tried, and in 6,086 of the 28,160 x87
 * cases it disagreed with our core, which matches the host FPU bit for bit; it
 * cannot serve as the bit-exact reference. (The x87 oracle needs no i386
 * process: it is built as an x86-64 binary.)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PROBE_SOURCE = '#include <stdio.h>\nint main(void) { puts("i386 ok"); return 0; }\n';
const PROBE_OUTPUT = 'i386 ok\n';

export const NO_I386_REASON =
  'this host\'s kernel does not run i386 binaries (execve gives ENOEXEC), so there is no real CPU to compare with';

let cached: boolean | undefined;

function buildProbe(): string {
  const dir = join(tmpdir(), 'tabvisor-i386-probe');
  const exe = join(dir, 'probe');
  if (existsSync(exe)) return exe;
  mkdirSync(dir, { recursive: true });
  const source = join(dir, `probe.${process.pid}.c`);
  const tmp = `${exe}.${process.pid}.tmp`;
  writeFileSync(source, PROBE_SOURCE);
  const r = spawnSync('gcc', ['-m32', '-static', '-o', tmp, source], { encoding: 'utf8' });
  rmSync(source, { force: true });
  if (r.error !== undefined || r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`cannot build an i386 binary with "gcc -m32 -static" (install gcc-multilib): ${r.error?.message ?? ''}\n${r.stderr ?? ''}`);
  }
  renameSync(tmp, exe); // atomic: parallel test workers may race here
  return exe;
}

/**
 * True when an i386 static binary runs here. Throws when none can even be
 * built (a missing toolchain is an install problem, not a host limit).
 */
export function hostRunsI386(): boolean {
  if (cached !== undefined) return cached;
  if (process.arch !== 'x64' && process.arch !== 'ia32') return (cached = false);
  const r = spawnSync(buildProbe(), [], { encoding: 'utf8', timeout: 30_000 });
  cached = r.error === undefined && r.status === 0 && r.stdout === PROBE_OUTPUT;
  if (!cached) console.warn(`i386 reference unavailable: ${NO_I386_REASON}; the tests against the real CPU are skipped`);
  return cached;
}
