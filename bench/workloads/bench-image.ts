/**
 * The benchmark guest (default bzImage + benchmark initramfs) and the native
 * twin of its binaries, built by scripts/image/build-bench-initramfs.sh.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface BenchImage {
  readonly kernel: string;
  readonly initrd: string;
  readonly cmdline: string;
  /** Directory with the i386 busybox applets and tvb-* programs. */
  readonly nativeBin: string;
  /** bench-image.json: sizes, checksums, compiler. */
  readonly description: Record<string, unknown>;
}

export const BENCH_BUILD_DIR = process.env.BENCH_BUILD_DIR ?? '/tmp/tabvisor-build/bench';
const repo = fileURLToPath(new URL('../../', import.meta.url));

/** Builds the image (a few seconds: compiles the programs, appends them to the default initramfs). */
export function buildBenchImage(): BenchImage {
  execFileSync('bash', [`${repo}scripts/image/build-bench-initramfs.sh`], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, BENCH_BUILD_DIR },
  });
  const manifest = JSON.parse(readFileSync(`${repo}public/images/manifest.json`, 'utf8')) as { defaultCmdline: string };
  return {
    kernel: `${repo}public/images/bzImage`,
    initrd: `${BENCH_BUILD_DIR}/bench-initramfs.cpio`,
    cmdline: manifest.defaultCmdline,
    nativeBin: `${BENCH_BUILD_DIR}/native/bin`,
    description: JSON.parse(readFileSync(`${BENCH_BUILD_DIR}/bench-image.json`, 'utf8')) as Record<string, unknown>,
  };
}
