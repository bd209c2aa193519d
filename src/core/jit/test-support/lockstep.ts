/**
 * Developer tool: boots the default image twice, interpreter only and with
 * the JIT, on the deterministic instruction clock, and compares CPU state
 * after every chunk; at the first difference it replays the chunk in small
 * steps and prints both states.
 *   node --import tsx src/core/jit/test-support/lockstep.ts [chunk] [threshold]
 */
import { readFileSync } from 'node:fs';
import { Machine } from '../../machine.ts';
import { prepareInitrd } from '../../boot/initrd.ts';
import { disassemble } from '../../cpu/disasm.ts';

const images = new URL('../../../../public/images/', import.meta.url);
const chunk = Number(process.argv[2] ?? 5000);
const threshold = Number(process.argv[3] ?? 2);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', images), 'utf8')) as { defaultCmdline: string };
const kernel = new Uint8Array(readFileSync(new URL('bzImage', images)));
const initrd = await prepareInitrd(new Uint8Array(readFileSync(new URL('initramfs.cpio.gz', images))));

function make(jit: boolean): { m: Machine; out: () => string } {
  const m = new Machine({ ramBytes: 64 << 20, clock: { mode: 'instructions' }, startEpochMs: 0, hostNowMs: () => 0, jit: jit ? { threshold, warmupInstructions: 0 } : false });
  let serial = '';
  m.onSerialOutput = (b) => { serial += String.fromCharCode(b); };
  m.bootLinux({ kernel, initrd, cmdline: manifest.defaultCmdline, rngSeed: new Uint8Array(32).fill(7) });
  return { m, out: () => serial };
}

function state(m: Machine): string {
  const s = m.cpu.saveState();
  return JSON.stringify({ regs: s.regs, eip: s.eip, eflags: s.eflags, cr2: s.cr2, n: s.instructionsRetired });
}

const a = make(false);
const b = make(true);
function listing(m: Machine, eip: number, count: number): string {
  const bytes = new Uint8Array(16 * count);
  for (let i = 0; i < bytes.length; i++) bytes[i] = m.cpu.readLinear8((eip + i) | 0) & 0xff;
  const lines: string[] = [];
  let off = 0;
  for (let k = 0; k < count; k++) {
    const d = disassemble(bytes, off, true, (eip + off) >>> 0);
    lines.push(`${((eip + off) >>> 0).toString(16)}: ${d.text}`);
    off += d.length;
  }
  return lines.join('\n');
}

const pa = new Uint8Array(4096);
const pb = new Uint8Array(4096);
function ramDiff(): number {
  for (let page = 0; page < (64 << 20) >>> 12; page++) {
    a.m.memory.readPage(page, pa);
    b.m.memory.readPage(page, pb);
    if (Buffer.compare(pa, pb) !== 0) {
      for (let i = 0; i < 4096; i++) if (pa[i] !== pb[i]) return page * 4096 + i;
    }
  }
  return -1;
}

let total = 0;
let lastEip = 0;
const skipTo = Number(process.env.SKIP ?? 0);
for (;;) {
  const step = total + 100_000 <= skipTo ? 100_000 : chunk;
  const ra = a.m.runSlice(step, 1e9);
  const rb = b.m.runSlice(step, 1e9);
  total += step;
  const sa = state(a.m);
  const sb = state(b.m);
  const diff = process.env.RAM === '1' && step === chunk ? ramDiff() : -1;
  if (sa !== sb || ra.stop !== rb.stop || diff >= 0) {
    if (diff >= 0) console.log(`RAM differs at physical ${diff.toString(16)}`);
    console.log(`divergence within instructions ${total - step}..${total}`);
    console.log('interp', ra.stop, sa);
    console.log('jit   ', rb.stop, sb);
    console.log('jit stats', b.m.jitStats);
    if (process.env.TRACE === '1') traceChunk(total - step, step);
    const esp = a.m.cpu.getReg32(4);
    for (const off of (process.env.DUMP ?? '').split(',').filter((x) => x !== '')) {
      const addr = (esp + Number(off)) | 0;
      console.log(`[esp+${off}]`, a.m.cpu.readLinear32(addr) >>> 0, b.m.cpu.readLinear32(addr) >>> 0);
    }
    console.log(listing(a.m, Number(process.env.LISTAT ?? lastEip), 24));
    process.exit(1);
  }
  lastEip = a.m.cpu.getEip();
  if (a.out().includes('root@tabvisor:~# ')) {
    console.log(`identical to the prompt: ${total} instructions`, b.m.jitStats);
    break;
  }
  if (ra.stop === 'halted-forever' || ra.stop === 'triple-fault') { console.log('stopped', ra.stop); break; }
}

/** Replay the failing chunk: record each region run of the JIT machine, step the interpreter to the same counts, report the first mismatch. */
function traceChunk(start: number, size: number): void {
  const a2 = make(false);
  const b2 = make(true);
  let t = 0;
  while (t < start) {
    const st = Math.min(chunk, start - t) === chunk ? chunk : start - t;
    a2.m.runSlice(st, 1e9);
    b2.m.runSlice(st, 1e9);
    t += st;
  }
  const points: { eip: number; at: number; state: string }[] = [];
  b2.m.jitEngine!.trace = (eip, at) => {
    const s = b2.m.cpu;
    const regs = [...s.regs].map((v) => v >>> 0);
    points.push({ eip, at, state: JSON.stringify({ regs, flags: s.getEflags() }) });
  };
  b2.m.runSlice(size, 1e9);
  let prev = { eip: 0, at: t, state: '' };
  for (const pt of points) {
    while (a2.m.cpu.instructionsRetired < pt.at) a2.m.runSlice(1, 1e9);
    const s = a2.m.cpu;
    const mine = JSON.stringify({ regs: [...s.regs].map((v) => v >>> 0), flags: s.getEflags() });
    if (mine !== pt.state) {
      console.log(`first bad region run: entry ${(pt.eip >>> 0).toString(16)}, ${pt.at - prev.at} instructions ending at ${pt.at}`);
      console.log('before  ', prev.state);
      console.log('interp  ', mine);
      console.log('jit     ', pt.state);
      console.log(listing(a2.m, pt.eip, 30));
      return;
    }
    prev = pt;
  }
  console.log('all region runs matched', points.length);
}
