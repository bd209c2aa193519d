/** Comparison of native and emulated observations for the x87 differential test. */
import { type Case, type Observed, hex80 } from './diff-cases.ts';

const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);

function reg80(save: Uint8Array, k: number): string {
  const o = 28 + 10 * k;
  let sig = 0n;
  for (let i = 7; i >= 0; i--) sig = (sig << 8n) | BigInt(save[o + i]!);
  return hex80({ se: u16(save, o + 8), sig });
}

/** Extended value of ST(k) in a save image as a double (for transcendental checks). */
function regDouble(save: Uint8Array, k: number): number {
  const o = 28 + 10 * k;
  let sig = 0n;
  for (let i = 7; i >= 0; i--) sig = (sig << 8n) | BigInt(save[o + i]!);
  const se = u16(save, o + 8);
  const e = se & 0x7fff;
  const s = se & 0x8000 ? -1 : 1;
  if (e === 0x7fff) return sig << 1n === 0n || (sig & ((1n << 63n) - 1n)) === 0n ? s * Infinity : NaN;
  if (sig === 0n) return s * 0;
  return s * Number(sig) * 2 ** (Math.max(e, 1) - 16383 - 63);
}

function ulp(d: number): number {
  const a = Math.abs(d);
  if (a === 0) return Number.MIN_VALUE;
  const e = Math.floor(Math.log2(a));
  return 2 ** Math.max(e - 52, -1074) * (2 ** e > a ? 0.5 : 1);
}

export function describeSave(save: Uint8Array): string {
  const sw = u16(save, 4);
  const tw = u16(save, 8);
  const top = (sw >> 11) & 7;
  const regs: string[] = [];
  for (let k = 0; k < 8; k++) {
    const p = (top + k) & 7;
    if (((tw >> (2 * p)) & 3) !== 3) regs.push(`st${k}=${reg80(save, k)}`);
  }
  return `cw=${u16(save, 0).toString(16)} sw=${sw.toString(16)} tw=${tw.toString(16)} fop=${(u16(save, 18) & 0x7ff).toString(16)} ${regs.join(' ')}`;
}

/** Returns null when they agree, else a description of the difference. */
export function compareObserved(c: Case, nat: Observed & { defMask: number }, emu: Observed): string | null {
  const problems: string[] = [];
  const trans = c.op.ref !== undefined;
  let swMask = nat.defMask;
  // Transcendentals are not bit-exact: ignore C1 (round-up), PE and UE (which depend on the exact result).
  if (trans) swMask &= ~(0x0200 | 0x20 | 0x10 | 0x80 | 0x8000);
  if (u16(nat.save, 0) !== u16(emu.save, 0)) problems.push('control word');
  // FXAM of an empty register reports the sign of its stale content in C1: the
  // host's stale registers are not ours, so C1 is not compared then.
  if (c.op.name === 'FXAM' && c.stack.length === 0) swMask &= ~0x0200;
  if ((u16(nat.save, 4) & swMask) !== (u16(emu.save, 4) & swMask)) problems.push('status word');
  // Transcendental results are approximations: a zero/denormal/normal class
  // may differ, so only empty-ness of tags is compared (values are checked below).
  const tagMask = trans ? 0x5555 : 0xffff;
  const tagOf = (w: number): number => trans ? (w & (w >> 1) & 0x5555) : w;
  if ((tagOf(u16(nat.save, 8)) & tagMask) !== (tagOf(u16(emu.save, 8)) & tagMask)) problems.push('tag word');
  // The host (AMD) leaves FOP = 0 on some microcoded denormal paths; Intel and we always store it.
  const natFop = u16(nat.save, 18) & 0x7ff;
  if (natFop !== 0 && natFop !== (u16(emu.save, 18) & 0x7ff)) problems.push('FOP');
  const tw = u16(nat.save, 8);
  const top = (u16(nat.save, 4) >> 11) & 7;
  for (let k = 0; k < 8; k++) {
    const p = (top + k) & 7;
    if (((tw >> (2 * p)) & 3) === 3) continue;
    const a = reg80(nat.save, k);
    const b = reg80(emu.save, k);
    if (a === b) continue;
    if (trans && k < c.op.ref!(0, 0).length) {
      const why = checkTranscendental(c, k, nat.save, emu.save);
      if (why === null) continue;
      problems.push(why);
      continue;
    }
    problems.push(`st${k}`);
  }
  for (let i = 0; i < 32; i++) if (nat.mem[i] !== emu.mem[i]) { problems.push('memory'); break; }
  if (c.op.eflags && (nat.eflags & 0x8d5) !== (emu.eflags & 0x8d5)) problems.push(`eflags ${nat.eflags.toString(16)} vs ${emu.eflags.toString(16)}`);
  if (problems.length === 0) return null;
  const memHex = (m: Uint8Array | number[]): string => Array.from(m.slice(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
  return `${c.op.name} [${c.op.opc.toString(16)} ${c.op.modrm.toString(16)}] cw=${c.cw.toString(16)} fl=${c.eflags.toString(16)} in: ${c.stack.map(hex80).join(' ')} mem=${memHex(c.mem)}\n` +
    `  differs in: ${problems.join(', ')}\n` +
    `  native: ${describeSave(nat.save)} mem=${memHex(nat.mem)}\n` +
    `  ours:   ${describeSave(emu.save)} mem=${memHex(emu.mem)}`;
}

function regDoubleOf(v: { se: number; sig: bigint }): number {
  const e = v.se & 0x7fff;
  const s = v.se & 0x8000 ? -1 : 1;
  if (v.sig === 0n) return s * 0;
  return s * Number(v.sig) * 2 ** (Math.max(e, 1) - 16383 - 63);
}

function regOf(save: Uint8Array, k: number): { se: number; sig: bigint } {
  const o = 28 + 10 * k;
  let sig = 0n;
  for (let i = 7; i >= 0; i--) sig = (sig << 8n) | BigInt(save[o + i]!);
  return { se: u16(save, o + 8), sig };
}

/**
 * Within one double ulp: both rounded to double differ by at most 1 ulp, or
 * (outside the double range) |a − b| ≤ 2^-52·|b| with denormals at their
 * fixed exponent (one unit of difference is always accepted).
 */
function relativelyClose(a: { se: number; sig: bigint }, b: { se: number; sig: bigint }): boolean {
  const da = regDoubleOf(a);
  const db = regDoubleOf(b);
  if (Number.isFinite(da) && Number.isFinite(db) && Math.abs(db) >= 2 ** -1000 && Math.abs(db) <= 2 ** 1000) {
    return Math.abs(da - db) <= ulp(db);
  }
  const ea = Math.max(a.se & 0x7fff, 1);
  const eb = Math.max(b.se & 0x7fff, 1);
  if (ea === 0x7fff || eb === 0x7fff) return false;
  if ((a.se & 0x8000) !== (b.se & 0x8000) && (a.sig | b.sig) > 1n) return false;
  if (Math.abs(ea - eb) > 1) return false;
  const e = Math.min(ea, eb);
  const A = a.sig << BigInt(ea - e);
  const B = b.sig << BigInt(eb - e);
  const d = A > B ? A - B : B - A;
  return d <= 1n || d << 52n <= B;
}

/**
 * Cases whose value is not compared: outside these input ranges the SDM
 * leaves the result undefined; and the hardware reduces trigonometric
 * arguments with a 66-bit π while ours is exact, so for large arguments that
 * are not doubles (no Math.* reference) the two legitimately differ.
 */
function inDomain(c: Case): boolean {
  const x = c.stack[0] ? regDoubleOf(c.stack[0]) : NaN;
  const xIsDouble = c.stack[0] !== undefined && (c.stack[0].sig & 0x7ffn) === 0n;
  switch (c.op.name) {
    case 'F2XM1': return Math.abs(x) <= 1;
    case 'FYL2XP1': return Math.abs(x) < 1 - Math.SQRT1_2;
    case 'FSIN': case 'FCOS': case 'FSINCOS': case 'FPTAN': return xIsDouble || Math.abs(x) < 256;
    default: return true;
  }
}

/**
 * Transcendental results: within 1 double ulp of the Math.* reference (for
 * double inputs), or within 2^-52 (relative) of the host's result.
 */
function checkTranscendental(c: Case, k: number, natSave: Uint8Array, emuSave: Uint8Array): string | null {
  if (!inDomain(c)) return null;
  const isDouble = (v: { sig: bigint }): boolean => (v.sig & 0x7ffn) === 0n;
  const inputsOk = c.stack.slice(0, c.op.nst).every(isDouble);
  const x = c.stack[0] ? regDoubleOf(c.stack[0]) : 0;
  const y = c.stack[1] ? regDoubleOf(c.stack[1]) : 0;
  const expected = c.op.ref!(x, y)[k]!;
  const got = regDouble(emuSave, k);
  if (inputsOk && Number.isFinite(expected) && expected !== 0 && Number.isFinite(got) && Math.abs(got - expected) <= ulp(expected)) return null;
  if (relativelyClose(regOf(emuSave, k), regOf(natSave, k))) return null;
  return `st${k} (got ${got}, Math ref ${expected}, native ${regDouble(natSave, k)})`;
}
