/**
 * Whether this host runs i386 Linux binaries: the first choice of the
 * integer differential test's native runner (diff/test-support/native.ts)
 * and what the benchmark's native workloads need (whole i386 programs).
 *
 * Any x86-64 Linux with IA-32 emulation runs them on the host CPU. Some
 * kernels refuse them (`ia32_emulation=off`; this project's machines from
 * 2026-11-27 until the kernel changed, seen running them again on
 * 2026-11-29): execve then fails with ENOEXEC, and Node's spawn, through
 * execvp, hands the binary to /bin/sh. The differential runner then tries
 * its x86-64 build, which runs the snippets in compatibility mode where the
 * kernel keeps its 32-bit user code segment; the benchmark's native column
 * has no substitute.
 *
 * Nothing else stands in for the real CPU: qemu-i386 was tried, and in 6,086
 * of the 28,160 x87 cases it disagreed with our core, which matches the host
 * FPU bit for bit.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PROBE_SOURCE = '#include <stdio.h>\nint main(void) { puts("i386 ok"); return 0; }\n';
const PROBE_OUTPUT = 'i386 ok\n';

export const NO_I386_REASON =
  'this host\'s kernel does not run i386 binaries (execve gives ENOEXEC)';

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
  if (!cached) console.warn(`i386 binaries unavailable: ${NO_I386_REASON}`);
  return cached;
}
