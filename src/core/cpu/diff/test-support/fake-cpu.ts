/**
 * A tiny stand-in CPU for testing the harness itself: it executes only
 * ADD/OR/AND/SUB/XOR/CMP r/m32, r32 with register operands (opcodes 01 09 21
 * 29 31 39, mod = 3) and HLT (#GP(0) at CPL 3); anything else is #UD.
 * `bug` plants a deliberate error so tests can check the harness notices.
 */
import { StopReason, type CpuHost } from '../../host.ts';
import type { DiffCpu } from './emu-runner.ts';

export type FakeBug = 'none' | 'sub-af' | 'xor-keeps-cf' | 'add-wrong-result';

function parity(v: number): number {
  let x = v & 0xff;
  x ^= x >> 4;
  x ^= x >> 2;
  x ^= x >> 1;
  return (x & 1) === 0 ? 4 : 0;
}

export class FakeCpu implements DiffCpu {
  trapExceptions = false;
  exceptionVector = -1;
  exceptionErrorCode = -1;
  private readonly regs = new Uint32Array(8);
  private eip = 0;
  private eflags = 2;
  private readonly cr = [0, 0, 0, 0, 0];
  private readonly mem: Uint8Array;

  constructor(private readonly host: CpuHost, private readonly bug: FakeBug = 'none') {
    this.mem = new Uint8Array(host.buffer);
  }

  reset(): void {
    this.regs.fill(0);
    this.eflags = 2;
    this.eip = 0xfff0;
  }

  private byteAt(lin: number): number {
    const f = this.host.frameForRead(lin >>> 12);
    return f < 0 ? -1 : this.mem[f + (lin & 0xfff)]!;
  }

  private raise(vector: number, code: number): StopReason {
    this.exceptionVector = vector;
    this.exceptionErrorCode = code;
    return StopReason.Exception;
  }

  run(budget: number): StopReason {
    for (let n = 0; n < budget; n++) {
      const op = this.byteAt(this.eip);
      if (op === 0xf4) return this.raise(13, 0);
      const modrm = this.byteAt(this.eip + 1);
      if (![0x01, 0x09, 0x21, 0x29, 0x31, 0x39].includes(op) || modrm < 0xc0) return this.raise(6, -1);
      const dst = modrm & 7;
      const src = (modrm >> 3) & 7;
      const a = this.regs[dst]!;
      const b = this.regs[src]!;
      let r: number;
      let cf = 0, of = 0, af = 0;
      switch (op) {
        case 0x01:
          r = (a + b + (this.bug === 'add-wrong-result' && a === 0x7fffffff ? 1 : 0)) >>> 0;
          cf = r < a ? 1 : 0;
          of = ((~(a ^ b) & (a ^ r)) >>> 31) & 1;
          af = (a ^ b ^ r) & 0x10;
          break;
        case 0x29: case 0x39:
          r = (a - b) >>> 0;
          cf = a < b ? 1 : 0;
          of = (((a ^ b) & (a ^ r)) >>> 31) & 1;
          af = this.bug === 'sub-af' ? 0 : (a ^ b ^ r) & 0x10;
          break;
        case 0x09: r = (a | b) >>> 0; break;
        case 0x21: r = (a & b) >>> 0; break;
        default:
          r = (a ^ b) >>> 0;
          if (this.bug === 'xor-keeps-cf') cf = this.eflags & 1;
      }
      if (op !== 0x39) this.regs[dst] = r;
      this.eflags = (this.eflags & ~0x8d5) | cf | parity(r) | (af !== 0 ? 0x10 : 0) | (r === 0 ? 0x40 : 0) | ((r >>> 24) & 0x80) | (of << 11);
      this.eip = (this.eip + 2) >>> 0;
    }
    return StopReason.Budget;
  }

  getReg32(r: number): number { return this.regs[r]!; }
  setReg32(r: number, v: number): void { this.regs[r] = v >>> 0; }
  getEip(): number { return this.eip; }
  setEip(v: number): void { this.eip = v >>> 0; }
  getEflags(): number { return this.eflags; }
  setEflags(v: number): void { this.eflags = (v & 0x3f7fd7) | 2; }
  getCr(n: 0 | 2 | 3 | 4): number { return this.cr[n]!; }
  setCr(n: 0 | 2 | 3 | 4, v: number): void { this.cr[n] = v >>> 0; }
  setSegment(): void { /* flat only */ }
  setGdtr(): void { /* not modelled */ }
  setIdtr(): void { /* not modelled */ }
  flushTlb(): void { /* no TLB */ }
}
