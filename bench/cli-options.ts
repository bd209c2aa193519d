/**
 * `npm run bench -- [part ...] [--quick] [--runs N] [--workloads id,id] [--variants both|interpreter|jit]`.
 * Parts: cpu, boot, snapshot, browser (our emulator alone), workloads (the
 * guest workloads on ours in Node), native, peers (= qemu + v86 + chromium,
 * the last being ours in Chromium), or guest (= workloads native peers).
 * No part: all of them.
 */

export const PARTS = ['cpu', 'boot', 'snapshot', 'browser', 'workloads', 'native', 'qemu', 'v86', 'chromium'] as const;
export type Part = (typeof PARTS)[number];

const GROUPS: Readonly<Record<string, readonly Part[]>> = {
  peers: ['qemu', 'v86', 'chromium'],
  guest: ['workloads', 'native', 'qemu', 'v86', 'chromium'],
  all: PARTS,
};

export interface BenchOptions {
  readonly parts: ReadonlySet<Part>;
  /** Runs (fresh processes, contexts or boots) per figure. */
  readonly runs: number;
  readonly quick: boolean;
  /** Workload ids to run; empty: all. */
  readonly workloads: readonly string[];
  /** Which of our variants run: interpreter, jit or both (default). */
  readonly variants: 'both' | 'interpreter' | 'jit';
}

export function parseBenchArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): BenchOptions {
  const parts = new Set<Part>();
  let runs = env.BENCH_RUNS === undefined ? 5 : Number(env.BENCH_RUNS);
  let quick = false;
  let workloads: string[] = [];
  let variants: BenchOptions['variants'] = 'both';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--runs') runs = Number(argv[++i]);
    else if (arg === '--workloads') workloads = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (arg === '--variants') {
      const v = argv[++i];
      if (v !== 'both' && v !== 'interpreter' && v !== 'jit') throw new Error(`--variants takes both, interpreter or jit (got ${v})`);
      variants = v;
    }
    else if (arg in GROUPS) GROUPS[arg]!.forEach((p) => parts.add(p));
    else if ((PARTS as readonly string[]).includes(arg)) parts.add(arg as Part);
    else throw new Error(`unknown argument "${arg}" (parts: ${[...PARTS, ...Object.keys(GROUPS)].join(', ')}; options: --quick, --runs N, --workloads id,id, --variants both|interpreter|jit)`);
  }
  if (quick) runs = 1;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`the run count must be a positive integer (got ${runs})`);
  return { parts: parts.size ? parts : new Set(PARTS), runs, quick, workloads, variants };
}
