/**
 * Test host: guest RAM in one Uint8Array (frames are page * 4096 inside RAM,
 * -1 outside), port I/O logged, a settable interrupt vector and TSC, and
 * helpers to build flat protected-mode / paged environments by hand.
 */
import type { AccessSize, CpuHost } from '../host.ts';
import { Cpu } from '../cpu.ts';
import type { FpuUnit } from '../fpu/fpu-host.ts';

export interface IoEvent { dir: 'in' | 'out'; port: number; size: number; value: number }

export class FlatHost implements CpuHost {
  readonly buffer: ArrayBuffer;
  readonly bufferGeneration = new Int32Array(1);
  readonly mem: Uint8Array;
  readonly dv: DataView;
  readonly pages: number;
  readonly io: IoEvent[] = [];
  /** Values returned by IN per port (default: open bus, all ones). */
  readonly ioValues = new Map<number, number>();
  nextVector = 0x20;
  acks = 0;
  tsc = 1000;
  onIoWrite: ((port: number, size: number, value: number) => void) | null = null;

  constructor(bytes = 16 << 20) {
    this.buffer = new ArrayBuffer(bytes);
    this.mem = new Uint8Array(this.buffer);
    this.dv = new DataView(this.buffer);
    this.pages = bytes >>> 12;
  }

  frameForRead(page: number): number { return page < this.pages ? page * 4096 : -1; }
  frameForWrite(page: number): number { return page < this.pages ? page * 4096 : -1; }
  physRead(_address: number, size: AccessSize): number { return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff; }
  physWrite(): void { /* open bus */ }
  ioRead(port: number, size: AccessSize): number {
    const v = this.ioValues.get(port) ?? (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff);
    this.io.push({ dir: 'in', port, size, value: v });
    return v;
  }
  ioWrite(port: number, size: AccessSize, value: number): void {
    this.io.push({ dir: 'out', port, size, value });
    if (this.onIoWrite !== null) this.onIoWrite(port, size, value);
  }
  /** Called on every interrupt acknowledge (e.g. to lower the line like an edge-triggered PIC). */
  onAcknowledge: (() => void) | null = null;
  acknowledgeInterrupt(): number { this.acks++; if (this.onAcknowledge !== null) this.onAcknowledge(); return this.nextVector; }
  readTsc(): number { return this.tsc; }

  load(addr: number, bytes: ArrayLike<number>): void { this.mem.set(Array.from(bytes), addr); }
  /** Load hex bytes ("b8 01 00 00 00 ..."). */
  loadHex(addr: number, hex: string): number {
    const b = hex.trim().split(/\s+/).filter((x) => x !== '').map((x) => parseInt(x, 16));
    this.load(addr, b);
    return addr + b.length;
  }
  w8(a: number, v: number): void { this.mem[a] = v; }
  w16(a: number, v: number): void { this.dv.setUint16(a, v, true); }
  w32(a: number, v: number): void { this.dv.setUint32(a, v >>> 0, true); }
  r8(a: number): number { return this.mem[a]; }
  r16(a: number): number { return this.dv.getUint16(a, true); }
  r32(a: number): number { return this.dv.getUint32(a, true); }
}

/** Descriptor words for a segment (SDM Vol. 3A 3.4.5). */
export function descriptor(base: number, limit: number, access: number, flagsNibble: number): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff000000) | ((flagsNibble & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
  return [lo >>> 0, hi >>> 0];
}

export function gate(sel: number, offset: number, type: number, dpl: number): [number, number] {
  const lo = ((sel & 0xffff) << 16) | (offset & 0xffff);
  const hi = (offset & 0xffff0000) | 0x8000 | ((dpl & 3) << 13) | ((type & 0x1f) << 8);
  return [lo >>> 0, hi >>> 0];
}

export const GDT = 0x1000;
export const IDT = 0x2000;
export const TSS = 0x3000;
export const PD = 0x10000; // page directory (identity tables follow)

/** Selectors of the standard test GDT. */
export const SEL = { code0: 0x08, data0: 0x10, code3: 0x1b, data3: 0x23, tss: 0x28, code16: 0x30, data16: 0x38, ldt: 0x40 } as const;

/**
 * Standard flat GDT: 1 ring-0 code, 2 ring-0 data, 3 ring-3 code, 4 ring-3
 * data, 5 TSS (32-bit, at TSS, limit 0x67 + I/O bitmap space), 6/7 16-bit
 * ring-0 code/data based at 0.
 */
export function writeGdt(h: FlatHost): void {
  const put = (i: number, d: [number, number]): void => { h.w32(GDT + i * 8, d[0]); h.w32(GDT + i * 8 + 4, d[1]); };
  put(0, [0, 0]);
  put(1, descriptor(0, 0xfffff, 0x9b, 0xc));
  put(2, descriptor(0, 0xfffff, 0x93, 0xc));
  put(3, descriptor(0, 0xfffff, 0xfb, 0xc));
  put(4, descriptor(0, 0xfffff, 0xf3, 0xc));
  put(5, descriptor(TSS, 0x68 + 0x2000, 0x89, 0x0));
  put(6, descriptor(0, 0xffff, 0x9b, 0x0));
  put(7, descriptor(0, 0xffff, 0x93, 0x0));
}

export interface FlatOptions { paging?: boolean; ring3?: boolean; fpu?: FpuUnit }

/**
 * A CPU in 32-bit protected mode with flat segments loaded from the standard
 * GDT, an empty IDT at IDT (limit 0x7ff), TR loaded, ESP = 0x80000 (ring 0)
 * and EIP = `eip`. With paging, the first 16 MiB are identity-mapped with
 * 4 KiB user/writable pages (page tables at PD).
 */
export function flatCpu(h: FlatHost, eip: number, opts: FlatOptions = {}): Cpu {
  const cpu = new Cpu(h, opts.fpu);
  writeGdt(h);
  h.w32(TSS + 4, 0x90000); // ESP0
  h.w32(TSS + 8, SEL.data0); // SS0
  h.w16(TSS + 102, 0x68); // I/O bitmap right after the TSS
  for (let i = 0; i < 0x2000; i++) h.w8(TSS + 0x68 + i, 0xff);
  h.w8(TSS + 0x68 + 0x2000, 0xff);
  cpu.setGdtr(GDT, 0x4f);
  cpu.setIdtr(IDT, 0x7ff);
  cpu.setCr(0, 0x60000011 | 0x20);
  const ring3 = opts.ring3 === true;
  cpu.setSegment(1, ring3 ? SEL.code3 : SEL.code0, 0, 0xffffffff, ring3 ? 0xcfb : 0xc9b);
  for (const s of [0, 2, 3, 4, 5]) cpu.setSegment(s, ring3 ? SEL.data3 : SEL.data0, 0, 0xffffffff, ring3 ? 0xcf3 : 0xc93);
  cpu.setTr(SEL.tss, TSS, 0x68 + 0x2000, 0x8b);
  cpu.setReg32(4, ring3 ? 0x70000 : 0x80000);
  if (opts.paging === true) {
    identityMap(h, 16);
    cpu.setCr(3, PD);
    cpu.setCr(0, cpu.getCr(0) | 0x80010000);
  }
  cpu.setEip(eip);
  return cpu;
}

/** Identity-map `mib` MiB with 4 KiB pages, present/writable/user. */
export function identityMap(h: FlatHost, mib: number): void {
  const tables = mib / 4;
  for (let t = 0; t < tables; t++) {
    const pt = PD + 0x1000 * (t + 1);
    h.w32(PD + t * 4, pt | 7);
    for (let i = 0; i < 1024; i++) h.w32(pt + i * 4, ((t * 1024 + i) << 12) | 7);
  }
}

/** Set IDT entry `vec` to a 32-bit gate (type 0xE interrupt, 0xF trap). */
export function setGate(h: FlatHost, vec: number, sel: number, offset: number, type = 0xe, dpl = 0): void {
  const g = gate(sel, offset, type, dpl);
  h.w32(IDT + vec * 8, g[0]);
  h.w32(IDT + vec * 8 + 4, g[1]);
}

/** Load a generated program (programs.ts) at its origin. */
export function loadProgram(h: FlatHost, p: { org: number; hex: string }): void {
  h.loadHex(p.org, p.hex);
}

/** A CPU at reset, switched to CS=0 (real mode) at `ip`. */
export function realCpu(h: FlatHost, ip: number): Cpu {
  const cpu = new Cpu(h);
  cpu.setSegment(1, 0, 0, 0xffff, 0x9b);
  cpu.setEip(ip);
  return cpu;
}
