/**
 * Builds and runs x87-native.c (the host-FPU oracle for x87.diff.test.ts).
 * Needs `gcc -m32`; when it is missing the test fails with instructions.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('./x87-native.c', import.meta.url));

export const GCC_MULTILIB_HELP =
  'The x87 differential test needs a 32-bit C toolchain to run instructions on the host FPU, ' +
  'but `gcc -m32 -static` failed. Install it with `sudo apt-get install -y gcc-multilib` ' +
  '(Debian/Ubuntu; other distributions: the 32-bit glibc static libraries and gcc 32-bit support), then re-run.';

export interface NativeOracle {
  run(input: string[]): string[];
  dispose(): void;
}

/** Compiles the oracle; throws an Error with GCC_MULTILIB_HELP when that is impossible. */
export function buildNativeOracle(): NativeOracle {
  const dir = mkdtempSync(join(tmpdir(), 'x87-native-'));
  const exe = join(dir, 'x87-native');
  try {
    execFileSync('gcc', ['-m32', '-static', '-O1', '-fno-pie', '-no-pie', '-o', exe, SOURCE], { stdio: 'pipe' });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const detail = e instanceof Error && 'stderr' in e ? String((e as { stderr: unknown }).stderr) : String(e);
    throw new Error(`${GCC_MULTILIB_HELP}\n\ngcc said:\n${detail}`, { cause: e });
  }
  return {
    run(lines: string[]): string[] {
      const r = spawnSync(exe, [], { input: lines.join('\n') + '\n', maxBuffer: 1 << 30, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`x87-native exited with ${r.status} ${r.signal ?? ''}: ${r.stderr}`);
      const out = r.stdout.split('\n').filter((l) => l.length > 0);
      if (out.length !== lines.length) throw new Error(`x87-native answered ${out.length} of ${lines.length} cases`);
      return out;
    },
    dispose(): void { rmSync(dir, { recursive: true, force: true }); },
  };
}
