/**
 * Memory layouts of the x87 environment and save areas (SDM Vol. 1 §8.1.10,
 * Figures 8-9..8-12, and Vol. 2 FXSAVE Table 3-53):
 *   FNSTENV/FLDENV  14 bytes (16-bit operand size) or 28 bytes (32-bit),
 *                   protected-mode format;
 *   FNSAVE/FRSTOR   the environment followed by ST(0)..ST(7), 10 bytes each;
 *   FXSAVE/FXRSTOR  512 bytes, abridged tag byte, registers at 32 + 16·i.
 */
import type { FpuHost } from './fpu-host.ts';
import { F80, MASK64 } from './float80.ts';
import type { X87Storage } from './x87-storage.ts';

/** The architectural fields of the environment; `sw` includes TOP, `tw` is the full 16-bit tag word. */
export interface X87Environment {
  cw: number;
  sw: number;
  tw: number;
  fip: number;
  fcs: number;
  fop: number;
  fdp: number;
  fds: number;
}

export function envSize(operandSize32: boolean): number {
  return operandSize32 ? 28 : 14;
}

export function storeEnvironment(host: FpuHost, seg: number, off: number, o32: boolean, e: X87Environment): void {
  if (o32) {
    // Reserved upper halves read back as 1s on the hardware.
    host.writeU32(seg, off, (0xffff0000 | e.cw) >>> 0);
    host.writeU32(seg, off + 4, (0xffff0000 | e.sw) >>> 0);
    host.writeU32(seg, off + 8, (0xffff0000 | e.tw) >>> 0);
    host.writeU32(seg, off + 12, e.fip >>> 0);
    host.writeU32(seg, off + 16, ((e.fop & 0x7ff) << 16 | (e.fcs & 0xffff)) >>> 0);
    host.writeU32(seg, off + 20, e.fdp >>> 0);
    host.writeU32(seg, off + 24, (0xffff0000 | (e.fds & 0xffff)) >>> 0);
  } else {
    host.writeU16(seg, off, e.cw);
    host.writeU16(seg, off + 2, e.sw);
    host.writeU16(seg, off + 4, e.tw);
    host.writeU16(seg, off + 6, e.fip & 0xffff);
    host.writeU16(seg, off + 8, e.fcs & 0xffff);
    host.writeU16(seg, off + 10, e.fdp & 0xffff);
    host.writeU16(seg, off + 12, e.fds & 0xffff);
  }
}

export function loadEnvironment(host: FpuHost, seg: number, off: number, o32: boolean): X87Environment {
  if (o32) {
    const csop = host.readU32(seg, off + 16);
    return {
      cw: host.readU32(seg, off) & 0xffff,
      sw: host.readU32(seg, off + 4) & 0xffff,
      tw: host.readU32(seg, off + 8) & 0xffff,
      fip: host.readU32(seg, off + 12) >>> 0,
      fcs: csop & 0xffff,
      fop: (csop >>> 16) & 0x7ff,
      fdp: host.readU32(seg, off + 20) >>> 0,
      fds: host.readU32(seg, off + 24) & 0xffff,
    };
  }
  return {
    cw: host.readU16(seg, off),
    sw: host.readU16(seg, off + 2),
    tw: host.readU16(seg, off + 4),
    fip: host.readU16(seg, off + 6),
    fcs: host.readU16(seg, off + 8),
    fop: 0,
    fdp: host.readU16(seg, off + 10),
    fds: host.readU16(seg, off + 12),
  };
}

export function writeF80(host: FpuHost, seg: number, off: number, v: F80): void {
  host.writeU32(seg, off, Number(v.sig & 0xffffffffn));
  host.writeU32(seg, off + 4, Number(v.sig >> 32n));
  host.writeU16(seg, off + 8, v.se);
}

export function readF80(host: FpuHost, seg: number, off: number): F80 {
  const lo = BigInt(host.readU32(seg, off) >>> 0);
  const hi = BigInt(host.readU32(seg, off + 4) >>> 0);
  return new F80(host.readU16(seg, off + 8), ((hi << 32n) | lo) & MASK64);
}

export function writeU64(host: FpuHost, seg: number, off: number, v: bigint): void {
  host.writeU32(seg, off, Number(v & 0xffffffffn));
  host.writeU32(seg, off + 4, Number((v >> 32n) & 0xffffffffn));
}

export function readU64(host: FpuHost, seg: number, off: number): bigint {
  const lo = BigInt(host.readU32(seg, off) >>> 0);
  const hi = BigInt(host.readU32(seg, off + 4) >>> 0);
  return (hi << 32n) | lo;
}

/** MXCSR reset value and the MXCSR_MASK stored by FXSAVE (no SSE: the defaults). */
export const FXSAVE_MXCSR = 0x1f80;
export const FXSAVE_MXCSR_MASK = 0x0000ffbf;

/**
 * The part of the 512-byte FXSAVE image this CPU writes and reads: the
 * environment, ST(0)..ST(7) and the eight XMM registers' (zero) slots. Bytes
 * 288..511 are reserved or for software, and left alone.
 */
const FX_USED = 288;
/** The image is built in (and parsed from) this scratch copy, then moved in one step when the host allows. */
const FX_IMAGE = new Uint8Array(FX_USED);
const FX_VIEW = new DataView(FX_IMAGE.buffer);

/**
 * Writes the FXSAVE image (bytes 288..511 are left untouched): the
 * environment (its tag word unused: the abridged tag goes in), then
 * ST(0)..ST(7) from the register file `regs` (physical register
 * (top + k) & 7 for ST(k)) as raw words, no BigInt: the kernel saves the FPU
 * state at every context switch, so the image goes to memory in one copy
 * when the host can, else dword by dword.
 */
export function storeFxsave(host: FpuHost, seg: number, off: number, e: X87Environment, abridgedTag: number, regs: X87Storage, top: number): void {
  const v = FX_VIEW;
  FX_IMAGE.fill(0);
  v.setUint16(0, e.cw, true);
  v.setUint16(2, e.sw, true);
  v.setUint8(4, abridgedTag);
  v.setUint16(6, e.fop & 0x7ff, true);
  v.setUint32(8, e.fip >>> 0, true);
  v.setUint32(12, e.fcs & 0xffff, true);
  v.setUint32(16, e.fdp >>> 0, true);
  v.setUint32(20, e.fds & 0xffff, true);
  v.setUint32(24, FXSAVE_MXCSR, true);
  v.setUint32(28, FXSAVE_MXCSR_MASK, true);
  for (let k = 0; k < 8; k++) {
    const p = (top + k) & 7;
    const at = 32 + 16 * k;
    v.setUint32(at, regs.lo[p]!, true);
    v.setUint32(at + 4, regs.hi[p]!, true);
    v.setUint32(at + 8, regs.se[p]!, true); // the sign/exponent word, then two zero bytes
  }
  if (host.tryWriteBytes(seg, off, FX_IMAGE)) return;
  for (let at = 0; at < FX_USED; at += 4) host.writeU32(seg, off + at, v.getUint32(at, true));
}

/** Reads an FXSAVE image's environment and abridged tag, and its registers into `regs` (ST(k) to physical (TOP + k) & 7 of the image's TOP). */
export function loadFxsave(host: FpuHost, seg: number, off: number, regs: X87Storage): { env: X87Environment; abridgedTag: number } {
  // Read everything before writing anything: a fault leaves the registers as they were.
  const v = FX_VIEW;
  if (!host.tryReadBytes(seg, off, FX_IMAGE)) {
    for (let at = 0; at < 32 + 16 * 8; at += 4) v.setUint32(at, host.readU32(seg, off + at), true);
  }
  const env: X87Environment = {
    cw: v.getUint16(0, true),
    sw: v.getUint16(2, true),
    tw: 0,
    fop: v.getUint16(6, true) & 0x7ff,
    fip: v.getUint32(8, true),
    fcs: v.getUint16(12, true),
    fdp: v.getUint32(16, true),
    fds: v.getUint16(20, true),
  };
  const abridgedTag = v.getUint8(4);
  const top = (env.sw >> 11) & 7;
  for (let k = 0; k < 8; k++) {
    const p = (top + k) & 7;
    const at = 32 + 16 * k;
    regs.lo[p] = v.getUint32(at, true);
    regs.hi[p] = v.getUint32(at + 4, true);
    regs.se[p] = v.getUint16(at + 8, true);
  }
  return { env, abridgedTag };
}
