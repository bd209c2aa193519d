/**
 * A mixed integer benchmark for the interpreter: a paged flat 32-bit
 * environment (4 KiB pages, identity map) in a plain Uint8Array-backed host,
 * running a loop of loads/stores, ALU, IMUL, calls/returns, branches,
 * MOVZX/SETcc, REP MOVSD/STOSD and DIV. Run as repeated run(slice) calls,
 * as the machine does. Wired into `npm run bench` by the lead.
 */
import { Jit, JIT_FRAMES } from '../jit/jit.ts';
import { FlatRamHost } from './flat-ram-host.ts';
import { Cpu } from './cpu.ts';

/** nasm source: see the comment block at the end of this file. Loaded at 0x400000. */
const PROGRAM =
  'be 00 00 50 00 bf 00 00 60 00 31 c9 31 db bc 00 00 7f 00 31 c9 8b 04 8e 01 d8 31 c2 6b c0 03 89 04 8f e8 3d 00 00 00 ' +
  '01 14 8f 0f b6 14 0e 09 d3 d1 eb 41 81 f9 00 01 00 00 72 da 56 57 51 b9 40 00 00 00 fc f3 a5 b9 20 00 00 00 89 d8 ' +
  'f3 ab 59 5f 5e 31 d2 b8 78 56 34 12 b9 07 00 00 00 f7 f1 01 d3 eb af 55 89 e5 8d 44 50 05 c1 e0 03 83 e8 11 0f b6 ' +
  'd0 39 d0 72 03 83 c3 01 0f 94 c2 5d c3';

const RAM = 8 << 20;
const CODE = 0x400000;
const PAGE_DIR = 0x1000;


export interface BenchResult {
  instructions: number;
  ms: number;
  mips: number;
}

/**
 * Build the environment and run `instructions` guest instructions in slices
 * of `slice`: with the JIT, or with the interpreter and its block tier from
 * the first instruction (no boot to wait out here), or with `blocks` false
 * the interpreter decoding every instruction where it runs.
 */
export function runMixedBench(instructions = 200_000_000, slice = 1_000_000, jit = false, blocks = true): BenchResult {
  const host = new FlatRamHost(RAM, { wasm: jit });
  const mem = new Uint8Array(host.buffer);
  const dv = new DataView(host.buffer);
  // Page directory + 2 page tables identity-mapping 8 MiB (present, writable, user).
  for (let t = 0; t < 2; t++) {
    const pt = PAGE_DIR + 0x1000 * (t + 1);
    dv.setUint32(PAGE_DIR + t * 4, pt | 7, true);
    for (let i = 0; i < 1024; i++) dv.setUint32(pt + i * 4, ((t * 1024 + i) << 12) | 7, true);
  }
  const bytes = PROGRAM.split(' ').map((x) => parseInt(x, 16));
  mem.set(bytes, CODE);
  for (let i = 0; i < 0x1000; i++) mem[0x500000 + i] = (i * 37) & 0xff;

  const cpu = new Cpu(host);
  cpu.setBlockTier(blocks, { warmup: 0 });
  // No warm-up: this measures generated code on a hot loop, not the JIT's start-up policy.
  if (jit) cpu.enableJit((core) => new Jit(core, host.memory!, host.spareFrames.slice(0, JIT_FRAMES), false, { warmupInstructions: 0 }));
  cpu.setCr(0, 0x60000011 | 0x20);
  cpu.setSegment(1, 0x08, 0, 0xffffffff, 0xc9b);
  for (const s of [0, 2, 3, 4, 5]) cpu.setSegment(s, 0x10, 0, 0xffffffff, 0xc93);
  cpu.setCr(3, PAGE_DIR);
  cpu.setCr(0, cpu.getCr(0) | 0x80010000);
  cpu.setEip(CODE);

  const start = performance.now();
  let done = 0;
  while (done < instructions) {
    const before = cpu.instructionsRetired;
    cpu.run(Math.min(slice, instructions - done));
    const n = cpu.instructionsRetired - before;
    if (n === 0) break;
    done += n;
  }
  const ms = performance.now() - start;
  return { instructions: done, ms, mips: done / ms / 1000 };
}

/*
 * bits 32 / org 0x400000
 * start:  mov esi, 0x500000 / mov edi, 0x600000 / xor ecx, ecx / xor ebx, ebx / mov esp, 0x7f0000
 * outer:  xor ecx, ecx
 * inner:  mov eax, [esi+ecx*4] / add eax, ebx / xor edx, eax / imul eax, eax, 3 / mov [edi+ecx*4], eax
 *         call func / add [edi+ecx*4], edx / movzx edx, byte [esi+ecx] / or ebx, edx / shr ebx, 1
 *         inc ecx / cmp ecx, 256 / jb inner
 *         push esi / push edi / push ecx / mov ecx, 64 / cld / rep movsd / mov ecx, 32 / mov eax, ebx
 *         rep stosd / pop ecx / pop edi / pop esi / xor edx, edx / mov eax, 0x12345678 / mov ecx, 7
 *         div ecx / add ebx, edx / jmp outer
 * func:   push ebp / mov ebp, esp / lea eax, [eax+edx*2+5] / shl eax, 3 / sub eax, 17 / movzx edx, al
 *         cmp eax, edx / jb .x / add ebx, 1
 * .x:     sete dl / pop ebp / ret
 */
