/**
 * Builds (once per source hash) and drives the native runner: a 32-bit static
 * Linux binary that executes the cases on the host CPU. Needs gcc with 32-bit
 * support (Debian/Ubuntu: gcc-multilib) and an x86 host.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CaseInput, type Outcome, decodeResults, encodeBatch } from './format.ts';

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'native-runner.c');
const CFLAGS = ['-m32', '-static', '-O1', '-fno-stack-protector', '-Wall', '-Wextra', '-Werror'];

let cachedPath: string | undefined;

/** Path of the compiled runner, compiling it into a temp dir on first use. */
export function nativeRunnerPath(): string {
  if (cachedPath !== undefined) return cachedPath;
  if (process.arch !== 'x64' && process.arch !== 'ia32') {
    throw new Error(`the native differential runner needs an x86 host (this is ${process.arch})`);
  }
  const source = readFileSync(SOURCE);
  const hash = createHash('sha256').update(source).update(CFLAGS.join(' ')).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'tabvisor-cpu-diff');
  const exe = join(dir, `native-runner-${hash}`);
  if (!existsSync(exe)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${exe}.${process.pid}.tmp`;
    const r = spawnSync('gcc', [...CFLAGS, '-o', tmp, SOURCE], { encoding: 'utf8' });
    if (r.error !== undefined || r.status !== 0) {
      rmSync(tmp, { force: true });
      throw new Error(
        `cannot build the native runner with "gcc ${CFLAGS.join(' ')}" ` +
        `(install gcc-multilib): ${r.error?.message ?? ''}\n${r.stderr ?? ''}`,
      );
    }
    renameSync(tmp, exe); // atomic: parallel workers may race here
  }
  cachedPath = exe;
  return exe;
}

/** Runs the cases natively, in chunks of `chunk` cases per process. */
export function runNative(cases: readonly CaseInput[], chunk = 25_000): Outcome[] {
  const exe = nativeRunnerPath();
  const out: Outcome[] = [];
  for (let start = 0; start < cases.length; start += chunk) {
    const part = cases.slice(start, start + chunk);
    const input = encodeBatch(part);
    const r = spawnSync(exe, ['-', '-'], { input, maxBuffer: 64 + part.length * 1024, timeout: 120_000 });
    if (r.error !== undefined || r.status !== 0) {
      throw new Error(
        `native runner failed (status ${String(r.status)}, signal ${String(r.signal)}): ` +
        `${r.error?.message ?? ''} ${r.stderr.toString()}`,
      );
    }
    const res = decodeResults(new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.byteLength), part.length);
    for (const o of res) out.push(o);
  }
  return out;
}
