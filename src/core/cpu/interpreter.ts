/**
 * The interpreter: decodes and executes ONE instruction per call of step().
 * Decoding is table driven (opcode-table.ts: ModRM presence, LOCK legality);
 * execution is one big switch over the unified 0x000-0x1FF opcode space
 * (0x1xx = 0F xx), with the frequent forms inline and the rest in helpers.
 * Unknown opcodes and invalid forms raise #UD. All guest faults are thrown as
 * GUEST_FAULT (exceptions.ts) and handled by the run loop (cpu.ts).
 */
import type { CpuCore } from './state.ts';
import {
  S_CS, S_SS, S_DS, S_ES, S_FS, S_GS, F_CF, F_DF, F_IF, F_VM, F_RF, F_ZF, F_SF, F_AF, F_PF, F_IOPL,
} from './constants.ts';
import { fetch8, fetch16, fetch32, fetchS8, fetchSlow8, jumpTo, getEip } from './fetch.ts';
import { GUEST_FAULT } from './exceptions.ts';
import { serviceEvents, handleFault, hostError } from './events.ts';
import { decodeEA, decodePrefixes, resetPrefixes, IS_PREFIX } from './decoder.ts';
import { HAS_MODRM, LOCK_OK } from './opcode-table.ts';
import { rd8, rd16, rd32, wr8, wr16, wr32 } from './access.ts';
import { readLin8, readLin32, writeLin32 } from './memory.ts';
import { TLB_MASK } from './state.ts';
import { L_ADD, L_SUB, L_LOGIC } from './flags.ts';
import { inc, dec, neg, testOp } from './alu.ts';
import { shiftOp, shld, shrd } from './shift.ts';
import { mul, imul1, imul2, div, idiv } from './muldiv.ts';
import { daa, das, aaa, aas, aam, aad } from './bcd.ts';
import { getCF, getOF, testCC, setSomeFlags, readEflags, materialize } from './flags.ts';
import { writeEflags, popfMask } from './eflags.ts';
import {
  getReg8, setReg8, setReg16, setRegV, getE8, getE16, getE32, getEv, setE8, setE16, setEv, rmwE8, rmwEv, fetchIz,
  aluEbGb, aluEvGv, aluGbEb, aluGvEv, aluALIb, aluEAXIz, aluEImm,
} from './operands.ts';
import { push32, push16, pushV, pop32, popV, peek16, peek32, poke16, poke32, spAdd } from './stack.ts';
import { pusha, popa, enter, leave, bound } from './frames.ts';
import { bitTest, bitScan, bswap, cmpxchg, cmpxchg8b, xadd } from './bitops.ts';
import { stringOp } from './string-ops.ts';
import { portIn, portOut } from './io.ts';
import { loadSeg } from './segmentation.ts';
import { farJmp, farCall, farRet, iret } from './control-flow.ts';
import { deliverInterrupt } from './interrupts.ts';
import { raiseGP, raiseUD, raiseTrap } from './exceptions.ts';
import {
  requireCpl0, requireProtected, movToCr, movFromCr, movToDr, movFromDr, clts, lmsw, invlpg, loadDescriptorTable,
  lldt, ltr, lar, lsl, verr, sysenter, sysexit, rdtsc,
} from './system-ops.ts';
import { rdmsr, wrmsr } from './msr.ts';
import { cpuid } from './cpuid.ts';
import { escape, fwait, fxsaveRestore } from './fpu-glue.ts';

function checkLock(c: CpuCore, op: number, modrm: number): void {
  if (HAS_MODRM[op] !== 1 || modrm >= 0xc0 || LOCK_OK[op * 8 + ((modrm >> 3) & 7)] === 0) raiseUD(c);
}

/** 32-bit load of the decoded memory operand: TLB fast path for flat segments, else the checked path. */
function load32(c: CpuCore): number {
  const seg = c.eaSeg;
  if (c.segOkR[seg] !== 0) {
    const lin = (c.segBase[seg] + c.ea) | 0;
    const vp = lin >>> 12;
    const i = vp & TLB_MASK;
    if (c.tlbRd[i] === (vp | c.tlbKey) && (lin & 0xfff) <= 0xffc) return c.dv.getInt32((lin + c.tlbDelta[i]) | 0, true);
    return readLin32(c, lin);
  }
  return rd32(c, seg, c.ea);
}

function load8(c: CpuCore): number {
  const seg = c.eaSeg;
  if (c.segOkR[seg] !== 0) {
    const lin = (c.segBase[seg] + c.ea) | 0;
    const vp = lin >>> 12;
    const i = vp & TLB_MASK;
    if (c.tlbRd[i] === (vp | c.tlbKey)) return c.mem8[(lin + c.tlbDelta[i]) | 0];
    return readLin8(c, lin);
  }
  return rd8(c, seg, c.ea);
}

function store32(c: CpuCore, v: number): void {
  const seg = c.eaSeg;
  if (c.segOkW[seg] !== 0) {
    const lin = (c.segBase[seg] + c.ea) | 0;
    const vp = lin >>> 12;
    const i = vp & TLB_MASK;
    if (c.tlbWr[i] === (vp | c.tlbKey) && (lin & 0xfff) <= 0xffc) {
      c.dv.setInt32((lin + c.tlbDelta[i]) | 0, v, true);
      return;
    }
    writeLin32(c, lin, v);
    return;
  }
  wr32(c, seg, c.ea, v);
}

/** Relative jump by `d` from the current EIP, truncated to 16 bits with a 16-bit operand size. */
function jumpRel(c: CpuCore, d: number): void {
  const t = (c.fp + c.fpEipBase + d) | 0;
  jumpTo(c, c.o32 ? t : t & 0xffff);
}

/** INT n / INT3 / INTO: software interrupts (gate DPL checked). With trapExceptions, INT3/INTO stop the run as #BP/#OF traps. */
function softInt(c: CpuCore, vec: number, isException: boolean): void {
  if (isException && c.trapExceptions) raiseTrap(c, vec);
  if (c.pe !== 0 && (c.flags & F_VM) !== 0) raiseGP(c, 0);
  deliverInterrupt(c, vec, -1, true, 0);
  c.tfArmed = false; // the handler is entered with TF clear; no single-step trap after INT n
}

/**
 * Run up to `budget` instructions (fewer when an event stops the run: see
 * c.stopReason). Returns the number of instructions retired. Guest faults
 * are caught here, inside the loop, so the local counters survive them.
 */
export function execute(c: CpuCore, budget: number): number {
  const r = c.regs;
  let done = 0;
  let spent = 0;
  for (;;) {
    try {
      while (spent < budget) {
        if (c.events !== 0 && serviceEvents(c)) return done;
        spent++;
        if (c.pfx !== 0) resetPrefixes(c);
        const p = c.fp;
        c.eipStart = (p + c.fpEipBase) | 0;
        let op: number;
        if (p < c.fpEnd) {
          op = c.mem8[p];
          c.fp = p + 1;
        } else {
          op = fetchSlow8(c);
        }
        let info = OPINFO[op];
        let prefixed = false;
        if (info >= 0x80) {
          if (op === 0x0f) {
            op = 0x100 | fetch8(c);
          } else {
            op = decodeOpcodeSlow(c, op);
            prefixed = true;
          }
          info = OPINFO[op];
        }
        let modrm = 0;
        if (info !== 0) {
          const q = c.fp;
          if (q < c.fpEnd) {
            modrm = c.mem8[q];
            c.fp = q + 1;
          } else {
            modrm = fetchSlow8(c);
          }
          if (modrm < 0xc0 && info === 1) {
            const rm = modrm & 7;
            if (rm !== 4 && c.a32 && (modrm >= 0x40 || rm !== 5)) {
              // [reg], [reg + disp8], [reg + disp32]: the common forms, decoded inline.
              let ea = r[rm];
              if (modrm >= 0x80) {
                ea = (ea + fetch32(c)) | 0;
              } else if (modrm >= 0x40) {
                const q2 = c.fp;
                if (q2 < c.fpEnd) {
                  ea = (ea + ((c.mem8[q2] << 24) >> 24)) | 0;
                  c.fp = q2 + 1;
                } else {
                  ea = (ea + fetchS8(c)) | 0;
                }
              }
              c.ea = ea;
              c.eaSeg = c.segOvr >= 0 ? c.segOvr : rm === 5 ? S_SS : S_DS;
            } else {
              decodeEA(c, modrm);
            }
          }
        }
        if (prefixed && c.lock) checkLock(c, op, modrm);
        switch (op) {
          // ---- ALU 00-3F ----
          case 0x00: case 0x08: case 0x10: case 0x18: case 0x20: case 0x28: case 0x30: case 0x38:
            aluEbGb(c, op >> 3, modrm); break;
          case 0x01: case 0x09: case 0x21: case 0x29: case 0x31: case 0x39:
            if (modrm >= 0xc0 && c.o32) {
              // 32-bit register forms of ADD/OR/AND/SUB/XOR/CMP inline (hot in compiled code).
              const d = modrm & 7;
              const a = r[d];
              const b = r[(modrm >> 3) & 7];
              let res: number;
              if (op === 0x01) { res = (a + b) | 0; c.lop = L_ADD; }
              else if (op === 0x29 || op === 0x39) { res = (a - b) | 0; c.lop = L_SUB; }
              else { res = op === 0x31 ? a ^ b : op === 0x21 ? a & b : a | b; c.lop = L_LOGIC; }
              c.ldst = a; c.lsrc = b; c.lres = res; c.lsz = 2;
              if (op !== 0x39) r[d] = res;
            } else {
              aluEvGv(c, op >> 3, modrm);
            }
            break;
          case 0x02: case 0x0a: case 0x12: case 0x1a: case 0x22: case 0x2a: case 0x32: case 0x3a:
            aluGbEb(c, op >> 3, modrm); break;
          case 0x03: case 0x0b: case 0x23: case 0x2b: case 0x33: case 0x3b:
            if (c.o32) {
              const d = (modrm >> 3) & 7;
              const a = r[d];
              const b = modrm >= 0xc0 ? r[modrm & 7] : load32(c);
              let res: number;
              if (op === 0x03) { res = (a + b) | 0; c.lop = L_ADD; }
              else if (op === 0x2b || op === 0x3b) { res = (a - b) | 0; c.lop = L_SUB; }
              else { res = op === 0x33 ? a ^ b : op === 0x23 ? a & b : a | b; c.lop = L_LOGIC; }
              c.ldst = a; c.lsrc = b; c.lres = res; c.lsz = 2;
              if (op !== 0x3b) r[d] = res;
            } else {
              aluGvEv(c, op >> 3, modrm);
            }
            break;
          case 0x04: case 0x0c: case 0x14: case 0x1c: case 0x24: case 0x2c: case 0x34: case 0x3c:
            aluALIb(c, op >> 3); break;
          case 0x05: case 0x0d: case 0x15: case 0x1d: case 0x25: case 0x2d: case 0x35: case 0x3d:
            aluEAXIz(c, op >> 3); break;
          // ---- INC/DEC/PUSH/POP r ----
          case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
            if (c.o32) r[op & 7] = inc(c, r[op & 7], 2);
            else setReg16(c, op & 7, inc(c, r[op & 7], 1));
            break;
          case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
            if (c.o32) r[op & 7] = dec(c, r[op & 7], 2);
            else setReg16(c, op & 7, dec(c, r[op & 7], 1));
            break;
          case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
            if (c.o32) {
              const v = r[op & 7];
              const n = (r[4] - 4) | 0;
              if (c.ss32 && c.segOkW[S_SS] !== 0) {
                const lin = (c.segBase[S_SS] + n) | 0;
                const vp = lin >>> 12;
                const i = vp & TLB_MASK;
                if (c.tlbWr[i] === (vp | c.tlbKey) && (lin & 0xfff) <= 0xffc) {
                  c.dv.setInt32((lin + c.tlbDelta[i]) | 0, v, true);
                  r[4] = n;
                  break;
                }
              }
              push32(c, v);
            } else {
              push16(c, r[op & 7]);
            }
            break;
          case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f:
            if (c.o32) {
              if (c.ss32 && c.segOkR[S_SS] !== 0) {
                const sp = r[4];
                const lin = (c.segBase[S_SS] + sp) | 0;
                const vp = lin >>> 12;
                const i = vp & TLB_MASK;
                if (c.tlbRd[i] === (vp | c.tlbKey) && (lin & 0xfff) <= 0xffc) {
                  const v = c.dv.getInt32((lin + c.tlbDelta[i]) | 0, true);
                  r[4] = (sp + 4) | 0;
                  r[op & 7] = v;
                  break;
                }
              }
              r[op & 7] = pop32(c);
            } else {
              setReg16(c, op & 7, popV(c));
            }
            break;
          // ---- Jcc rel8 ----
          case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
          case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f: {
            const q = c.fp;
            let d: number;
            if (q < c.fpEnd) {
              d = (c.mem8[q] << 24) >> 24;
              c.fp = q + 1;
            } else {
              d = fetchS8(c);
            }
            const cc = op & 15;
            if ((cc === 4 || cc === 5) && c.lop !== 0 ? (c.lres === 0) === (cc === 4) : testCC(c, cc)) {
              // Short jump inside the cached code page: just move the fetch pointer.
              const np = c.fp + d;
              if (c.o32 && np >= c.fpStart && np < c.fpEnd) c.fp = np;
              else jumpRel(c, d);
            }
            break;
          }

          // ---- group 1 ----
          case 0x80: case 0x82: aluEImm(c, (modrm >> 3) & 7, modrm, fetch8(c), 0); break;
          case 0x81: aluEImm(c, (modrm >> 3) & 7, modrm, fetchIz(c), c.o32 ? 2 : 1); break;
          case 0x83: {
            const k = (modrm >> 3) & 7;
            const imm = fetchS8(c);
            if (modrm >= 0xc0 && c.o32 && (k === 0 || k === 5 || k === 7 || k === 4)) {
              const d = modrm & 7;
              const a = r[d];
              let res: number;
              if (k === 0) { res = (a + imm) | 0; c.lop = L_ADD; }
              else if (k === 4) { res = a & imm; c.lop = L_LOGIC; }
              else { res = (a - imm) | 0; c.lop = L_SUB; }
              c.ldst = a; c.lsrc = imm; c.lres = res; c.lsz = 2;
              if (k !== 7) r[d] = res;
            } else {
              aluEImm(c, k, modrm, imm, c.o32 ? 2 : 1);
            }
            break;
          }
          case 0x84: testOp(c, getE8(c, modrm), getReg8(c, (modrm >> 3) & 7), 0); break;
          case 0x85:
            if (c.o32) testOp(c, getE32(c, modrm), r[(modrm >> 3) & 7], 2);
            else testOp(c, getE16(c, modrm), r[(modrm >> 3) & 7], 1);
            break;
          case 0x86: {
            const v = rmwE8(c, modrm);
            const g = (modrm >> 3) & 7;
            setE8(c, modrm, getReg8(c, g));
            setReg8(c, g, v);
            break;
          }
          case 0x87: {
            const v = rmwEv(c, modrm);
            const g = (modrm >> 3) & 7;
            setEv(c, modrm, r[g]);
            setRegV(c, g, v);
            break;
          }

          // ---- MOV ----
          case 0x88: setE8(c, modrm, getReg8(c, (modrm >> 3) & 7)); break;
          case 0x89:
            if (modrm >= 0xc0) {
              if (c.o32) r[modrm & 7] = r[(modrm >> 3) & 7];
              else setReg16(c, modrm & 7, r[(modrm >> 3) & 7]);
            } else if (c.o32) {
              store32(c, r[(modrm >> 3) & 7]);
            } else {
              wr16(c, c.eaSeg, c.ea, r[(modrm >> 3) & 7] & 0xffff);
            }
            break;
          case 0x8a: setReg8(c, (modrm >> 3) & 7, getE8(c, modrm)); break;
          case 0x8b:
            if (c.o32) r[(modrm >> 3) & 7] = modrm >= 0xc0 ? r[modrm & 7] : load32(c);
            else setReg16(c, (modrm >> 3) & 7, getE16(c, modrm));
            break;
          case 0x8d:
            if (modrm >= 0xc0) raiseUD(c);
            setRegV(c, (modrm >> 3) & 7, c.ea);
            break;
          case 0x90: break; // NOP, and F3 90 = PAUSE
          case 0x98:
            if (c.o32) r[0] = (r[0] << 16) >> 16;
            else setReg16(c, 0, (r[0] << 24) >> 24);
            break;
          case 0x99:
            if (c.o32) r[2] = r[0] >> 31;
            else setReg16(c, 2, (r[0] << 16) >> 31);
            break;
          case 0xa1: {
            const off = c.a32 ? fetch32(c) : fetch16(c);
            const seg = c.segOvr >= 0 ? c.segOvr : S_DS;
            if (c.o32) r[0] = rd32(c, seg, off);
            else setReg16(c, 0, rd16(c, seg, off));
            break;
          }
          case 0xa3: {
            const off = c.a32 ? fetch32(c) : fetch16(c);
            const seg = c.segOvr >= 0 ? c.segOvr : S_DS;
            if (c.o32) wr32(c, seg, off, r[0]);
            else wr16(c, seg, off, r[0] & 0xffff);
            break;
          }
          case 0xa4: case 0xa5: case 0xa6: case 0xa7: case 0xaa: case 0xab: case 0xac: case 0xad: case 0xae: case 0xaf:
            stringOp(c, op); break;
          case 0xa8: testOp(c, r[0], fetch8(c), 0); break;
          case 0xa9:
            if (c.o32) testOp(c, r[0], fetch32(c), 2);
            else testOp(c, r[0], fetch16(c), 1);
            break;
          case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
            setReg8(c, op & 7, fetch8(c)); break;
          case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
            if (c.o32) r[op & 7] = fetch32(c);
            else setReg16(c, op & 7, fetch16(c));
            break;

          // ---- shifts ----
          case 0xc0: { const v = rmwE8(c, modrm); setE8(c, modrm, shiftOp(c, (modrm >> 3) & 7, v, fetch8(c), 0)); break; }
          case 0xc1: { const v = rmwEv(c, modrm); setEv(c, modrm, shiftOp(c, (modrm >> 3) & 7, v, fetch8(c), c.o32 ? 2 : 1)); break; }
          case 0xd1: setEv(c, modrm, shiftOp(c, (modrm >> 3) & 7, rmwEv(c, modrm), 1, c.o32 ? 2 : 1)); break;
          case 0xd3: setEv(c, modrm, shiftOp(c, (modrm >> 3) & 7, rmwEv(c, modrm), r[1] & 0xff, c.o32 ? 2 : 1)); break;

          // ---- near returns / calls / jumps ----
          case 0xc2: case 0xc3: {
            const imm = op === 0xc2 ? fetch16(c) : 0;
            if (c.o32 && c.ss32 && c.segOkR[S_SS] !== 0) {
              // Flat 32-bit stack: pop the return address through the TLB inline.
              const sp = r[4];
              const lin = (c.segBase[S_SS] + sp) | 0;
              const vp = lin >>> 12;
              const i = vp & TLB_MASK;
              if (c.tlbRd[i] === (vp | c.tlbKey) && (lin & 0xfff) <= 0xffc) {
                const t = c.dv.getInt32((lin + c.tlbDelta[i]) | 0, true);
                const np = (t - c.fpEipBase) | 0;
                if (np >= c.fpStart && np < c.fpEnd) c.fp = np;
                else jumpTo(c, t);
                r[4] = (sp + 4 + imm) | 0;
                break;
              }
            }
            if (c.o32) {
              jumpTo(c, peek32(c, 0));
              r[4] = spAdd(c, 4 + imm);
            } else {
              jumpTo(c, peek16(c, 0));
              r[4] = spAdd(c, 2 + imm);
            }
            break;
          }
          case 0xc6:
            if ((modrm & 0x38) !== 0) raiseUD(c);
            setE8(c, modrm, fetch8(c));
            break;
          case 0xc7:
            if ((modrm & 0x38) !== 0) raiseUD(c);
            setEv(c, modrm, fetchIz(c));
            break;
          case 0xe8: {
            const d = c.o32 ? fetch32(c) : fetch16(c);
            const ret = getEip(c);
            const t = (ret + d) | 0;
            if (c.o32 && c.ss32 && c.segOkW[S_SS] !== 0) {
              const n = (r[4] - 4) | 0;
              const lin = (c.segBase[S_SS] + n) | 0;
              const vp = lin >>> 12;
              const i = vp & TLB_MASK;
              if (c.tlbWr[i] === (vp | c.tlbKey) && (lin & 0xfff) <= 0xffc) {
                const np = (t - c.fpEipBase) | 0;
                if (np >= c.fpStart && np < c.fpEnd) c.fp = np;
                else jumpTo(c, t); // may #GP: nothing written yet
                c.dv.setInt32((lin + c.tlbDelta[i]) | 0, ret, true);
                r[4] = n;
                break;
              }
            }
            if (c.o32) {
              poke32(c, -4, ret);
              jumpTo(c, t);
              r[4] = spAdd(c, -4);
            } else {
              poke16(c, -2, ret);
              jumpTo(c, t & 0xffff);
              r[4] = spAdd(c, -2);
            }
            break;
          }
          case 0xe9: jumpRel(c, c.o32 ? fetch32(c) : fetch16(c)); break;
          case 0xeb: jumpRel(c, fetchS8(c)); break;
          case 0xf6: group3(c, modrm, 0); break;
          case 0xf7: group3(c, modrm, c.o32 ? 2 : 1); break;
          case 0xfe: {
            const k = (modrm >> 3) & 7;
            if (k > 1) raiseUD(c);
            const v = rmwE8(c, modrm);
            setE8(c, modrm, k === 0 ? inc(c, v, 0) : dec(c, v, 0));
            break;
          }
          case 0xff: group5(c, modrm); break;

          case 0x140: case 0x141: case 0x142: case 0x143: case 0x144: case 0x145: case 0x146: case 0x147:
          case 0x148: case 0x149: case 0x14a: case 0x14b: case 0x14c: case 0x14d: case 0x14e: case 0x14f: {
            const v = getEv(c, modrm);
            if (testCC(c, op & 15)) setRegV(c, (modrm >> 3) & 7, v);
            break;
          }
          case 0x180: case 0x181: case 0x182: case 0x183: case 0x184: case 0x185: case 0x186: case 0x187:
          case 0x188: case 0x189: case 0x18a: case 0x18b: case 0x18c: case 0x18d: case 0x18e: case 0x18f: {
            const d = c.o32 ? fetch32(c) : fetch16(c);
            if (testCC(c, op & 15)) jumpRel(c, d);
            break;
          }
          case 0x190: case 0x191: case 0x192: case 0x193: case 0x194: case 0x195: case 0x196: case 0x197:
          case 0x198: case 0x199: case 0x19a: case 0x19b: case 0x19c: case 0x19d: case 0x19e: case 0x19f:
            setE8(c, modrm, testCC(c, op & 15) ? 1 : 0); break;
          case 0x1a3: bitTest(c, 0, modrm, r[(modrm >> 3) & 7], true); break;
          case 0x1af: setRegV(c, (modrm >> 3) & 7, imul2(c, r[(modrm >> 3) & 7], getEv(c, modrm), c.o32 ? 2 : 1)); break;
          case 0x1b1: cmpxchg(c, modrm, c.o32 ? 2 : 1); break;
          case 0x1b6:
            if (c.o32) r[(modrm >> 3) & 7] = modrm >= 0xc0 ? getReg8(c, modrm & 7) : load8(c);
            else setRegV(c, (modrm >> 3) & 7, getE8(c, modrm));
            break;
          case 0x1b7: setRegV(c, (modrm >> 3) & 7, getE16(c, modrm)); break;
          case 0x1be: setRegV(c, (modrm >> 3) & 7, (getE8(c, modrm) << 24) >> 24); break;
          case 0x1bf: setRegV(c, (modrm >> 3) & 7, (getE16(c, modrm) << 16) >> 16); break;
          case 0x1c1: xadd(c, modrm, c.o32 ? 2 : 1); break;
          default:
            dispatchCold(c, op, modrm);

        }
        done++;
      }
      return done;
    } catch (e) {
      if (e !== GUEST_FAULT) throw hostError(c, e);
      if (c.excTrap) done++; // INT3/INTO/INT1 traps complete their instruction
      if (handleFault(c)) return done;
    }
  }
}

/**
 * Per opcode (0..0x1FF): 0 no ModRM, 1 ModRM with memory forms, 2 ModRM
 * register-only; 0x80 for one-byte prefixes and the 0F escape.
 */
const OPINFO = new Uint8Array(512);
for (let i = 0; i < 512; i++) OPINFO[i] = HAS_MODRM[i];
for (let i = 0; i < 256; i++) if (IS_PREFIX[i] !== 0) OPINFO[i] = 0x80;
OPINFO[0x0f] = 0x80;

/** Prefixes and/or the 0F escape: returns the opcode in the 0x000-0x1FF space. */
function decodeOpcodeSlow(c: CpuCore, op: number): number {
  if (IS_PREFIX[op] !== 0) op = decodePrefixes(c, op);
  if (op === 0x0f) op = 0x100 | fetch8(c);
  return op;
}

/** The less frequent opcodes, kept out of execute() so its switch stays small. */
function dispatchCold(c: CpuCore, op: number, modrm: number): void {
  const r = c.regs;
  switch (op) {
    case 0x11: case 0x19:
      aluEvGv(c, op >> 3, modrm); break;
    case 0x13: case 0x1b:
      aluGvEv(c, op >> 3, modrm); break;
    case 0x06: pushV(c, c.segSel[S_ES]); break;
    case 0x0e: pushV(c, c.segSel[S_CS]); break;
    case 0x16: pushV(c, c.segSel[S_SS]); break;
    case 0x1e: pushV(c, c.segSel[S_DS]); break;
    case 0x07: popSeg(c, S_ES); break;
    case 0x17: popSeg(c, S_SS); break;
    case 0x1f: popSeg(c, S_DS); break;
    case 0x27: daa(c); break;
    case 0x2f: das(c); break;
    case 0x37: aaa(c); break;
    case 0x3f: aas(c); break;

    case 0x60: pusha(c); break;
    case 0x61: popa(c); break;
    case 0x62: bound(c, modrm); break;
    case 0x63: arpl(c, modrm); break;
    case 0x68: pushV(c, fetchIz(c)); break;
    case 0x69: {
      const src = getEv(c, modrm);
      const imm = fetchIz(c);
      setRegV(c, (modrm >> 3) & 7, imul2(c, src, imm, c.o32 ? 2 : 1));
      break;
    }
    case 0x6a: pushV(c, fetchS8(c)); break;
    case 0x6b: {
      const src = getEv(c, modrm);
      const imm = fetchS8(c);
      setRegV(c, (modrm >> 3) & 7, imul2(c, src, imm, c.o32 ? 2 : 1));
      break;
    }
    case 0x6c: case 0x6d: case 0x6e: case 0x6f:
      stringOp(c, op); break;

    case 0x8c: {
      const s = (modrm >> 3) & 7;
      if (s > 5) raiseUD(c);
      if (modrm >= 0xc0) setRegV(c, modrm & 7, c.segSel[s]);
      else wr16(c, c.eaSeg, c.ea, c.segSel[s]);
      break;
    }
    case 0x8e: {
      const s = (modrm >> 3) & 7;
      if (s === S_CS || s > 5) raiseUD(c);
      loadSeg(c, s, getE16(c, modrm));
      if (s === S_SS) { c.shadow = 1; c.events = 1; }
      break;
    }
    case 0x8f: popEv(c, modrm); break;

    case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97: {
      const n = op & 7;
      const t = r[n];
      setRegV(c, n, r[0]);
      setRegV(c, 0, t);
      break;
    }
    case 0x9a: {
      const off = fetchIz(c);
      const sel = fetch16(c);
      farCall(c, sel, off);
      break;
    }
    case 0x9b: fwait(c); break;
    case 0x9c: pushf(c); break;
    case 0x9d: popf(c); break;
    case 0x9e: setSomeFlags(c, F_SF | F_ZF | F_AF | F_PF | F_CF, (r[0] >> 8) & 0xff); break;
    case 0x9f: r[0] = (r[0] & ~0xff00) | (((readEflags(c) & 0xd5) | 2) << 8); break;
    case 0xa0: setReg8(c, 0, rd8(c, c.segOvr >= 0 ? c.segOvr : S_DS, c.a32 ? fetch32(c) : fetch16(c))); break;
    case 0xa2: wr8(c, c.segOvr >= 0 ? c.segOvr : S_DS, c.a32 ? fetch32(c) : fetch16(c), r[0] & 0xff); break;
    case 0xd0: setE8(c, modrm, shiftOp(c, (modrm >> 3) & 7, rmwE8(c, modrm), 1, 0)); break;
    case 0xd2: setE8(c, modrm, shiftOp(c, (modrm >> 3) & 7, rmwE8(c, modrm), r[1] & 0xff, 0)); break;
    case 0xc4: loadFarPointer(c, modrm, S_ES); break;
    case 0xc5: loadFarPointer(c, modrm, S_DS); break;
    case 0xc8: { const size = fetch16(c); enter(c, size, fetch8(c)); break; }
    case 0xc9: leave(c); break;
    case 0xca: farRet(c, fetch16(c)); break;
    case 0xcb: farRet(c, 0); break;
    case 0xcc: softInt(c, 3, true); break;
    case 0xcd: softInt(c, fetch8(c), false); break;
    case 0xce: if (getOF(c) !== 0) softInt(c, 4, true); break;
    case 0xcf: iret(c); break;
    case 0xd4: aam(c, fetch8(c)); break;
    case 0xd5: aad(c, fetch8(c)); break;
    case 0xd6: r[0] = (r[0] & ~0xff) | (getCF(c) !== 0 ? 0xff : 0); break; // SALC
    case 0xd7: {
      const base = c.a32 ? r[3] : r[3] & 0xffff;
      const off = c.a32 ? (base + (r[0] & 0xff)) | 0 : (base + (r[0] & 0xff)) & 0xffff;
      setReg8(c, 0, rd8(c, c.segOvr >= 0 ? c.segOvr : S_DS, off));
      break;
    }
    case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf:
      escape(c, op, modrm); break;
    case 0xe0: case 0xe1: case 0xe2: {
      const d = fetchS8(c);
      let cnt: number;
      if (c.a32) { cnt = (r[1] - 1) | 0; r[1] = cnt; } else { cnt = (r[1] - 1) & 0xffff; setReg16(c, 1, cnt); }
      let take = cnt !== 0;
      if (op === 0xe0) take = take && (testCC(c, 4) === false);
      else if (op === 0xe1) take = take && testCC(c, 4);
      if (take) jumpRel(c, d);
      break;
    }
    case 0xe3: {
      const d = fetchS8(c);
      if ((c.a32 ? r[1] : r[1] & 0xffff) === 0) jumpRel(c, d);
      break;
    }
    case 0xe4: setReg8(c, 0, portIn(c, fetch8(c), 1)); break;
    case 0xe5: { const p = fetch8(c); if (c.o32) r[0] = portIn(c, p, 4); else setReg16(c, 0, portIn(c, p, 2)); break; }
    case 0xe6: portOut(c, fetch8(c), 1, r[0]); break;
    case 0xe7: portOut(c, fetch8(c), c.o32 ? 4 : 2, r[0]); break;
    case 0xec: setReg8(c, 0, portIn(c, r[2] & 0xffff, 1)); break;
    case 0xed: if (c.o32) r[0] = portIn(c, r[2] & 0xffff, 4); else setReg16(c, 0, portIn(c, r[2] & 0xffff, 2)); break;
    case 0xee: portOut(c, r[2] & 0xffff, 1, r[0]); break;
    case 0xef: portOut(c, r[2] & 0xffff, c.o32 ? 4 : 2, r[0]); break;
    case 0xea: {
      const off = fetchIz(c);
      farJmp(c, fetch16(c), off);
      break;
    }
    case 0xf1: // INT1 / ICEBP: #DB as a trap, without the gate DPL check
      if (c.trapExceptions) raiseTrap(c, 1);
      deliverInterrupt(c, 1, -1, false, 0);
      c.tfArmed = false;
      break;
    case 0xf4:
      requireCpl0(c);
      c.halted = true;
      c.events = 1;
      break;
    case 0xf5: setSomeFlags(c, F_CF, getCF(c) ^ 1); break;
    case 0xf8: setSomeFlags(c, F_CF, 0); break;
    case 0xf9: setSomeFlags(c, F_CF, F_CF); break;
    case 0xfa: cli(c); break;
    case 0xfb: sti(c); break;
    case 0xfc: c.flags &= ~F_DF; break;
    case 0xfd: c.flags |= F_DF; break;
    // ================= 0F xx =================
    case 0x100: group6(c, modrm); break;
    case 0x101: group7(c, modrm); break;
    case 0x102: { const v = lar(c, getE16(c, modrm)); if (getZFset(c)) setRegV(c, (modrm >> 3) & 7, c.o32 ? v : v & 0xff00); break; }
    case 0x103: { const v = lsl(c, getE16(c, modrm)); if (getZFset(c)) setRegV(c, (modrm >> 3) & 7, v); break; }
    case 0x106: clts(c); break;
    case 0x108: case 0x109: requireCpl0(c); break; // INVD / WBINVD: no caches to manage
    case 0x118: case 0x119: case 0x11a: case 0x11b: case 0x11c: case 0x11d: case 0x11e: case 0x11f:
      break; // hint NOPs (incl. F3 0F 1E FB ENDBR32): ModRM decoded, nothing accessed
    case 0x120: r[modrm & 7] = movFromCr(c, (modrm >> 3) & 7); break;
    case 0x121: r[modrm & 7] = movFromDr(c, (modrm >> 3) & 7); break;
    case 0x122: movToCr(c, (modrm >> 3) & 7, r[modrm & 7]); break;
    case 0x123: movToDr(c, (modrm >> 3) & 7, r[modrm & 7]); break;
    case 0x130: requireCpl0(c); wrmsr(c); break;
    case 0x131: rdtsc(c); break;
    case 0x132: requireCpl0(c); rdmsr(c); break;
    case 0x133: // RDPMC: no counters; #GP like an unsupported counter index
      raiseGP(c, 0);
      break;
    case 0x134: sysenter(c); break;
    case 0x135: sysexit(c); break;
    case 0x1a0: pushV(c, c.segSel[S_FS]); break;
    case 0x1a1: popSeg(c, S_FS); break;
    case 0x1a2: cpuid(c); break;
    case 0x1a4: case 0x1a5: case 0x1ac: case 0x1ad: {
      const sz = c.o32 ? 2 : 1;
      const v = rmwEv(c, modrm);
      const cnt = (op & 1) === 0 ? fetch8(c) : r[1] & 0xff;
      const src = r[(modrm >> 3) & 7];
      setEv(c, modrm, op < 0x1ac ? shld(c, v, src, cnt, sz) : shrd(c, v, src, cnt, sz));
      break;
    }
    case 0x1a8: pushV(c, c.segSel[S_GS]); break;
    case 0x1a9: popSeg(c, S_GS); break;
    case 0x1ab: bitTest(c, 1, modrm, r[(modrm >> 3) & 7], true); break;
    case 0x1ae: fxsaveRestore(c, modrm); break;
    case 0x1b0: cmpxchg(c, modrm, 0); break;
    case 0x1b2: loadFarPointer(c, modrm, S_SS); break;
    case 0x1b3: bitTest(c, 2, modrm, r[(modrm >> 3) & 7], true); break;
    case 0x1b4: loadFarPointer(c, modrm, S_FS); break;
    case 0x1b5: loadFarPointer(c, modrm, S_GS); break;
    case 0x1ba: {
      const k = (modrm >> 3) & 7;
      if (k < 4) raiseUD(c);
      bitTest(c, k - 4, modrm, fetch8(c), false);
      break;
    }
    case 0x1bb: bitTest(c, 3, modrm, r[(modrm >> 3) & 7], true); break;
    case 0x1bc: bitScan(c, (modrm >> 3) & 7, getEv(c, modrm), false); break;
    case 0x1bd: bitScan(c, (modrm >> 3) & 7, getEv(c, modrm), true); break;
    case 0x1c0: xadd(c, modrm, 0); break;
    case 0x1c7:
      if (((modrm >> 3) & 7) !== 1) raiseUD(c);
      cmpxchg8b(c, modrm);
      break;
    case 0x1c8: case 0x1c9: case 0x1ca: case 0x1cb: case 0x1cc: case 0x1cd: case 0x1ce: case 0x1cf:
      if (c.o32) r[op & 7] = bswap(r[op & 7]);
      else setReg16(c, op & 7, 0); // 16-bit BSWAP is undefined; P6 yields 0
      break;
    default:
      raiseUD(c); // includes 0F 0B UD2, 0F B9 UD1, 0F AA RSM (no SMM), 0F 0D, 3DNow!/MMX/SSE
  }
}

function getZFset(c: CpuCore): boolean {
  materialize(c);
  return (c.flags & F_ZF) !== 0;
}

function popSeg(c: CpuCore, s: number): void {
  const v = c.o32 ? peek32(c, 0) : peek16(c, 0);
  loadSeg(c, s, v & 0xffff);
  c.regs[4] = spAdd(c, c.o32 ? 4 : 2);
  if (s === S_SS) { c.shadow = 1; c.events = 1; }
}

/** POP r/m: ESP is incremented before the destination address is used (SDM POP). */
function popEv(c: CpuCore, modrm: number): void {
  if ((modrm & 0x38) !== 0) raiseUD(c);
  const o32 = c.o32;
  const w = o32 ? 4 : 2;
  const v = o32 ? peek32(c, 0) : peek16(c, 0);
  if (modrm >= 0xc0) {
    c.regs[4] = spAdd(c, w);
    setRegV(c, modrm & 7, v);
    return;
  }
  const esp0 = c.regs[4];
  c.regs[4] = spAdd(c, w);
  if (c.a32 && (modrm & 7) === 4 && c.sibBaseEsp) c.ea = (c.ea + w) | 0;
  try {
    if (o32) wr32(c, c.eaSeg, c.ea, v);
    else wr16(c, c.eaSeg, c.ea, v);
  } catch (e) {
    c.regs[4] = esp0;
    throw e;
  }
}

function loadFarPointer(c: CpuCore, modrm: number, s: number): void {
  if (modrm >= 0xc0) raiseUD(c);
  const seg = c.eaSeg;
  const ea = c.ea;
  const off = c.o32 ? rd32(c, seg, ea) : rd16(c, seg, ea);
  const w = c.o32 ? 4 : 2;
  const sel = rd16(c, seg, c.a32 ? (ea + w) | 0 : (ea + w) & 0xffff);
  loadSeg(c, s, sel);
  setRegV(c, (modrm >> 3) & 7, off);
  if (s === S_SS) { c.shadow = 1; c.events = 1; }
}

function pushf(c: CpuCore): void {
  if ((c.flags & F_VM) !== 0 && ((c.flags & F_IOPL) >> 12) < 3) raiseGP(c, 0);
  const f = readEflags(c) & ~(F_VM | F_RF);
  if (c.o32) push32(c, f);
  else push16(c, f);
}

function popf(c: CpuCore): void {
  if ((c.flags & F_VM) !== 0 && ((c.flags & F_IOPL) >> 12) < 3) raiseGP(c, 0);
  const v = c.o32 ? peek32(c, 0) : peek16(c, 0);
  c.regs[4] = spAdd(c, c.o32 ? 4 : 2);
  writeEflags(c, v, popfMask(c, c.o32) | F_RF);
  c.flags &= ~F_RF;
}

function cli(c: CpuCore): void {
  if (c.pe !== 0 && c.cpl > ((c.flags & F_IOPL) >> 12)) raiseGP(c, 0);
  c.flags &= ~F_IF;
}

function sti(c: CpuCore): void {
  if (c.pe !== 0 && c.cpl > ((c.flags & F_IOPL) >> 12)) raiseGP(c, 0);
  if ((c.flags & F_IF) === 0) {
    c.flags |= F_IF;
    c.shadow = 1; // STI shadow: interrupts are recognised after the next instruction
    c.events = 1;
  }
}

function arpl(c: CpuCore, modrm: number): void {
  requireProtected(c);
  const dst = getE16(c, modrm);
  const src = c.regs[(modrm >> 3) & 7] & 0xffff;
  if ((dst & 3) < (src & 3)) {
    setE16(c, modrm, (dst & ~3) | (src & 3));
    setSomeFlags(c, F_ZF, F_ZF);
  } else {
    setSomeFlags(c, F_ZF, 0);
  }
}

function group3(c: CpuCore, modrm: number, sz: number): void {
  const k = (modrm >> 3) & 7;
  switch (k) {
    case 0: case 1: {
      const v = sz === 0 ? getE8(c, modrm) : getEv(c, modrm);
      const imm = sz === 0 ? fetch8(c) : sz === 2 ? fetch32(c) : fetch16(c);
      testOp(c, v, imm, sz);
      return;
    }
    case 2: {
      if (sz === 0) setE8(c, modrm, ~rmwE8(c, modrm));
      else setEv(c, modrm, ~rmwEv(c, modrm));
      return;
    }
    case 3: {
      if (sz === 0) setE8(c, modrm, neg(c, rmwE8(c, modrm), 0));
      else setEv(c, modrm, neg(c, rmwEv(c, modrm), sz));
      return;
    }
    default: {
      const v = sz === 0 ? getE8(c, modrm) : getEv(c, modrm);
      if (k === 4) mul(c, v, sz);
      else if (k === 5) imul1(c, v, sz);
      else if (k === 6) div(c, v, sz);
      else idiv(c, v, sz);
    }
  }
}

function group5(c: CpuCore, modrm: number): void {
  const k = (modrm >> 3) & 7;
  const r = c.regs;
  const sz = c.o32 ? 2 : 1;
  switch (k) {
    case 0: setEv(c, modrm, inc(c, rmwEv(c, modrm), sz)); return;
    case 1: setEv(c, modrm, dec(c, rmwEv(c, modrm), sz)); return;
    case 2: { // CALL near r/m
      const t = getEv(c, modrm);
      const ret = getEip(c);
      if (c.o32) {
        poke32(c, -4, ret);
        jumpTo(c, t);
        r[4] = spAdd(c, -4);
      } else {
        poke16(c, -2, ret);
        jumpTo(c, t & 0xffff);
        r[4] = spAdd(c, -2);
      }
      return;
    }
    case 3: case 5: { // CALLF / JMPF m16:16/32
      if (modrm >= 0xc0) raiseUD(c);
      const seg = c.eaSeg;
      const ea = c.ea;
      const off = c.o32 ? rd32(c, seg, ea) : rd16(c, seg, ea);
      const w = c.o32 ? 4 : 2;
      const sel = rd16(c, seg, c.a32 ? (ea + w) | 0 : (ea + w) & 0xffff);
      if (k === 3) farCall(c, sel, off);
      else farJmp(c, sel, off);
      return;
    }
    case 4: jumpTo(c, getEv(c, modrm)); return;
    case 6: pushV(c, getEv(c, modrm)); return;
    default: raiseUD(c);
  }
}

function group6(c: CpuCore, modrm: number): void {
  const k = (modrm >> 3) & 7;
  requireProtected(c);
  switch (k) {
    case 0: storeSel(c, modrm, c.segSel[6]); return; // SLDT
    case 1: storeSel(c, modrm, c.segSel[7]); return; // STR
    case 2: lldt(c, getE16(c, modrm)); return;
    case 3: ltr(c, getE16(c, modrm)); return;
    case 4: verr(c, getE16(c, modrm), false); return;
    case 5: verr(c, getE16(c, modrm), true); return;
    default: raiseUD(c);
  }
}

/** SLDT/STR/SMSW: 16-bit store to memory; zero-extended to 32 bits in a register with o32. */
function storeSel(c: CpuCore, modrm: number, v: number): void {
  if (modrm >= 0xc0) setRegV(c, modrm & 7, v & 0xffff);
  else wr16(c, c.eaSeg, c.ea, v & 0xffff);
}

function group7(c: CpuCore, modrm: number): void {
  const k = (modrm >> 3) & 7;
  if (modrm >= 0xc0 && k !== 4 && k !== 6) raiseUD(c);
  const seg = c.eaSeg;
  const ea = c.ea;
  const ea2 = c.a32 ? (ea + 2) | 0 : (ea + 2) & 0xffff;
  switch (k) {
    case 0: case 1: { // SGDT / SIDT
      const limit = k === 0 ? c.gdtLimit : c.idtLimit;
      const base = k === 0 ? c.gdtBase : c.idtBase;
      wr16(c, seg, ea, limit);
      wr32(c, seg, ea2, c.o32 ? base : base & 0xffffff);
      return;
    }
    case 2: case 3: { // LGDT / LIDT
      requireCpl0(c);
      const limit = rd16(c, seg, ea);
      const base = rd32(c, seg, ea2);
      loadDescriptorTable(c, k === 3, limit, base);
      return;
    }
    case 4: // SMSW
      if (modrm >= 0xc0) setRegV(c, modrm & 7, c.o32 ? c.cr0 : c.cr0 & 0xffff);
      else wr16(c, seg, ea, c.cr0 & 0xffff);
      return;
    case 6: lmsw(c, getE16(c, modrm)); return;
    case 7: invlpg(c, (c.segBase[seg] + ea) | 0); return;
    default: raiseUD(c);
  }
}
