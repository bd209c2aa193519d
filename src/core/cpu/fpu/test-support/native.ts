/**
 * Builds and runs x87-native.c (the host-FPU oracle for x87.diff.test.ts),
 * as an x86-64 binary on x86-64 hosts. Needs gcc with static glibc; when the
 * build fails the test fails with instructions.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('./x87-native.c', import.meta.url));
/** The oracle is an i386 binary only on an i386 host; elsewhere x86-64. */
const I386_HOST = process.arch === 'ia32';

export const GCC_MULTILIB_HELP =
  'The x87 differential test needs a C toolchain with static glibc to run instructions on the host FPU, ' +
  'but `gcc -static` failed. Install it with `sudo apt-get install -y gcc libc6-dev` ' +
  '(Debian/Ubuntu; on a 32-bit host also gcc-multilib), then re-run.';

/** The ModRM r/m field the oracle executes memory forms with (see x87-native.c): 4 as an x86-64 binary. */
export const ORACLE_MEM_RM: 4 | 5 = I386_HOST ? 5 : 4;

export interface NativeOracle {
  run(input: string[]): string[];
  dispose(): void;
}

/** Compiles the oracle; throws an Error with GCC_MULTILIB_HELP when that is impossible. */
export function buildNativeOracle(): NativeOracle {
  const dir = mkdtempSync(join(tmpdir(), 'x87-native-'));
  const exe = join(dir, 'x87-native');
  try {
    // An x86-64 binary on x86-64 hosts: it runs even where the kernel refuses i386 code.
    const mode = I386_HOST ? ['-m32'] : [];
    execFileSync('gcc', [...mode, '-static', '-O1', '-fno-pie', '-no-pie', '-Wall', '-Wextra', '-Werror', '-o', exe, SOURCE], { stdio: 'pipe' });
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
