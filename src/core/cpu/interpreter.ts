/**
 * The interpreter: decodes and executes instructions in a run loop.
 * Decoding is table driven (opcode-table.ts: ModRM presence, LOCK legality).
 * Execution has two levels over the unified 0x000-0x1FF opcode space
 * (0x1xx = 0F xx):
 *  - execute() inlines only the fast paths of the hottest forms (32-bit ALU,
 *    MOV, PUSH/POP, CALL/RET, Jcc, LEA, MOVZX...) under conditions that make
 *    them trivially correct (32-bit operand size, flat segments, TLB hit);
 *  - everything else, including the slow variants of the hot forms, goes
 *    through one call site `HANDLERS[op](c, op, modrm)`: one small function
 *    per opcode (family), each complete for all forms of its opcodes.
 * Why the split (measured): a single function holding every opcode is huge,
 * so TurboFan compiles it slowly (~100 ms), and each case that first runs
 * after compilation has no type feedback and deoptimizes the whole loop
 * ("Insufficient type feedback"), which happened ~15 times during a Linux
 * boot. The handler table call site is megamorphic from the start, so new
 * opcodes never deoptimize execute(); only the small handler recompiles.
 * Unknown opcodes and invalid forms raise #UD. All guest faults are thrown as
 * GUEST_FAULT (exceptions.ts) and handled by the run loop here.
 */
import type { CpuCore } from './state.ts';
import {
  S_CS, S_SS, S_DS, S_ES, S_FS, S_GS, F_CF, F_DF, F_IF, F_VM, F_RF, F_ZF, F_SF, F_AF, F_PF, F_IOPL,
  SHADOW_MOV_SS,
} from './constants.ts';
import { fetch8, fetch16, fetch32, fetchS8, fetchSlow8, jumpTo, getEip, refetchFromTlb } from './fetch.ts';
import { GUEST_FAULT } from './exceptions.ts';
import { serviceEvents, handleFault, hostError } from './events.ts';
import { decodeEA, decodePrefixes, resetPrefixes, IS_PREFIX } from './decoder.ts';
import { HAS_MODRM, LOCK_OK } from './opcode-table.ts';
import { rd8, rd16, rd32, wr8, wr16, wr32 } from './access.ts';
import { readLin8, readLin32, writeLin32 } from './memory.ts';
import { JIT_HASH_MULTIPLIER, JIT_HASH_SHIFT, JIT_WARMING, TLB_MASK } from './state.ts';
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
import { blockSlot, runBlocks, type Handler } from './block-run.ts';

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
 *
 * Every inline fast path below either completes its instruction (`continue`)
 * before touching any state it would have to undo, or falls out of the
 * switch to the complete handler with nothing consumed past the ModRM/EA.
 */
export function execute(c: CpuCore, budget: number): number {
  const r = c.regs;
  const handlers = HANDLERS;
  const opinfo = OPINFO;
  const fast = FAST;
  // While the JIT warms up nothing is compiled or counted: run as if there were no JIT.
  const jit = c.jit !== null && c.jit.threshold !== JIT_WARMING ? c.jit : null;
  const jitKeys = jit !== null ? jit.keys : null;
  const jitHot = jit !== null ? jit.hot : null;
  const jitThreshold = jit !== null ? jit.threshold : 0;
  // Hotness is counted where blocks start: at jump targets (anything but a
  // short step forward from the previous instruction) and right after a
  // compiled block returns (the instruction that ended it and the next one).
  // Counting every instruction made each position of a hot loop an entry,
  // and the loop was compiled as dozens of overlapping one-position blocks.
  // Tests that force the JIT on (threshold 0) count everywhere.
  const jitCountAll = jitThreshold === 0;
  let jitLastP = -1;
  let jitAfterExit = 0;
  // The decoded-block tier runs on CPUs without a JIT, after its own warm-up
  // (BLOCK_WARMUP: boot code repeats too little to repay decoding it).
  const blocks = c.jit === null && c.blocks !== null && c.instructionsRetired >= c.blocks.startAt ? c.blocks.activate() : null;
  let done = 0;
  let spent = 0;
  for (;;) {
    try {
      while (spent < budget) {
        if (c.events !== 0 && serviceEvents(c)) return done;
        if (c.pfx !== 0) resetPrefixes(c);
        let p = c.fp;
        if (blocks !== null && c.events === 0 && c.cs32) {
          if (p >= c.fpEnd) {
            // After a jump to another page: its block is there when the TLB holds the page (as for the JIT below).
            refetchFromTlb(c);
            p = c.fp;
          }
          if (p < c.fpEnd) {
            const h = blockSlot(p);
            const n = blocks.lookup(c, p, h);
            if (n > 0 && n <= budget - spent) {
              const k = runBlocks(c, blocks, h, budget - spent, done, handlers);
              done += k;
              spent += k;
              continue;
            }
          }
        }
        if (jit !== null && c.events === 0) {
          // After a jump to another page, look for compiled code there too (TLB hit only, no walk).
          if (p >= c.fpEnd) {
            refetchFromTlb(c);
            p = c.fp;
          }
          if (p < c.fpEnd) {
            // JIT: compiled code starts here, or this address just became hot (jit.ts).
            const h = Math.imul(p, JIT_HASH_MULTIPLIER) >>> (32 - JIT_HASH_SHIFT);
            // A step back or more than 15 bytes forward (signed compares: an unsigned
            // one would produce numbers above 2^31, which V8 does not keep unboxed).
            const step = p - jitLastP;
            const blockStart = jitCountAll || step < 0 || step > 15 || jitAfterExit > 0;
            jitLastP = p;
            if (jitAfterExit > 0) jitAfterExit--;
            if (jitKeys![h] === p || jitKeys![h ^ 1] === p || (blockStart && ++jitHot![h]! > jitThreshold)) {
              const n = jit.enter(h, p, budget - spent, done);
              if (n >= 0) {
                spent += n;
                done += n;
                jitAfterExit = 2;
                continue;
              }
            }
          }
        }
        spent++;
        c.eipStart = (p + c.fpEipBase) | 0;
        let op: number;
        if (p < c.fpEnd) {
          op = c.mem8[p];
          c.fp = p + 1;
        } else {
          op = fetchSlow8(c);
        }
        let info = opinfo[op];
        let prefixed = false;
        if (info >= 0x80) {
          if (op === 0x0f) {
            op = 0x100 | fetch8(c);
          } else {
            op = decodeOpcodeSlow(c, op);
            prefixed = true;
          }
          info = opinfo[op];
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
        switch (fast[op]) {
          case FX_ALU_EV_GV:
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
              done++;
              continue;
            }
            break;
          case FX_ALU_GV_EV:
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
              done++;
              continue;
            }
            break;
          case FX_INC:
            if (c.o32) { r[op & 7] = inc(c, r[op & 7], 2); done++; continue; }
            break;
          case FX_DEC:
            if (c.o32) { r[op & 7] = dec(c, r[op & 7], 2); done++; continue; }
            break;
          case FX_PUSH:
            if (c.o32 && c.ss32 && c.segOkW[S_SS] !== 0) {
              const n = (r[4] - 4) | 0;
              const lin = (c.segBase[S_SS] + n) | 0;
              const vp = lin >>> 12;
              const i = vp & TLB_MASK;
              if (c.tlbWr[i] === (vp | c.tlbKey) && (lin & 0xfff) <= 0xffc) {
                c.dv.setInt32((lin + c.tlbDelta[i]) | 0, r[op & 7], true);
                r[4] = n;
                done++;
                continue;
              }
            }
            break;
          case FX_POP:
            if (c.o32 && c.ss32 && c.segOkR[S_SS] !== 0) {
              const sp = r[4];
              const lin = (c.segBase[S_SS] + sp) | 0;
              const vp = lin >>> 12;
              const i = vp & TLB_MASK;
              if (c.tlbRd[i] === (vp | c.tlbKey) && (lin & 0xfff) <= 0xffc) {
                const v = c.dv.getInt32((lin + c.tlbDelta[i]) | 0, true);
                r[4] = (sp + 4) | 0;
                r[op & 7] = v;
                done++;
                continue;
              }
            }
            break;
          case FX_JCC8: {
            const q = c.fp;
            if (q < c.fpEnd) {
              const d = (c.mem8[q] << 24) >> 24;
              c.fp = q + 1;
              const cc = op & 15;
              if ((cc === 4 || cc === 5) && c.lop !== 0 ? (c.lres === 0) === (cc === 4) : testCC(c, cc)) {
                // Short jump inside the cached code page: just move the fetch pointer.
                const np = q + 1 + d;
                if (c.o32 && np >= c.fpStart && np < c.fpEnd) c.fp = np;
                else jumpRel(c, d);
              }
              done++;
              continue;
            }
            break;
          }
          case FX_GRP1_IB:
            if (modrm >= 0xc0 && c.o32) {
              const k = (modrm >> 3) & 7;
              const q = c.fp;
              if ((k === 0 || k === 5 || k === 7 || k === 4) && q < c.fpEnd) {
                const imm = (c.mem8[q] << 24) >> 24;
                c.fp = q + 1;
                const d = modrm & 7;
                const a = r[d];
                let res: number;
                if (k === 0) { res = (a + imm) | 0; c.lop = L_ADD; }
                else if (k === 4) { res = a & imm; c.lop = L_LOGIC; }
                else { res = (a - imm) | 0; c.lop = L_SUB; }
                c.ldst = a; c.lsrc = imm; c.lres = res; c.lsz = 2;
                if (k !== 7) r[d] = res;
                done++;
                continue;
              }
            }
            break;
          case FX_TEST:
            if (c.o32) {
              const a = modrm >= 0xc0 ? r[modrm & 7] : load32(c);
              const b = r[(modrm >> 3) & 7];
              c.lop = L_LOGIC; c.ldst = a; c.lsrc = b; c.lres = a & b; c.lsz = 2;
              done++;
              continue;
            }
            break;
          case FX_MOV_EV_GV:
            if (c.o32) {
              if (modrm >= 0xc0) r[modrm & 7] = r[(modrm >> 3) & 7];
              else store32(c, r[(modrm >> 3) & 7]);
              done++;
              continue;
            }
            break;
          case FX_MOV_GV_EV:
            if (c.o32) {
              r[(modrm >> 3) & 7] = modrm >= 0xc0 ? r[modrm & 7] : load32(c);
              done++;
              continue;
            }
            break;
          case FX_LEA:
            if (c.o32 && modrm < 0xc0) { r[(modrm >> 3) & 7] = c.ea; done++; continue; }
            break;
          case FX_MOV_R_IMM: {
            const q = c.fp;
            if (c.o32 && q + 4 <= c.fpEnd) {
              r[op & 7] = c.dv.getInt32(q, true);
              c.fp = q + 4;
              done++;
              continue;
            }
            break;
          }
          case FX_RET:
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
                r[4] = (sp + 4) | 0;
                done++;
                continue;
              }
            }
            break;
          case FX_CALL: {
            const q = c.fp;
            if (c.o32 && c.ss32 && c.segOkW[S_SS] !== 0 && q + 4 <= c.fpEnd) {
              const n = (r[4] - 4) | 0;
              const lin = (c.segBase[S_SS] + n) | 0;
              const vp = lin >>> 12;
              const i = vp & TLB_MASK;
              if (c.tlbWr[i] === (vp | c.tlbKey) && (lin & 0xfff) <= 0xffc) {
                const ret = (q + 4 + c.fpEipBase) | 0;
                const t = (ret + c.dv.getInt32(q, true)) | 0;
                const np = (t - c.fpEipBase) | 0;
                if (np >= c.fpStart && np < c.fpEnd) c.fp = np;
                else { c.fp = q + 4; jumpTo(c, t); } // may #GP: nothing written yet
                c.dv.setInt32((lin + c.tlbDelta[i]) | 0, ret, true);
                r[4] = n;
                done++;
                continue;
              }
            }
            break;
          }
          case FX_JMP8: {
            const q = c.fp;
            if (c.o32 && q < c.fpEnd) {
              const np = q + 1 + ((c.mem8[q] << 24) >> 24);
              if (np >= c.fpStart && np < c.fpEnd) { c.fp = np; done++; continue; }
            }
            break;
          }
          case FX_JCC32: {
            const q = c.fp;
            if (c.o32 && q + 4 <= c.fpEnd) {
              const d = c.dv.getInt32(q, true);
              c.fp = q + 4;
              if (testCC(c, op & 15)) jumpRel(c, d);
              done++;
              continue;
            }
            break;
          }
          case FX_MOVZX8:
            if (c.o32) {
              r[(modrm >> 3) & 7] = modrm >= 0xc0 ? getReg8(c, modrm & 7) : load8(c);
              done++;
              continue;
            }
            break;
          default:
            break;
        }
        // Handlers may read the clock (RDTSC, PIT ports): publish the progress of this run first.
        c.runRetired = done;
        handlers[op](c, op, modrm);
        done++;
      }
      return done;
    } catch (e) {
      if (e !== GUEST_FAULT) throw hostError(c, e);
      if (blocks !== null && blocks.faultDone !== 0) {
        // A decoded block completed these instructions before the one that faulted.
        done += blocks.faultDone;
        spent += blocks.faultDone;
        blocks.faultDone = 0;
      }
      if (jit !== null && jit.faultDone !== 0) {
        // A compiled block completed these instructions before the one that faulted.
        done += jit.faultDone;
        spent += jit.faultDone;
        jit.faultDone = 0;
      }
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

/**
 * The forms with an inline fast path in execute(), as small dense ids (0 = none),
 * so that its switch compiles to a jump table (V8 only builds one when the case
 * values are dense; a sparse switch over opcodes becomes a chain of compares).
 */
const FX_ALU_EV_GV = 1;
const FX_ALU_GV_EV = 2;
const FX_INC = 3;
const FX_DEC = 4;
const FX_PUSH = 5;
const FX_POP = 6;
const FX_JCC8 = 7;
const FX_GRP1_IB = 8;
const FX_TEST = 9;
const FX_MOV_EV_GV = 10;
const FX_MOV_GV_EV = 11;
const FX_LEA = 12;
const FX_MOV_R_IMM = 13;
const FX_RET = 14;
const FX_CALL = 15;
const FX_JMP8 = 16;
const FX_JCC32 = 17;
const FX_MOVZX8 = 18;
const FAST = new Uint8Array(512);
for (const op of [0x1, 0x9, 0x21, 0x29, 0x31, 0x39]) FAST[op] = FX_ALU_EV_GV;
for (const op of [0x3, 0xb, 0x23, 0x2b, 0x33, 0x3b]) FAST[op] = FX_ALU_GV_EV;
for (const op of [0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47]) FAST[op] = FX_INC;
for (const op of [0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f]) FAST[op] = FX_DEC;
for (const op of [0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57]) FAST[op] = FX_PUSH;
for (const op of [0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f]) FAST[op] = FX_POP;
for (const op of [0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f]) FAST[op] = FX_JCC8;
FAST[0x83] = FX_GRP1_IB;
FAST[0x85] = FX_TEST;
FAST[0x89] = FX_MOV_EV_GV;
FAST[0x8b] = FX_MOV_GV_EV;
FAST[0x8d] = FX_LEA;
for (const op of [0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf]) FAST[op] = FX_MOV_R_IMM;
FAST[0xc3] = FX_RET;
FAST[0xe8] = FX_CALL;
FAST[0xeb] = FX_JMP8;
for (const op of [0x180, 0x181, 0x182, 0x183, 0x184, 0x185, 0x186, 0x187, 0x188, 0x189, 0x18a, 0x18b, 0x18c, 0x18d, 0x18e, 0x18f]) FAST[op] = FX_JCC32;
FAST[0x1b6] = FX_MOVZX8;

/** Prefixes and/or the 0F escape: returns the opcode in the 0x000-0x1FF space. */
function decodeOpcodeSlow(c: CpuCore, op: number): number {
  if (IS_PREFIX[op] !== 0) op = decodePrefixes(c, op);
  if (op === 0x0f) op = 0x100 | fetch8(c);
  return op;
}

// ======================================================================== handlers

/** The complete handler of every opcode (family): see Handler in block-run.ts. */
const HANDLERS: Handler[] = [];
for (let i = 0; i < 512; i++) HANDLERS.push(hUD);

function def(h: Handler, ...ops: number[]): void {
  for (const op of ops) HANDLERS[op] = h;
}

function range(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, k) => first + k);
}

function hUD(c: CpuCore): void {
  raiseUD(c); // includes 0F 0B UD2, 0F B9 UD1, 0F AA RSM (no SMM), 0F 0D, 3DNow!/MMX/SSE
}

// ---- ALU 00-3F ----
def((c, op, modrm) => aluEbGb(c, op >> 3, modrm), 0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38);
def((c, op, modrm) => aluEvGv(c, op >> 3, modrm), 0x01, 0x09, 0x11, 0x19, 0x21, 0x29, 0x31, 0x39);
def((c, op, modrm) => aluGbEb(c, op >> 3, modrm), 0x02, 0x0a, 0x12, 0x1a, 0x22, 0x2a, 0x32, 0x3a);
def((c, op, modrm) => aluGvEv(c, op >> 3, modrm), 0x03, 0x0b, 0x13, 0x1b, 0x23, 0x2b, 0x33, 0x3b);
def((c, op) => aluALIb(c, op >> 3), 0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c);
def((c, op) => aluEAXIz(c, op >> 3), 0x05, 0x0d, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d);
// PUSH ES/CS/SS/DS and POP ES/SS/DS: the segment number is op >> 3.
def((c, op) => pushV(c, c.segSel[op >> 3]), 0x06, 0x0e, 0x16, 0x1e);
def((c, op) => popSeg(c, op >> 3), 0x07, 0x17, 0x1f);
def((c) => daa(c), 0x27);
def((c) => das(c), 0x2f);
def((c) => aaa(c), 0x37);
def((c) => aas(c), 0x3f);

// ---- INC/DEC/PUSH/POP r ----
def((c, op) => {
  const r = c.regs;
  if (c.o32) r[op & 7] = inc(c, r[op & 7], 2);
  else setReg16(c, op & 7, inc(c, r[op & 7], 1));
}, ...range(0x40, 8));
def((c, op) => {
  const r = c.regs;
  if (c.o32) r[op & 7] = dec(c, r[op & 7], 2);
  else setReg16(c, op & 7, dec(c, r[op & 7], 1));
}, ...range(0x48, 8));
def((c, op) => {
  if (c.o32) push32(c, c.regs[op & 7]);
  else push16(c, c.regs[op & 7]);
}, ...range(0x50, 8));
def((c, op) => {
  if (c.o32) c.regs[op & 7] = pop32(c);
  else setReg16(c, op & 7, popV(c));
}, ...range(0x58, 8));

def((c) => pusha(c), 0x60);
def((c) => popa(c), 0x61);
def((c, _op, modrm) => bound(c, modrm), 0x62);
def((c, _op, modrm) => arpl(c, modrm), 0x63);
def((c) => pushV(c, fetchIz(c)), 0x68);
def((c, _op, modrm) => {
  const src = getEv(c, modrm);
  const imm = fetchIz(c);
  setRegV(c, (modrm >> 3) & 7, imul2(c, src, imm, c.o32 ? 2 : 1));
}, 0x69);
def((c) => pushV(c, fetchS8(c)), 0x6a);
def((c, _op, modrm) => {
  const src = getEv(c, modrm);
  const imm = fetchS8(c);
  setRegV(c, (modrm >> 3) & 7, imul2(c, src, imm, c.o32 ? 2 : 1));
}, 0x6b);
def((c, op) => stringOp(c, op), 0x6c, 0x6d, 0x6e, 0x6f, 0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf);

// ---- Jcc ----
def((c, op) => {
  const d = fetchS8(c);
  if (testCC(c, op & 15)) jumpRel(c, d);
}, ...range(0x70, 16));
def((c, op) => {
  const d = c.o32 ? fetch32(c) : fetch16(c);
  if (testCC(c, op & 15)) jumpRel(c, d);
}, ...range(0x180, 16));

// ---- group 1, TEST, XCHG ----
def((c, _op, modrm) => aluEImm(c, (modrm >> 3) & 7, modrm, fetch8(c), 0), 0x80, 0x82);
def((c, _op, modrm) => aluEImm(c, (modrm >> 3) & 7, modrm, fetchIz(c), c.o32 ? 2 : 1), 0x81);
def((c, _op, modrm) => aluEImm(c, (modrm >> 3) & 7, modrm, fetchS8(c), c.o32 ? 2 : 1), 0x83);
def((c, _op, modrm) => testOp(c, getE8(c, modrm), getReg8(c, (modrm >> 3) & 7), 0), 0x84);
def((c, _op, modrm) => {
  if (c.o32) testOp(c, getE32(c, modrm), c.regs[(modrm >> 3) & 7], 2);
  else testOp(c, getE16(c, modrm), c.regs[(modrm >> 3) & 7], 1);
}, 0x85);
def((c, _op, modrm) => {
  const v = rmwE8(c, modrm);
  const g = (modrm >> 3) & 7;
  setE8(c, modrm, getReg8(c, g));
  setReg8(c, g, v);
}, 0x86);
def((c, _op, modrm) => {
  const v = rmwEv(c, modrm);
  const g = (modrm >> 3) & 7;
  setEv(c, modrm, c.regs[g]);
  setRegV(c, g, v);
}, 0x87);

// ---- MOV ----
def((c, _op, modrm) => setE8(c, modrm, getReg8(c, (modrm >> 3) & 7)), 0x88);
def((c, _op, modrm) => {
  const r = c.regs;
  if (modrm >= 0xc0) {
    if (c.o32) r[modrm & 7] = r[(modrm >> 3) & 7];
    else setReg16(c, modrm & 7, r[(modrm >> 3) & 7]);
  } else if (c.o32) {
    store32(c, r[(modrm >> 3) & 7]);
  } else {
    wr16(c, c.eaSeg, c.ea, r[(modrm >> 3) & 7] & 0xffff);
  }
}, 0x89);
def((c, _op, modrm) => setReg8(c, (modrm >> 3) & 7, getE8(c, modrm)), 0x8a);
def((c, _op, modrm) => {
  if (c.o32) c.regs[(modrm >> 3) & 7] = modrm >= 0xc0 ? c.regs[modrm & 7] : load32(c);
  else setReg16(c, (modrm >> 3) & 7, getE16(c, modrm));
}, 0x8b);
def((c, _op, modrm) => {
  const s = (modrm >> 3) & 7;
  if (s > 5) raiseUD(c);
  if (modrm >= 0xc0) setRegV(c, modrm & 7, c.segSel[s]);
  else wr16(c, c.eaSeg, c.ea, c.segSel[s]);
}, 0x8c);
def((c, _op, modrm) => {
  if (modrm >= 0xc0) raiseUD(c);
  setRegV(c, (modrm >> 3) & 7, c.ea);
}, 0x8d);
def((c, _op, modrm) => {
  const s = (modrm >> 3) & 7;
  if (s === S_CS || s > 5) raiseUD(c);
  loadSeg(c, s, getE16(c, modrm));
  if (s === S_SS) { c.shadow = SHADOW_MOV_SS; c.events = 1; }
}, 0x8e);
def((c, _op, modrm) => popEv(c, modrm), 0x8f);

def(() => { /* NOP, and F3 90 = PAUSE */ }, 0x90);
def((c, op) => {
  const r = c.regs;
  const n = op & 7;
  const t = r[n];
  setRegV(c, n, r[0]);
  setRegV(c, 0, t);
}, ...range(0x91, 7));
def((c) => {
  const r = c.regs;
  if (c.o32) r[0] = (r[0] << 16) >> 16;
  else setReg16(c, 0, (r[0] << 24) >> 24);
}, 0x98);
def((c) => {
  const r = c.regs;
  if (c.o32) r[2] = r[0] >> 31;
  else setReg16(c, 2, (r[0] << 16) >> 31);
}, 0x99);
def((c) => {
  const off = fetchIz(c);
  const sel = fetch16(c);
  farCall(c, sel, off);
}, 0x9a);
def((c) => fwait(c), 0x9b);
def((c) => pushf(c), 0x9c);
def((c) => popf(c), 0x9d);
def((c) => setSomeFlags(c, F_SF | F_ZF | F_AF | F_PF | F_CF, (c.regs[0] >> 8) & 0xff), 0x9e);
def((c) => { c.regs[0] = (c.regs[0] & ~0xff00) | (((readEflags(c) & 0xd5) | 2) << 8); }, 0x9f);

// ---- MOV moffs, TEST A, MOV r imm ----
def((c) => setReg8(c, 0, rd8(c, c.segOvr >= 0 ? c.segOvr : S_DS, c.a32 ? fetch32(c) : fetch16(c))), 0xa0);
def((c) => {
  const off = c.a32 ? fetch32(c) : fetch16(c);
  const seg = c.segOvr >= 0 ? c.segOvr : S_DS;
  if (c.o32) c.regs[0] = rd32(c, seg, off);
  else setReg16(c, 0, rd16(c, seg, off));
}, 0xa1);
def((c) => wr8(c, c.segOvr >= 0 ? c.segOvr : S_DS, c.a32 ? fetch32(c) : fetch16(c), c.regs[0] & 0xff), 0xa2);
def((c) => {
  const off = c.a32 ? fetch32(c) : fetch16(c);
  const seg = c.segOvr >= 0 ? c.segOvr : S_DS;
  if (c.o32) wr32(c, seg, off, c.regs[0]);
  else wr16(c, seg, off, c.regs[0] & 0xffff);
}, 0xa3);
def((c) => testOp(c, c.regs[0], fetch8(c), 0), 0xa8);
def((c) => {
  if (c.o32) testOp(c, c.regs[0], fetch32(c), 2);
  else testOp(c, c.regs[0], fetch16(c), 1);
}, 0xa9);
def((c, op) => setReg8(c, op & 7, fetch8(c)), ...range(0xb0, 8));
def((c, op) => {
  if (c.o32) c.regs[op & 7] = fetch32(c);
  else setReg16(c, op & 7, fetch16(c));
}, ...range(0xb8, 8));

// ---- shifts ----
def((c, _op, modrm) => { const v = rmwE8(c, modrm); setE8(c, modrm, shiftOp(c, (modrm >> 3) & 7, v, fetch8(c), 0)); }, 0xc0);
def((c, _op, modrm) => { const v = rmwEv(c, modrm); setEv(c, modrm, shiftOp(c, (modrm >> 3) & 7, v, fetch8(c), c.o32 ? 2 : 1)); }, 0xc1);
def((c, _op, modrm) => setE8(c, modrm, shiftOp(c, (modrm >> 3) & 7, rmwE8(c, modrm), 1, 0)), 0xd0);
def((c, _op, modrm) => setEv(c, modrm, shiftOp(c, (modrm >> 3) & 7, rmwEv(c, modrm), 1, c.o32 ? 2 : 1)), 0xd1);
def((c, _op, modrm) => setE8(c, modrm, shiftOp(c, (modrm >> 3) & 7, rmwE8(c, modrm), c.regs[1] & 0xff, 0)), 0xd2);
def((c, _op, modrm) => setEv(c, modrm, shiftOp(c, (modrm >> 3) & 7, rmwEv(c, modrm), c.regs[1] & 0xff, c.o32 ? 2 : 1)), 0xd3);

// ---- near returns / calls / jumps, far control flow, interrupts ----
def((c, op) => {
  const imm = op === 0xc2 ? fetch16(c) : 0;
  if (c.o32) {
    jumpTo(c, peek32(c, 0));
    c.regs[4] = spAdd(c, 4 + imm);
  } else {
    jumpTo(c, peek16(c, 0));
    c.regs[4] = spAdd(c, 2 + imm);
  }
}, 0xc2, 0xc3);
def((c, _op, modrm) => loadFarPointer(c, modrm, S_ES), 0xc4);
def((c, _op, modrm) => loadFarPointer(c, modrm, S_DS), 0xc5);
def((c, _op, modrm) => {
  if ((modrm & 0x38) !== 0) raiseUD(c);
  setE8(c, modrm, fetch8(c));
}, 0xc6);
def((c, _op, modrm) => {
  if ((modrm & 0x38) !== 0) raiseUD(c);
  setEv(c, modrm, fetchIz(c));
}, 0xc7);
def((c) => { const size = fetch16(c); enter(c, size, fetch8(c)); }, 0xc8);
def((c) => leave(c), 0xc9);
def((c) => farRet(c, fetch16(c)), 0xca);
def((c) => farRet(c, 0), 0xcb);
def((c) => softInt(c, 3, true), 0xcc);
def((c) => softInt(c, fetch8(c), false), 0xcd);
def((c) => { if (getOF(c) !== 0) softInt(c, 4, true); }, 0xce);
def((c) => iret(c), 0xcf);
def((c) => aam(c, fetch8(c)), 0xd4);
def((c) => aad(c, fetch8(c)), 0xd5);
def((c) => { c.regs[0] = (c.regs[0] & ~0xff) | (getCF(c) !== 0 ? 0xff : 0); }, 0xd6); // SALC
def((c) => {
  const r = c.regs;
  const base = c.a32 ? r[3] : r[3] & 0xffff;
  const off = c.a32 ? (base + (r[0] & 0xff)) | 0 : (base + (r[0] & 0xff)) & 0xffff;
  setReg8(c, 0, rd8(c, c.segOvr >= 0 ? c.segOvr : S_DS, off));
}, 0xd7);
def((c, op, modrm) => escape(c, op, modrm), ...range(0xd8, 8));
def((c, op) => {
  const r = c.regs;
  const d = fetchS8(c);
  let cnt: number;
  if (c.a32) { cnt = (r[1] - 1) | 0; r[1] = cnt; } else { cnt = (r[1] - 1) & 0xffff; setReg16(c, 1, cnt); }
  let take = cnt !== 0;
  if (op === 0xe0) take = take && (testCC(c, 4) === false);
  else if (op === 0xe1) take = take && testCC(c, 4);
  if (take) jumpRel(c, d);
}, 0xe0, 0xe1, 0xe2);
def((c) => {
  const d = fetchS8(c);
  if ((c.a32 ? c.regs[1] : c.regs[1] & 0xffff) === 0) jumpRel(c, d);
}, 0xe3);
def((c) => setReg8(c, 0, portIn(c, fetch8(c), 1)), 0xe4);
def((c) => { const p = fetch8(c); if (c.o32) c.regs[0] = portIn(c, p, 4); else setReg16(c, 0, portIn(c, p, 2)); }, 0xe5);
def((c) => portOut(c, fetch8(c), 1, c.regs[0]), 0xe6);
def((c) => portOut(c, fetch8(c), c.o32 ? 4 : 2, c.regs[0]), 0xe7);
def((c) => {
  const r = c.regs;
  const d = c.o32 ? fetch32(c) : fetch16(c);
  const ret = getEip(c);
  const t = (ret + d) | 0;
  if (c.o32) {
    poke32(c, -4, ret);
    jumpTo(c, t);
    r[4] = spAdd(c, -4);
  } else {
    poke16(c, -2, ret);
    jumpTo(c, t & 0xffff);
    r[4] = spAdd(c, -2);
  }
}, 0xe8);
def((c) => jumpRel(c, c.o32 ? fetch32(c) : fetch16(c)), 0xe9);
def((c) => {
  const off = fetchIz(c);
  farJmp(c, fetch16(c), off);
}, 0xea);
def((c) => jumpRel(c, fetchS8(c)), 0xeb);
def((c) => setReg8(c, 0, portIn(c, c.regs[2] & 0xffff, 1)), 0xec);
def((c) => {
  if (c.o32) c.regs[0] = portIn(c, c.regs[2] & 0xffff, 4);
  else setReg16(c, 0, portIn(c, c.regs[2] & 0xffff, 2));
}, 0xed);
def((c) => portOut(c, c.regs[2] & 0xffff, 1, c.regs[0]), 0xee);
def((c) => portOut(c, c.regs[2] & 0xffff, c.o32 ? 4 : 2, c.regs[0]), 0xef);
def((c) => {
  // INT1 / ICEBP: #DB as a trap, without the gate DPL check
  if (c.trapExceptions) raiseTrap(c, 1);
  deliverInterrupt(c, 1, -1, false, 0);
  c.tfArmed = false;
}, 0xf1);
def((c) => {
  requireCpl0(c);
  c.halted = true;
  c.events = 1;
}, 0xf4);
def((c) => setSomeFlags(c, F_CF, getCF(c) ^ 1), 0xf5);
def((c, _op, modrm) => group3(c, modrm, 0), 0xf6);
def((c, _op, modrm) => group3(c, modrm, c.o32 ? 2 : 1), 0xf7);
def((c) => setSomeFlags(c, F_CF, 0), 0xf8);
def((c) => setSomeFlags(c, F_CF, F_CF), 0xf9);
def((c) => cli(c), 0xfa);
def((c) => sti(c), 0xfb);
def((c) => { c.flags &= ~F_DF; }, 0xfc);
def((c) => { c.flags |= F_DF; }, 0xfd);
def((c, _op, modrm) => {
  const k = (modrm >> 3) & 7;
  if (k > 1) raiseUD(c);
  const v = rmwE8(c, modrm);
  setE8(c, modrm, k === 0 ? inc(c, v, 0) : dec(c, v, 0));
}, 0xfe);
def((c, _op, modrm) => group5(c, modrm), 0xff);

// ================= 0F xx =================
def((c, _op, modrm) => group6(c, modrm), 0x100);
def((c, _op, modrm) => group7(c, modrm), 0x101);
def((c, _op, modrm) => {
  const v = lar(c, getE16(c, modrm));
  if (getZFset(c)) setRegV(c, (modrm >> 3) & 7, c.o32 ? v : v & 0xff00);
}, 0x102);
def((c, _op, modrm) => {
  const v = lsl(c, getE16(c, modrm));
  if (getZFset(c)) setRegV(c, (modrm >> 3) & 7, v);
}, 0x103);
def((c) => clts(c), 0x106);
def((c) => requireCpl0(c), 0x108, 0x109); // INVD / WBINVD: no caches to manage
// hint NOPs (incl. F3 0F 1E FB ENDBR32): ModRM decoded, nothing accessed
def(() => { /* nothing */ }, ...range(0x118, 8));
def((c, _op, modrm) => { c.regs[modrm & 7] = movFromCr(c, (modrm >> 3) & 7); }, 0x120);
def((c, _op, modrm) => { c.regs[modrm & 7] = movFromDr(c, (modrm >> 3) & 7); }, 0x121);
def((c, _op, modrm) => movToCr(c, (modrm >> 3) & 7, c.regs[modrm & 7]), 0x122);
def((c, _op, modrm) => movToDr(c, (modrm >> 3) & 7, c.regs[modrm & 7]), 0x123);
def((c) => { requireCpl0(c); wrmsr(c); }, 0x130);
def((c) => rdtsc(c), 0x131);
def((c) => { requireCpl0(c); rdmsr(c); }, 0x132);
def((c) => raiseGP(c, 0), 0x133); // RDPMC: no counters; #GP like an unsupported counter index
def((c) => sysenter(c), 0x134);
def((c) => sysexit(c), 0x135);
def((c, op, modrm) => {
  const v = getEv(c, modrm);
  if (testCC(c, op & 15)) setRegV(c, (modrm >> 3) & 7, v);
}, ...range(0x140, 16));
def((c, op, modrm) => setE8(c, modrm, testCC(c, op & 15) ? 1 : 0), ...range(0x190, 16));
def((c) => pushV(c, c.segSel[S_FS]), 0x1a0);
def((c) => popSeg(c, S_FS), 0x1a1);
def((c) => cpuid(c), 0x1a2);
def((c, _op, modrm) => bitTest(c, 0, modrm, c.regs[(modrm >> 3) & 7], true), 0x1a3);
def((c, op, modrm) => {
  const sz = c.o32 ? 2 : 1;
  const v = rmwEv(c, modrm);
  const cnt = (op & 1) === 0 ? fetch8(c) : c.regs[1] & 0xff;
  const src = c.regs[(modrm >> 3) & 7];
  setEv(c, modrm, op < 0x1ac ? shld(c, v, src, cnt, sz) : shrd(c, v, src, cnt, sz));
}, 0x1a4, 0x1a5, 0x1ac, 0x1ad);
def((c) => pushV(c, c.segSel[S_GS]), 0x1a8);
def((c) => popSeg(c, S_GS), 0x1a9);
def((c, _op, modrm) => bitTest(c, 1, modrm, c.regs[(modrm >> 3) & 7], true), 0x1ab);
def((c, _op, modrm) => fxsaveRestore(c, modrm), 0x1ae);
def((c, _op, modrm) => setRegV(c, (modrm >> 3) & 7, imul2(c, c.regs[(modrm >> 3) & 7], getEv(c, modrm), c.o32 ? 2 : 1)), 0x1af);
def((c, _op, modrm) => cmpxchg(c, modrm, 0), 0x1b0);
def((c, _op, modrm) => cmpxchg(c, modrm, c.o32 ? 2 : 1), 0x1b1);
def((c, _op, modrm) => loadFarPointer(c, modrm, S_SS), 0x1b2);
def((c, _op, modrm) => bitTest(c, 2, modrm, c.regs[(modrm >> 3) & 7], true), 0x1b3);
def((c, _op, modrm) => loadFarPointer(c, modrm, S_FS), 0x1b4);
def((c, _op, modrm) => loadFarPointer(c, modrm, S_GS), 0x1b5);
def((c, _op, modrm) => {
  if (c.o32) c.regs[(modrm >> 3) & 7] = modrm >= 0xc0 ? getReg8(c, modrm & 7) : load8(c);
  else setRegV(c, (modrm >> 3) & 7, getE8(c, modrm));
}, 0x1b6);
def((c, _op, modrm) => setRegV(c, (modrm >> 3) & 7, getE16(c, modrm)), 0x1b7);
def((c, _op, modrm) => {
  const k = (modrm >> 3) & 7;
  if (k < 4) raiseUD(c);
  bitTest(c, k - 4, modrm, fetch8(c), false);
}, 0x1ba);
def((c, _op, modrm) => bitTest(c, 3, modrm, c.regs[(modrm >> 3) & 7], true), 0x1bb);
def((c, _op, modrm) => bitScan(c, (modrm >> 3) & 7, getEv(c, modrm), false), 0x1bc);
def((c, _op, modrm) => bitScan(c, (modrm >> 3) & 7, getEv(c, modrm), true), 0x1bd);
def((c, _op, modrm) => setRegV(c, (modrm >> 3) & 7, (getE8(c, modrm) << 24) >> 24), 0x1be);
def((c, _op, modrm) => setRegV(c, (modrm >> 3) & 7, (getE16(c, modrm) << 16) >> 16), 0x1bf);
def((c, _op, modrm) => xadd(c, modrm, 0), 0x1c0);
def((c, _op, modrm) => xadd(c, modrm, c.o32 ? 2 : 1), 0x1c1);
def((c, _op, modrm) => {
  if (((modrm >> 3) & 7) !== 1) raiseUD(c);
  cmpxchg8b(c, modrm);
}, 0x1c7);
def((c, op) => {
  if (c.o32) c.regs[op & 7] = bswap(c.regs[op & 7]);
  else setReg16(c, op & 7, 0); // 16-bit BSWAP is undefined; P6 yields 0
}, ...range(0x1c8, 8));

function getZFset(c: CpuCore): boolean {
  materialize(c);
  return (c.flags & F_ZF) !== 0;
}

function popSeg(c: CpuCore, s: number): void {
  const v = c.o32 ? peek32(c, 0) : peek16(c, 0);
  loadSeg(c, s, v & 0xffff);
  c.regs[4] = spAdd(c, c.o32 ? 4 : 2);
  if (s === S_SS) { c.shadow = SHADOW_MOV_SS; c.events = 1; }
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
  if (s === S_SS) { c.shadow = SHADOW_MOV_SS; c.events = 1; }
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
