/**
 * `npm run bench`: runs every benchmark, prints a table and writes
 * bench/results/<timestamp>.json with the machine's description. Each sample
 * runs in a fresh Node process (a user's VM starts cold too); figures are
 * medians with min/max of several runs.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { describeMachine } from './machine-info.ts';
import { summarize, type Summary } from './stats.ts';

interface Row {
  benchmark: string;
  unit: string;
  summary: Summary;
  note?: string;
}

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const only = process.argv[2];
const rows: Row[] = [];

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

if (!only || only === 'cpu') {
  process.stderr.write('interpreter, mixed integer loop with paging ');
  const r = samples<{ mips: number }>('./cpu-mixed.ts', ['100000000']);
  rows.push({ benchmark: 'interpreter mixed integer loop (paging on), Node', unit: 'M instr/s', summary: summarize(r.map((x) => x.mips)) });
}

if (!only || only === 'boot') {
  process.stderr.write('boot to prompt in Node ');
  const r = samples<{ ms: number; haltedMs: number; instructions: number }>('./boot-node.ts');
  rows.push({ benchmark: 'boot to prompt, Node (default image, 64 MiB)', unit: 'ms', summary: summarize(r.map((x) => x.ms)) });
  rows.push({ benchmark: '  of which the guest idled (HLT)', unit: 'ms', summary: summarize(r.map((x) => x.haltedMs)) });
  rows.push({ benchmark: '  guest instructions to the prompt', unit: 'M instr', summary: summarize(r.map((x) => x.instructions / 1e6)) });
  rows.push({ benchmark: '  guest speed during boot', unit: 'M instr/s', summary: summarize(r.map((x) => x.instructions / 1e3 / (x.ms - x.haltedMs))) });
}

if (!only || only === 'snapshot') {
  process.stderr.write('snapshot of the booted default VM ');
  const r = samples<{ sizeBytes: number; saveMs: number; restoreMs: number; firstCommandMs: number }>('./snapshot.ts');
  rows.push({ benchmark: 'snapshot size, booted default VM (compressed)', unit: 'MiB', summary: summarize(r.map((x) => x.sizeBytes / 2 ** 20)) });
  rows.push({ benchmark: 'snapshot save (copy + deflate)', unit: 'ms', summary: summarize(r.map((x) => x.saveMs)) });
  rows.push({ benchmark: 'snapshot restore (inflate + build, RAM lazy)', unit: 'ms', summary: summarize(r.map((x) => x.restoreMs)) });
  rows.push({ benchmark: '  then until the guest answers a command', unit: 'ms', summary: summarize(r.map((x) => x.firstCommandMs)) });
}

if (!only || only === 'browser') {
  process.stderr.write('building the site for the browser benchmarks\n');
  execFileSync(process.execPath, [new URL('../node_modules/vite/bin/vite.js', import.meta.url).pathname, 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
  process.stderr.write('boot to prompt in Chromium ');
  const r = sample<{ bootMs: number[]; oneVmBytes: number; perExtraVmBytes: number }>('./browser.ts', [String(RUNS)]);
  process.stderr.write('\n');
  rows.push({ benchmark: 'boot to prompt, Chromium (page load + image download + boot)', unit: 'ms', summary: summarize(r.bootMs) });
  rows.push({ benchmark: 'page + workers memory with one idle VM', unit: 'MiB', summary: summarize([r.oneVmBytes / 2 ** 20]) });
  rows.push({ benchmark: 'memory per additional idle VM (64 MiB guest)', unit: 'MiB', summary: summarize([r.perExtraVmBytes / 2 ** 20]), note: 'measureUserAgentSpecificMemory' });
}

const machine = describeMachine();
const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2));
console.log(`\ntabvisor benchmarks — ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${RUNS} runs each\n`);
const width = Math.max(...rows.map((r) => r.benchmark.length));
console.log(`${'benchmark'.padEnd(width)}  ${'median'.padStart(9)}  ${'min'.padStart(9)}  ${'max'.padStart(9)}  unit`);
for (const r of rows) {
  console.log(`${r.benchmark.padEnd(width)}  ${fmt(r.summary.median).padStart(9)}  ${fmt(r.summary.min).padStart(9)}  ${fmt(r.summary.max).padStart(9)}  ${r.unit}`);
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const file = new URL(`./results/${machine.date.replace(/[:.]/g, '-')}.json`, import.meta.url);
writeFileSync(file, `${JSON.stringify({ machine, runs: RUNS, rows }, null, 2)}\n`);
writeFileSync(new URL('./results/latest.json', import.meta.url), `${JSON.stringify({ machine, runs: RUNS, rows }, null, 2)}\n`);
console.log(`\nwritten to ${file.pathname}`);
