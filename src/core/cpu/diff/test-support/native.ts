/**
 * Builds (once per source hash) and drives the native runner, which executes
 * the cases on the host CPU in 32-bit code (native-runner.c). Two builds of
 * the same source, tried in this order:
 *  - i386: a 32-bit static process (gcc-multilib), where the kernel runs i386
 *    binaries;
 *  - compat: a 64-bit static process that runs each snippet in the kernel's
 *    32-bit user code segment (compatibility mode), for kernels that refuse
 *    i386 binaries but keep that segment (a probe checks it runs 32-bit code).
 * Either is the real CPU in 32-bit protected mode at ring 3; the results are
 * the same records.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CaseInput, type Outcome, DATA_WIN, DATA_WIN_LEN, INITIAL_ESP, STACK_WIN_LEN, decodeResults, encodeBatch } from './format.ts';
import { hostRunsI386 } from '../../test-support/i386-exec.ts';
import { ARITH, CF, OF, SF, ZF } from './undefined-masks.ts';

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'native-runner.c');
const COMMON_FLAGS = ['-static', '-O1', '-fno-stack-protector', '-Wall', '-Wextra', '-Werror'];

export type NativeKind = 'i386' | 'compat';

/** gcc flags per build. The compat runner must sit below 4 GiB (32-bit code jumps back into it) and above 16 MiB. */
const FLAGS: Record<NativeKind, string[]> = {
  i386: ['-m32', ...COMMON_FLAGS],
  compat: ['-m64', '-no-pie', '-Wl,-Ttext-segment=0x10000000', ...COMMON_FLAGS],
};

export const NATIVE_KIND_LABEL: Record<NativeKind, string> = {
  i386: 'the host CPU (i386 process)',
  compat: 'the host CPU (32-bit code of an x86-64 process)',
};

const built = new Map<NativeKind, string>();

/** Path of the compiled runner, compiling it into a temp dir on first use. */
export function nativeRunnerPath(kind: NativeKind = nativeKind() ?? 'i386'): string {
  const cached = built.get(kind);
  if (cached !== undefined) return cached;
  if (process.arch !== 'x64' && process.arch !== 'ia32') {
    throw new Error(`the native differential runner needs an x86 host (this is ${process.arch})`);
  }
  const flags = FLAGS[kind];
  const source = readFileSync(SOURCE);
  const hash = createHash('sha256').update(source).update(flags.join(' ')).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'tabvisor-cpu-diff');
  const exe = join(dir, `native-runner-${kind}-${hash}`);
  if (!existsSync(exe)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${exe}.${process.pid}.tmp`;
    const r = spawnSync('gcc', [...flags, '-o', tmp, SOURCE], { encoding: 'utf8' });
    if (r.error !== undefined || r.status !== 0) {
      rmSync(tmp, { force: true });
      throw new Error(
        `cannot build the native runner with "gcc ${flags.join(' ')}"` +
        `${kind === 'i386' ? ' (install gcc-multilib)' : ''}: ${r.error?.message ?? ''}\n${r.stderr ?? ''}`,
      );
    }
    renameSync(tmp, exe); // atomic: parallel workers may race here
  }
  built.set(kind, exe);
  return exe;
}

/**
 * A case that tells 32-bit code from 64-bit code: 0x40 is INC EAX in 32-bit
 * code and a REX prefix in 64-bit code.
 */
const compatProbe = (): CaseInput => probeCase([0x40], { 0: 41 });

/** A hand-made case: `code` at the page start, registers as given (ESP at its usual start), IF set, zeroed windows. */
function probeCase(code: readonly number[], regs: Record<number, number>, data: Uint8Array = new Uint8Array(DATA_WIN_LEN)): CaseInput {
  const r = new Uint32Array(8);
  r[4] = INITIAL_ESP;
  for (const [reg, value] of Object.entries(regs)) r[Number(reg)] = value;
  return { code: Uint8Array.from(code), codeOffset: 0, regs: r, eflags: 0x202, data, stack: new Uint8Array(STACK_WIN_LEN) };
}

function compatWorks(): boolean {
  try {
    const [o] = runBatchWith(nativeRunnerPath('compat'), [compatProbe()]);
    return o !== undefined && o.done && o.regs[0] === 42 && o.segs[1] === 0x23;
  } catch {
    return false;
  }
}

let kindCache: NativeKind | null | undefined;

/** Which runner this host can use, or null where the host CPU cannot run the cases in 32-bit code. */
export function nativeKind(): NativeKind | null {
  if (kindCache !== undefined) return kindCache;
  if (process.arch !== 'x64' && process.arch !== 'ia32') return (kindCache = null);
  // TABVISOR_NATIVE=compat picks the x86-64 runner even where i386 binaries run (to test it).
  const forced = process.env['TABVISOR_NATIVE'];
  if (forced === 'compat') return (kindCache = 'compat');
  if (hostRunsI386()) return (kindCache = 'i386');
  kindCache = process.arch === 'x64' && compatWorks() ? 'compat' : null;
  if (kindCache === null) console.warn('no native reference: this host runs no 32-bit x86 code; the tests against the real CPU are skipped');
  return kindCache;
}

/** Runs one batch through the runner at `exe` (one process). */
export function runBatchWith(exe: string, part: readonly CaseInput[]): Outcome[] {
  const input = encodeBatch(part);
  const r = spawnSync(exe, ['-', '-'], { input, maxBuffer: 64 + part.length * 1024, timeout: 120_000 });
  if (r.error !== undefined || r.status !== 0) {
    throw new Error(
      `native runner failed (status ${String(r.status)}, signal ${String(r.signal)}): ` +
      `${r.error?.message ?? ''} ${r.stderr.toString()}`,
    );
  }
  return decodeResults(new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.byteLength), part.length);
}

/** Runs the cases natively, in chunks of `chunk` cases per process. */
export function runNative(cases: readonly CaseInput[], chunk = 25_000): Outcome[] {
  const kind = nativeKind();
  if (kind === null) throw new Error('this host runs no 32-bit x86 code: there is no native reference');
  const exe = nativeRunnerPath(kind);
  const out: Outcome[] = [];
  for (let start = 0; start < cases.length; start += chunk) {
    for (const o of runBatchWith(exe, cases.slice(start, start + chunk))) out.push(o);
  }
  return out;
}

/** Where this host's reports differ from the SDM (undefined-masks.ts, ENVIRONMENT_RULES). */
export interface HostQuirks {
  /** A single-step trap between iterations of REPE/REPNE CMPS/SCAS reports the flags from before the instruction. */
  staleFlagsOnRepTrap: boolean;
}

export const NO_QUIRKS: HostQuirks = { staleFlagsOnRepTrap: false };

/** The status flags the REP trap probe sets before the REPNE SCASD (and a host with the quirk reports). */
const REP_TRAP_IMAGE_FLAGS = OF | SF | ZF | CF;

/**
 * PUSH an image with TF and REP_TRAP_IMAGE_FLAGS; POPFD; REPNE SCASD with
 * ECX = 2 against [EDI] = 1 and EAX = 0x99. The trap after the first
 * iteration should show ECX = 1 and the flags of 0x99 - 1 (all six clear).
 */
function repTrapProbe(): CaseInput {
  const data = new Uint8Array(DATA_WIN_LEN);
  data[0] = 1;
  const image = 0x302 | REP_TRAP_IMAGE_FLAGS; // IF, TF, bit 1
  return probeCase([0x68, image & 0xff, image >> 8, 0, 0, 0x9d, 0xf2, 0xaf], { 0: 0x99, 1: 2, 7: DATA_WIN }, data);
}

let quirksCache: HostQuirks | undefined;

/** Probes the host CPU (through the native runner) for the quirks above. */
export function hostQuirks(): HostQuirks {
  if (quirksCache !== undefined) return quirksCache;
  const kind = nativeKind();
  if (kind === null) return (quirksCache = NO_QUIRKS);
  const [o] = runBatchWith(nativeRunnerPath(kind), [repTrapProbe()]);
  const stale = o !== undefined && !o.done && o.vector === 1 && o.regs[1] === 1 && (o.eflags & ARITH) === REP_TRAP_IMAGE_FLAGS;
  if (stale) console.warn('host quirk: a single-step trap inside REPE/REPNE CMPS/SCAS reports stale flags; masked (ENVIRONMENT_RULES.staleFlagsOnRepTrap)');
  return (quirksCache = { staleFlagsOnRepTrap: stale });
}
