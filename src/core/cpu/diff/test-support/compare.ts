/**
 * Comparison of a native outcome with an emulator outcome under the case's
 * masks (undefined-masks.ts), and the human-readable mismatch report.
 */
import { disassemble } from '../../index.ts';
import { IS_PREFIX } from '../../decoder.ts';
import type { GenCase } from './gen.ts';
import { CODE_BASE, DATA_WIN, STACK_WIN, type Outcome } from './format.ts';
import { COMPARED_FLAGS } from './builder.ts';
import { RF, ARITH } from './undefined-masks.ts';
import { type HostQuirks, NO_QUIRKS } from './native.ts';

export interface FieldDiff {
  field: string;
  native: string;
  emu: string;
}

const REG_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];
const VEC_NAMES: Record<number, string> = {
  0: 'DE', 1: 'DB', 3: 'BP', 4: 'OF', 5: 'BR', 6: 'UD', 7: 'NM', 8: 'DF', 10: 'TS', 11: 'NP', 12: 'SS', 13: 'GP', 14: 'PF', 16: 'MF', 17: 'AC',
};
const HAS_CODE = new Set([8, 10, 11, 12, 13, 14, 17]);
/** Page-fault error-code bit 4 (I/D) exists only with NX: see ENVIRONMENT_RULES.pfFetchBit. */
const PF_CODE_MASK = ~0x10;

/** ES, DS, FS, GS: the registers Intel's IRET may null (ENVIRONMENT_RULES.nullSelectorRpl). */
const DATA_SEGS = new Set([0, 3, 4, 5]);

/** Both selectors null (index 0 of the GDT), whatever their RPL. */
function bothNullDataSelectors(sg: number, a: number, b: number): boolean {
  return DATA_SEGS.has(sg) && (a & ~3) === 0 && (b & ~3) === 0;
}

export const hex = (v: number, w = 8): string => '0x' + (v >>> 0).toString(16).padStart(w, '0');

export function describeOutcome(o: Outcome): string {
  if (o.done) return 'completed';
  if (o.vector === -2) return 'ran out of instruction budget';
  if (o.vector < 0) return `stopped (${o.vector})`;
  const name = VEC_NAMES[o.vector] ?? `vector ${o.vector}`;
  const code = HAS_CODE.has(o.vector) ? `(${hex(o.errorCode, 1)})` : '';
  const cr2 = o.vector === 14 ? ` cr2=${hex(o.cr2)}` : '';
  return `#${name}${code}${cr2}`;
}

/** Whether `eip` is at a REPE/REPNE CMPS or SCAS of the case (a trap there stopped it between iterations). */
function atRepCompareString(c: GenCase, eip: number): boolean {
  const off = eip - CODE_BASE - c.codeOffset;
  const ins = c.built.insns.find((i) => i.offset === off);
  if (ins === undefined) return false;
  let rep = false;
  for (let k = ins.offset; k < Math.min(ins.offset + ins.length, c.code.length); k++) {
    const b = c.code[k]!;
    if (b === 0xf2 || b === 0xf3) rep = true;
    else if (b === 0xa6 || b === 0xa7 || b === 0xae || b === 0xaf) return rep;
    else if (IS_PREFIX[b] === 0) return false;
  }
  return false;
}

/** Differences that matter for this case (empty = agreement); `quirks`: the host's known deviations from the SDM. */
export function compareOutcomes(c: GenCase, nat: Outcome, emu: Outcome, quirks: HostQuirks = NO_QUIRKS): FieldDiff[] {
  const d: FieldDiff[] = [];
  const m = c.built.masks;
  if (nat.done !== emu.done || (!nat.done && nat.vector !== emu.vector)) {
    d.push({ field: 'outcome', native: describeOutcome(nat), emu: describeOutcome(emu) });
    // Different outcomes: the state comparison below still shows where they diverged.
  } else if (!nat.done) {
    if (HAS_CODE.has(nat.vector)) {
      const mask = nat.vector === 14 ? PF_CODE_MASK : ~0;
      if (((nat.errorCode ^ emu.errorCode) & mask) !== 0) d.push({ field: 'error code', native: hex(nat.errorCode, 1), emu: hex(emu.errorCode, 1) });
    }
    if (nat.vector === 14 && nat.cr2 !== emu.cr2) d.push({ field: 'cr2', native: hex(nat.cr2), emu: hex(emu.cr2) });
  }
  if (nat.eip !== emu.eip) d.push({ field: 'eip', native: hex(nat.eip), emu: hex(emu.eip) });
  for (let r = 0; r < 8; r++) {
    const mask = m.regs[r]!;
    if (((nat.regs[r]! ^ emu.regs[r]!) & mask) !== 0) {
      d.push({ field: REG_NAMES[r]!, native: hex(nat.regs[r]!), emu: hex(emu.regs[r]!) + (mask !== 0xffffffff ? ` (compared ${hex(mask)})` : '') });
    }
  }
  for (let sg = 0; sg < 6; sg++) {
    if (nat.segs[sg] !== emu.segs[sg] && !bothNullDataSelectors(sg, nat.segs[sg]!, emu.segs[sg]!)) d.push({ field: SEG_NAMES[sg]!, native: hex(nat.segs[sg]!, 4), emu: hex(emu.segs[sg]!, 4) });
  }
  let fmask = (nat.done && emu.done ? m.flags : m.faultFlags) & COMPARED_FLAGS & ~RF;
  if (quirks.staleFlagsOnRepTrap && !nat.done && nat.vector === 1 && emu.vector === 1 && atRepCompareString(c, nat.eip)) fmask &= ~ARITH;
  if (((nat.eflags ^ emu.eflags) & fmask) !== 0) {
    d.push({ field: 'eflags', native: `${hex(nat.eflags)} ${flagNames(nat.eflags)}`, emu: `${hex(emu.eflags)} ${flagNames(emu.eflags)} (differ ${hex((nat.eflags ^ emu.eflags) & fmask, 1)})` });
  }
  memDiff(d, 'data', DATA_WIN, nat.data, emu.data, m.dataUndef);
  memDiff(d, 'stack', STACK_WIN, nat.stack, emu.stack, m.stackUndef);
  if (nat.dataOutsideHash !== emu.dataOutsideHash) d.push({ field: 'data page outside the window', native: hex(nat.dataOutsideHash), emu: hex(emu.dataOutsideHash) });
  if (nat.stackOutsideHash !== emu.stackOutsideHash) d.push({ field: 'stack page outside the window', native: hex(nat.stackOutsideHash), emu: hex(emu.stackOutsideHash) });
  return d;
}

function memDiff(d: FieldDiff[], name: string, base: number, a: Uint8Array, b: Uint8Array, undef: Uint8Array | null): void {
  const bad: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && (undef === null || undef[i] === 0)) bad.push(i);
  if (bad.length === 0) return;
  const first = bad[0]!;
  const last = Math.min(bad[bad.length - 1]!, first + 15);
  const dump = (x: Uint8Array): string => Array.from(x.subarray(first, last + 1), (v) => v.toString(16).padStart(2, '0')).join(' ');
  d.push({ field: `${name} ${hex(base + first)}..${hex(base + last)} (${bad.length} bytes differ)`, native: dump(a), emu: dump(b) });
}

export function flagNames(f: number): string {
  const n: string[] = [];
  const t: Array<[number, string]> = [[0x800, 'OF'], [0x400, 'DF'], [0x200, 'IF'], [0x100, 'TF'], [0x80, 'SF'], [0x40, 'ZF'], [0x10, 'AF'], [0x4, 'PF'], [0x1, 'CF'], [0x4000, 'NT'], [0x40000, 'AC'], [0x200000, 'ID'], [0x10000, 'RF']];
  for (const [b, s] of t) if ((f & b) !== 0) n.push(s);
  return `[${n.join(' ')}]`;
}

/** Disassembly of the case, one instruction per line. */
export function disassembleCase(c: GenCase): string[] {
  const lines: string[] = [];
  const base = CODE_BASE + c.codeOffset;
  for (const ins of c.built.insns) {
    const bytes = Array.from(c.code.subarray(ins.offset, ins.offset + ins.length), (v) => v.toString(16).padStart(2, '0')).join(' ');
    let text: string;
    try {
      text = ins.offset >= c.code.length ? '(past the page end)' : disassemble(c.code, ins.offset, true, base + ins.offset).text;
    } catch (e) {
      text = `(disassembler error: ${e instanceof Error ? e.message : String(e)})`;
    }
    lines.push(`    ${hex(base + ins.offset)}  ${bytes.padEnd(36)} ${text}`);
  }
  return lines;
}

export function formatMismatch(c: GenCase, seed: number, nat: Outcome, emu: Outcome, diffs: readonly FieldDiff[]): string {
  const out: string[] = [];
  out.push(`case ${c.id} [${c.group}] seed ${seed}  (reproduce: node --import tsx src/core/cpu/diff/test-support/repro.ts ${seed} ${c.id})`);
  out.push(`  code at ${hex(CODE_BASE + c.codeOffset)}: ${Array.from(c.code, (v) => v.toString(16).padStart(2, '0')).join(' ')}`);
  out.push(...disassembleCase(c));
  out.push(`  input: ${REG_NAMES.map((n, r) => `${n}=${hex(c.regs[r]!)}`).join(' ')} eflags=${hex(c.eflags)} ${flagNames(c.eflags)}`);
  const m = c.built.masks;
  if (m.rules.length > 0) out.push(`  undefined-behaviour masks in force: ${m.rules.join(', ')}`);
  out.push(`  ${'field'.padEnd(34)} ${'native (host CPU)'.padEnd(34)} emulator`);
  out.push(`  ${'outcome'.padEnd(34)} ${describeOutcome(nat).padEnd(34)} ${describeOutcome(emu)}`);
  for (const f of diffs) {
    if (f.field === 'outcome') continue;
    out.push(`  ${f.field.padEnd(34)} ${f.native.padEnd(34)} ${f.emu}`);
  }
  return out.join('\n');
}
