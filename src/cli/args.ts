/**
 * Command-line options of the headless runner (`npm run vm -- ...`). This is a
 * public interface that scripts outside the project rely on: keep it stable.
 */
import { parseArgs } from 'node:util';

export interface RunnerOptions {
  kernel: string | undefined;
  initrd: string | undefined;
  append: string | undefined;
  memMiB: number;
  timeoutS: number | undefined;
  jit: boolean;
  help: boolean;
}

export const DEFAULT_MEM_MIB = 64;
export const MIN_MEM_MIB = 4;
export const MAX_MEM_MIB = 2048;

export const USAGE = `usage: npm run vm -- [options]
  --kernel FILE     bzImage to boot (default: public/images/bzImage)
  --initrd FILE     initramfs (default: public/images/initramfs.cpio.gz when --kernel is not given)
  --append CMDLINE  kernel command line (default: the image's default command line)
  --mem MiB         guest RAM in MiB (default ${DEFAULT_MEM_MIB}, ${MIN_MEM_MIB}..${MAX_MEM_MIB})
  --timeout S       stop the guest after S seconds of wall time (exit status 124)
  --no-jit          interpret only (by default hot guest code is compiled to WebAssembly
                    once the boot is over: faster compute; --jit says so explicitly)
  -h, --help        this text
The guest's COM1 is this terminal; Ctrl-A x quits. Exit status: the guest's
(0 after poweroff), 124 on timeout, 2 on bad arguments or an unusable
image (missing file, not a bzImage, RAM too small), 1 on guest failures.`;

/** A user mistake: reported as one line, never as a stack trace. */
export class UsageError extends Error {}

export function parseRunnerArgs(argv: readonly string[]): RunnerOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        kernel: { type: 'string' },
        initrd: { type: 'string' },
        append: { type: 'string' },
        mem: { type: 'string' },
        timeout: { type: 'string' },
        jit: { type: 'boolean' },
        'no-jit': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const v = parsed.values;
  const memMiB = v.mem === undefined ? DEFAULT_MEM_MIB : parseNumber('--mem', v.mem);
  if (!Number.isInteger(memMiB) || memMiB < MIN_MEM_MIB || memMiB > MAX_MEM_MIB) {
    throw new UsageError(`--mem must be a whole number of MiB from ${MIN_MEM_MIB} to ${MAX_MEM_MIB}, got ${v.mem}`);
  }
  if (v.jit === true && v['no-jit'] === true) throw new UsageError('--jit and --no-jit contradict each other: give one');
  const timeoutS = v.timeout === undefined ? undefined : parseNumber('--timeout', v.timeout);
  if (timeoutS !== undefined && !(timeoutS > 0)) throw new UsageError(`--timeout must be a positive number of seconds, got ${v.timeout}`);
  return {
    kernel: v.kernel,
    initrd: v.initrd,
    append: v.append,
    memMiB,
    timeoutS,
    jit: v['no-jit'] !== true,
    help: v.help === true,
  };
}

function parseNumber(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} needs a number, got "${text}"`);
  return n;
}
