/**
 * Developer tool (not a test): boot public/images/bzImage + initramfs on the
 * CPU with a toy machine — RAM, a 16550 transmit-only UART on 0x3f8 printed
 * to stdout, a minimal 8259 (remembers the vector base, one IRQ line) and a
 * "timer" that raises IRQ0 every N instructions — using the 32-bit boot
 * protocol (Documentation/x86/boot.rst). It checks how far the kernel gets.
 *   node --import tsx src/core/cpu/test-support/boot-linux.ts [maxInstructions]
 */
import { readFileSync } from 'node:fs';
import { FlatHost, descriptor } from './flat-host.ts';
import { Cpu } from '../cpu.ts';
import { StopReason } from '../host.ts';
import { disassemble } from '../disasm.ts';
import { X87 } from '../fpu/x87.ts';

const RAM = 64 << 20;
const max = Number(process.argv[2] ?? 2_000_000_000);
const kernel = readFileSync(new URL('../../../../public/images/bzImage', import.meta.url));
const initrd = readFileSync(new URL('../../../../public/images/initramfs.cpio.gz', import.meta.url));

class Machine extends FlatHost {
  picBase = 0x08;
  picInit = 0;
  picMask = 0xff;
  out = '';
  irr = 0;
  ier = 0;
  thri = false;
  cpu: Cpu | null = null;
  raise(irq: number): void {
    this.irr |= 1 << irq;
    this.update();
  }
  update(): void {
    this.cpu?.setInterruptLine((this.irr & ~this.picMask) !== 0);
  }
  override ioRead(port: number, size: 1 | 2 | 4): number {
    if (port === 0x3fd) return 0x60;
    if (port === 0x3fa) {
      if (this.thri) { this.thri = false; return 0x02; }
      return 0x01;
    }
    if (port === 0x3f9) return this.ier;
    if (port >= 0x3f8 && port <= 0x3ff) return 0;
    if (port === 0x21) return this.picMask;
    if (port === 0xa1) return 0xff;
    if (port === 0x61) return 0x20;
    return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
  }
  override ioWrite(port: number, _size: 1 | 2 | 4, value: number): void {
    if (port === 0x3f8) {
      const ch = String.fromCharCode(value & 0xff);
      this.out += ch;
      process.stdout.write(ch);
      if ((this.ier & 2) !== 0) { this.thri = true; this.raise(4); }
    } else if (port === 0x3f9) {
      this.ier = value;
      if ((value & 2) !== 0) { this.thri = true; this.raise(4); }
    } else if (port === 0x20) {
      if ((value & 0x10) !== 0) this.picInit = 1;
    } else if (port === 0x21) {
      if (this.picInit === 1) { this.picBase = value & 0xf8; this.picInit = 2; }
      else if (this.picInit === 2) this.picInit = 3;
      else if (this.picInit === 3) this.picInit = 0;
      else { this.picMask = value; this.update(); }
    }
  }
  override acknowledgeInterrupt(): number {
    const pend = this.irr & ~this.picMask;
    const irq = pend === 0 ? 7 : 31 - Math.clz32(pend & -pend);
    this.irr &= ~(1 << irq);
    this.update();
    return this.picBase + irq;
  }
  override readTsc(): number { return this.cpu === null ? 0 : this.cpu.instructionsRetired; }
}

const h = new Machine(RAM);
const setupSects = kernel[0x1f1] || 4;
const pmOffset = (setupSects + 1) * 512;
h.load(0x100000, kernel.subarray(pmOffset));
const bp = 0x8000;
h.load(bp + 0x1f1, kernel.subarray(0x1f1, 0x290));
h.w8(bp + 0x210, 0xff); // type_of_loader
h.w8(bp + 0x211, h.r8(bp + 0x211) | 0x80); // CAN_USE_HEAP
const cmdline = 'console=ttyS0 earlyprintk=serial,ttyS0,115200 tsc=reliable panic=-1';
h.load(0x9000, [...Buffer.from(cmdline), 0]);
h.w32(bp + 0x228, 0x9000);
const initrdAddr = (RAM - initrd.length - 0x100000) & ~0xfff;
h.load(initrdAddr, initrd);
h.w32(bp + 0x218, initrdAddr);
h.w32(bp + 0x21c, initrd.length);
// e820
const e820 = (i: number, addr: number, size: number, type: number): void => {
  const o = bp + 0x2d0 + i * 20;
  h.w32(o, addr); h.w32(o + 4, 0); h.w32(o + 8, size); h.w32(o + 12, 0); h.w32(o + 16, type);
};
e820(0, 0, 0x9fc00, 1);
e820(1, 0x100000, RAM - 0x100000, 1);
h.w8(bp + 0x1e8, 2);
// GDT: 0x10 code, 0x18 data (boot protocol selectors)
const gdt = 0x7000;
const put = (i: number, d: [number, number]): void => { h.w32(gdt + i * 8, d[0]); h.w32(gdt + i * 8 + 4, d[1]); };
put(2, descriptor(0, 0xfffff, 0x9b, 0xc));
put(3, descriptor(0, 0xfffff, 0x93, 0xc));

const cpu = new Cpu(h, (fh) => new X87(fh));
h.cpu = cpu;
cpu.setGdtr(gdt, 0x1f);
cpu.setIdtr(0, 0);
cpu.setCr(0, 0x11);
cpu.setSegment(1, 0x10, 0, 0xffffffff, 0xc9b);
for (const s of [0, 2, 3, 4, 5]) cpu.setSegment(s, 0x18, 0, 0xffffffff, 0xc93);
cpu.setReg32(6, bp);
cpu.setEip(0x100000);

const t0 = performance.now();
let lastTick = 0;
for (;;) {
  const r = cpu.run(200_000);
  if (cpu.instructionsRetired - lastTick >= 1_000_000) {
    lastTick = cpu.instructionsRetired;
    h.raise(0);
  }
  if (r === StopReason.Halted) {
    // idle: advance to the next timer tick
    h.raise(0);
    lastTick = cpu.instructionsRetired;
  } else if (r !== StopReason.Budget) {
    console.log(`\n[stop ${r} ${cpu.shutdownReason} at ${cpu.getEip().toString(16)}]`);
    break;
  }
  if (cpu.instructionsRetired >= max) break;
  if (h.out.includes('~# ')) {
    console.log(`\n[shell prompt after ${cpu.instructionsRetired} instructions, ${(performance.now() - t0).toFixed(0)} ms]`);
    break;
  }
}
const ms = performance.now() - t0;
const eip = cpu.getEip();
const bytes = new Uint8Array(16);
for (let i = 0; i < 16; i++) bytes[i] = Math.max(0, cpu.readLinear8(eip + i));
console.log(`\n[${cpu.instructionsRetired} instructions in ${ms.toFixed(0)} ms = ${(cpu.instructionsRetired / ms / 1000).toFixed(1)} MIPS; EIP=${eip.toString(16)} ${disassemble(bytes, 0, true, eip).text}]`);
