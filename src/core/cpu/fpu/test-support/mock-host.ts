/** A flat-memory FpuHost for tests: segment numbers are ignored, offsets index `mem`. */
import type { FpuHost } from '../fpu-host.ts';

export class MockFpuHost implements FpuHost {
  readonly mem: Uint8Array;
  eflags = 0x2;
  /** Last setCompareFlags call (ZF, PF, CF), or null. */
  compareFlags: { zf: boolean; pf: boolean; cf: boolean } | null = null;
  /** Offsets at or above this fault on write probes (to test restartability). */
  faultAbove = Infinity;

  constructor(size = 0x10000) {
    this.mem = new Uint8Array(size);
  }

  private check(offset: number, length: number): void {
    if (offset < 0 || offset + length > this.mem.length) throw new RangeError(`mock #GP at ${offset.toString(16)}`);
  }
  readU8(_seg: number, o: number): number { this.check(o, 1); return this.mem[o]!; }
  readU16(_seg: number, o: number): number { this.check(o, 2); return this.mem[o]! | (this.mem[o + 1]! << 8); }
  readU32(_seg: number, o: number): number {
    this.check(o, 4);
    return (this.mem[o]! | (this.mem[o + 1]! << 8) | (this.mem[o + 2]! << 16) | (this.mem[o + 3]! << 24)) >>> 0;
  }
  writeU8(_seg: number, o: number, v: number): void { this.check(o, 1); this.mem[o] = v & 0xff; }
  writeU16(_seg: number, o: number, v: number): void { this.check(o, 2); this.mem[o] = v & 0xff; this.mem[o + 1] = (v >>> 8) & 0xff; }
  writeU32(_seg: number, o: number, v: number): void {
    this.check(o, 4);
    for (let k = 0; k < 4; k++) this.mem[o + k] = (v >>> (8 * k)) & 0xff;
  }
  probeWrite(_seg: number, o: number, length: number): void {
    this.check(o, length);
    if (o + length > this.faultAbove) throw new RangeError('mock #PF');
  }
  probeRead(_seg: number, o: number, length: number): void { this.check(o, length); }
  /** Whether tryWriteBytes/tryReadBytes copy (true) or decline (false, the default: every field goes through the accessors). */
  direct = false;
  tryWriteBytes(_seg: number, o: number, bytes: Uint8Array): boolean {
    if (!this.direct) return false;
    this.check(o, bytes.length);
    this.mem.set(bytes, o);
    return true;
  }
  tryReadBytes(_seg: number, o: number, into: Uint8Array): boolean {
    if (!this.direct) return false;
    this.check(o, into.length);
    into.set(this.mem.subarray(o, o + into.length));
    return true;
  }
  setCompareFlags(zf: boolean, pf: boolean, cf: boolean): void {
    this.compareFlags = { zf, pf, cf };
    this.eflags = (this.eflags & ~0x8d5) | (zf ? 0x40 : 0) | (pf ? 0x4 : 0) | (cf ? 0x1 : 0);
  }
  getEflags(): number { return this.eflags; }

  bytes(o: number, n: number): Uint8Array { return this.mem.slice(o, o + n); }
}
