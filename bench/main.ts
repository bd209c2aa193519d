/**
 * `npm run bench`: runs the benchmark parts, prints tables and writes
 * bench/results/<timestamp>.json (and latest.json) with the machine's
 * description. Figures are medians with min/max of several runs, each in a
 * fresh Node process, browser context or emulator process (a user's VM starts
 * cold too). Parts and options: see cli-options.ts and README "Benchmarks".
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseBenchArgs } from './cli-options.ts';
import { runGuestSuite, type GuestSuiteResult } from './guest-suite.ts';
import { describeMachine } from './machine-info.ts';
import { compare, detailTable, ratioTables } from './report/compare.ts';
import { formatNumber, formatTable } from './report/table.ts';
import { summarize, type Summary } from './stats.ts';
import { buildBenchImage } from './workloads/bench-image.ts';
import { findWorkload, WORKLOADS } from './workloads/definitions.ts';

interface Row {
  benchmark: string;
  unit: string;
  summary: Summary;
  note?: string;
}

const options = parseBenchArgs(process.argv.slice(2), process.env);
const { parts } = options;
const RUNS = options.runs;
const rows: Row[] = [];
const started = performance.now();
const loadBefore = os.loadavg();
const partMs: Record<string, number> = {};

function sample<T>(script: string, args: string[] = []): T {
  const out = execFileSync(process.execPath, ['--import', 'tsx', new URL(script, import.meta.url).pathname, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    timeout: 300_000,
  });
  const last = out.trim().split('\n').pop()!;
  return JSON.parse(last) as T;
}

function samples<T>(script: string, args: string[] = []): T[] {
  const out: T[] = [];
  for (let i = 0; i < RUNS; i++) {
    out.push(sample<T>(script, args));
    process.stderr.write('.');
  }
  process.stderr.write('\n');
  return out;
}

function part(name: string, body: () => void): void {
  if (!parts.has(name as never)) return;
  const t0 = performance.now();
  body();
  partMs[name] = performance.now() - t0;
}

part('cpu', () => {
  process.stderr.write('interpreter, mixed integer loop with paging ');
  const r = samples<{ mips: number }>('./cpu-mixed.ts', ['100000000']);
  rows.push({ benchmark: 'interpreter (block tier on) mixed integer loop (paging on), Node', unit: 'M instr/s', summary: summarize(r.map((x) => x.mips)) });
  process.stderr.write('interpreter without its block tier, mixed integer loop with paging ');
  const nb = samples<{ mips: number }>('./cpu-mixed.ts', ['100000000', 'noblocks']);
  rows.push({ benchmark: 'interpreter without block tier, mixed integer loop (paging on), Node', unit: 'M instr/s', summary: summarize(nb.map((x) => x.mips)) });
  process.stderr.write('JIT, mixed integer loop with paging ');
  const j = samples<{ mips: number }>('./cpu-mixed.ts', ['100000000', 'jit']);
  rows.push({ benchmark: 'JIT mixed integer loop (paging on), Node', unit: 'M instr/s', summary: summarize(j.map((x) => x.mips)) });
});

part('boot', () => {
  process.stderr.write('boot to prompt in Node ');
  const r = samples<{ ms: number; haltedMs: number; instructions: number }>('./boot-node.ts');
  rows.push({ benchmark: 'boot to prompt, Node (default image, 64 MiB)', unit: 'ms', summary: summarize(r.map((x) => x.ms)) });
  rows.push({ benchmark: '  of which the guest idled (HLT)', unit: 'ms', summary: summarize(r.map((x) => x.haltedMs)) });
  process.stderr.write('boot to prompt in Node with the JIT ');
  const j = samples<{ ms: number }>('./boot-node.ts', ['jit']);
  rows.push({ benchmark: 'boot to prompt, Node, JIT on (default options: no compiling in the first 25 M instructions)', unit: 'ms', summary: summarize(j.map((x) => x.ms)) });
  rows.push({ benchmark: '  guest instructions to the prompt', unit: 'M instr', summary: summarize(r.map((x) => x.instructions / 1e6)) });
  rows.push({ benchmark: '  guest speed during boot', unit: 'M instr/s', summary: summarize(r.map((x) => x.instructions / 1e3 / (x.ms - x.haltedMs))) });
});

part('snapshot', () => {
  process.stderr.write('snapshot of the booted default VM ');
  const r = samples<{ sizeBytes: number; saveMs: number; restoreMs: number; firstCommandMs: number }>('./snapshot.ts');
  rows.push({ benchmark: 'snapshot size, booted default VM (compressed)', unit: 'MiB', summary: summarize(r.map((x) => x.sizeBytes / 2 ** 20)) });
  rows.push({ benchmark: 'snapshot save (copy + deflate)', unit: 'ms', summary: summarize(r.map((x) => x.saveMs)) });
  rows.push({ benchmark: 'snapshot restore (inflate + build, RAM lazy)', unit: 'ms', summary: summarize(r.map((x) => x.restoreMs)) });
  rows.push({ benchmark: '  then until the guest answers a command', unit: 'ms', summary: summarize(r.map((x) => x.firstCommandMs)) });
  process.stderr.write('share links from the instant-boot snapshot ');
  const links = samples<{ startMs: number; firstCommandMs: number; freshChars: number; afterEchoChars: number; afterCommandsChars: number }>('./share-link.ts');
  rows.push({ benchmark: 'instant boot in a worker, Node (start from the snapshot)', unit: 'ms', summary: summarize(links.map((x) => x.startMs)) });
  rows.push({ benchmark: '  then until the guest answers a command', unit: 'ms', summary: summarize(links.map((x) => x.firstCommandMs)) });
  rows.push({ benchmark: 'share link, just after instant boot', unit: 'KB', summary: summarize(links.map((x) => x.freshChars / 1024)) });
  rows.push({ benchmark: 'share link, after `echo hi > /tmp/f`', unit: 'KB', summary: summarize(links.map((x) => x.afterEchoChars / 1024)) });
  rows.push({ benchmark: 'share link, after ls, uname, meminfo, ps, cat', unit: 'KB', summary: summarize(links.map((x) => x.afterCommandsChars / 1024)) });
});

part('browser', () => {
  process.stderr.write('building the site for the browser benchmarks\n');
  execFileSync(process.execPath, [new URL('../node_modules/vite/bin/vite.js', import.meta.url).pathname, 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
  process.stderr.write('boot to prompt in Chromium ');
  const r = sample<{ bootMs: number[]; instantBootMs: number[]; oneVmBytes: number; perExtraVmBytes: number }>('./browser.ts', [String(RUNS)]);
  process.stderr.write('\n');
  rows.push({ benchmark: 'boot to prompt, Chromium (page load + image download + boot)', unit: 'ms', summary: summarize(r.bootMs) });
  rows.push({ benchmark: 'instant boot to prompt, Chromium (page load + downloads + restore)', unit: 'ms', summary: summarize(r.instantBootMs) });
  rows.push({ benchmark: 'page + workers memory with one idle VM', unit: 'MiB', summary: summarize([r.oneVmBytes / 2 ** 20]) });
  rows.push({ benchmark: 'memory per additional idle VM (64 MiB guest)', unit: 'MiB', summary: summarize([r.perExtraVmBytes / 2 ** 20]), note: 'measureUserAgentSpecificMemory' });
});

const guestParts = new Set([...parts].filter((p) => ['workloads', 'native', 'qemu', 'v86', 'chromium'].includes(p)));
const workloads = options.workloads.length ? options.workloads.map(findWorkload) : WORKLOADS;
let guest: (GuestSuiteResult & { image: Record<string, unknown> }) | undefined;
if (guestParts.size) {
  const image = buildBenchImage();
  // A long run saves what it has so far: results/partial.json (replaced by the final file at the end).
  const onProgress = (engines: readonly unknown[]) =>
    writeFileSync(new URL('./results/partial.json', import.meta.url), `${JSON.stringify({ runs: RUNS, partMs, rows, engines }, null, 2)}\n`);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  guest = { ...(await runGuestSuite({ parts: guestParts, runs: RUNS, image, workloads, variants: options.variants, onProgress })), image: image.description };
  Object.assign(partMs, guest.partMs);
}

const machine = { ...describeMachine(), loadAverageBefore: loadBefore, loadAverageAfter: os.loadavg() };
const totalMs = performance.now() - started;
const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' ');
console.log(`\ntabvisor benchmarks — ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.chromium ?? 'no Chromium'}`);
console.log(`${RUNS} run${RUNS > 1 ? 's' : ''} per figure${options.quick ? ' (--quick: single runs, not medians)' : ''}; load average ${load(loadBefore)} before, ${load(machine.loadAverageAfter)} after; ${(totalMs / 60_000).toFixed(1)} min\n`);
if (rows.length) {
  console.log(formatTable(
    [{ title: 'benchmark' }, { title: 'median', align: 'right' }, { title: 'min', align: 'right' }, { title: 'max', align: 'right' }, { title: 'unit' }],
    rows.map((r) => [r.benchmark, formatNumber(r.summary.median), formatNumber(r.summary.min), formatNumber(r.summary.max), r.unit]),
  ));
}
let comparison: ReturnType<typeof compare> | undefined;
if (guest) {
  comparison = compare(guest.engines, workloads);
  console.log(`\nguest workloads (default bzImage + benchmark initramfs, 128 MiB; host wall time from sending a command to its end marker)\n`);
  console.log(detailTable(comparison, guest.engines, workloads));
  const ratios = ratioTables(comparison, guest.engines, workloads);
  if (ratios) console.log(`\n${ratios}`);
  for (const e of guest.engines) if (e.bootNote) console.log(`boot, ${e.label}: ${e.bootNote}`);
  if (comparison.problems.length) console.log(`\nWRONG OUTPUT (these figures are not valid):\n  ${comparison.problems.join('\n  ')}`);
}

const result = {
  machine,
  runs: RUNS,
  quick: options.quick,
  parts: [...parts],
  partMs,
  totalMs,
  rows,
  ...(guest && comparison && {
    guest: {
      image: guest.image,
      versions: guest.versions,
      workloads,
      engines: guest.engines,
      reference: comparison.reference,
      problems: comparison.problems,
      medians: Object.fromEntries([...comparison.cells].map(([engine, cells]) => [engine, Object.fromEntries([...cells].map(([row, c]) => [row, { ...c.summary, verified: c.verified }]))])),
    },
  }),
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const file = new URL(`./results/${machine.date.replace(/[:.]/g, '-')}.json`, import.meta.url);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(new URL('./results/latest.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
console.log(`\nwritten to ${file.pathname}`);
if (comparison?.problems.length) process.exitCode = 1;
