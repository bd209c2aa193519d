/**
 * Interpreter warm-up: runs a small built-in program once per process (from
 * the first Cpu's constructor, on a scratch Cpu with its own 256 KiB host)
 * so that every rare path inside execute()'s loop has run at least once
 * before V8 optimizes it.
 *
 * Why (measured on the default Linux boot, Node 20): TurboFan turns a call
 * or operator that has never run into an "insufficient type feedback"
 * deoptimization point. execute() is large (its optimizing compile takes
 * 80-200 ms on the dev machine), and each rare path reached for the first
 * time after optimization (TLB miss in an inlined load, an instruction
 * straddling a page, the first LOCK prefix, the first fault...) threw the
 * whole loop back to the unoptimized tiers until the next compile: ~10-15
 * deopt/recompile cycles per boot. The program below visits those paths:
 * the 32-bit ALU/MOV/stack/branch fast paths and their fallbacks, TLB
 * misses on loads and stores, ModRM/disp8/disp32/imm32/rel8 bytes on the
 * next page, branches and calls/returns across pages, prefixes (66, 67,
 * F0), a fault (UD2 with trapExceptions), non-flat data segments (second
 * pass) and a stop request. It only warms type feedback: no state is shared
 * with other CPUs.
 *
 * Source (nasm, bits 32, org 0x10000), chunks at the addresses below:
 *   start: mov esp,0x30000 / mov ebx,0x20000 / mov esi,0x21000 / mov edi,0x22000 / mov ebp,0x24000
 *          mov eax,5 / mov ecx,3 / add|or|and|sub|xor|cmp|adc eax,ecx / add [ebx],eax
 *          add eax,[esi] / or eax,[esi+4] / 23 C1 / sub eax,[esi] / 33 C1 / cmp eax,[esi]
 *          03 C1 / 0B C1 / 2B C1 / 3B C1 / and eax,[esi] / xor eax,[esi]
 *          add eax,ecx / add eax,[esi+0x100] / inc eax / dec eax / inc ax / push eax / push ecx
 *          pop edx / pop edx / push word 1 / pop ax / cmp eax,eax / je / jne / jb / ja (all +0)
 *          test eax,eax / test [esi],eax / jz +0 / add|and|sub|cmp|or ecx,imm8 / add dword [esi],1
 *          mov edx,eax / mov [edi],eax / mov [edi+4],eax / mov edx,[edi] / 8B D1 / lea edx,[esi+ecx*4+8]
 *          lea edx,[esi+8] / mov eax,[esp+4] / mov ax,cx / movzx ax,cl / lock add [esi],eax / movzx eax,cl
 *          movzx eax,byte [edi+0x1000] / movzx eax,byte [edi+0x1001] / mov eax,[ebp] / mov eax,[ebp+0x10]
 *          mov eax,[moffs] / 8B 05 disp32 / mov eax,[bx] / mov eax,[ecx*4+0x20000] / mov eax,[ebp+ecx+4]
 *          mov eax,[esp] / mov eax,[bx+si] / [bp+di] / [si] / [bp+8] / [bx+0x200] / mov eax,[0x300]
 *          call func / call 0x14800 / jmp short +0
 *          test eax,eax / jnz near +0 / jz near +0 / cmp eax,eax / jne near +0 / jmp 0x10fff
 *   func:  ret / dd 0x20000
 *   0x10fff: mov eax,ecx (ModRM on the next page) / jmp 0x11ffe
 *   0x11ffe: mov eax,[esi+4] (disp8 on the next page) / jmp 0x12ffd
 *   0x12ffd: mov eax,[esi+0x100] (disp32 straddles) / cmp eax,eax / jmp 0x13fff
 *   0x13fff: je +0 (rel8 on the next page) / jmp 0x14ffd
 *   0x14800: ret
 *   0x14f90: jmp short 0x15010
 *   0x14ffd: mov eax,0x12345678 (imm32 straddles) / cmp eax,eax / je 0x14f90
 *   0x15010: stc|clc / adc eax,ecx / inc eax (both carries) / stc|clc / sbb eax,ecx / dec eax
 *            add|sub|and eax,ecx / inc eax / inc eax / inc eax / dec eax / inc eax / shl eax,1 / inc eax
 *            neg eax / inc eax / imul eax,ecx / inc eax    (INC/DEC read CF after each kind of producer)
 *            lea edx,[esi+ecx*4+0x80000000] / lea edx,[ecx*4+0x80000000] / lea edx,[esi+0x80000000]
 *            lea edx,[0x80000000] / lea edx,[esi+ecx*4-0x80]    (wide displacements: SIB and plain)
 *            mov ecx,0x80000003 / lea edx,[ecx+esi+0x10] / lea edx,[ecx+esi+0x12345678] / lea edx,[esi+ecx+0x10]
 *              (SIB with a wide base or index and a displacement, as a user stack at 0x7Exxxxxx gives:
 *              without it the first such access deoptimised execute() in Chromium, "not a Smi")
 *            ud2
 */
import { FlatRamHost } from './flat-ram-host.ts';
import type { CpuHost } from './host.ts';
import type { CpuCore } from './state.ts';

const CODE: ReadonlyArray<readonly [number, string]> = [
  [0x10000,
    'bc00000300bb00000200be00100200bf00200200bd00400200b805000000b90300000001c809c821c829c831c839c811c8010303060b46' +
    '0423c12b0633c13b0603c10bc12bc13bc12306330601c80386000100004048664050515a5a666a01665839c0740075007200770085c085' +
    '06740083c10183e10783e90183f90183c90183060189c289078947048b178bd18d548e088d56088b4424046689c8660fb6c1f001060fb6' +
    'c10fb687001000000fb687011000008b45008b4510a1150101008b0515010100678b078b048d000002008b440d048b0424678b00678b03' +
    '678b04678b4608678b870002a100030000e822000000e809470000eb0085c00f85000000000f840000000039c00f8500000000e9eb0e00' +
    '00c300000200'],
  [0x10fff, '89c8e9f80f0000'],
  [0x11ffe, '8b4604e9f70f0000'],
  [0x12ffd, '8b860001000039c0e9f50f0000'],
  [0x13fff, '7400e9f70f0000'],
  [0x14800, 'c3'],
  [0x14f90, 'eb7e'],
  [0x14ffd, 'b87856341239c0748a'],
  [0x15010,
    'f911c840f811c840f919c848f819c84801c84029c84021c84040404840d1e040f7d8400fafc140' +
    '8d948e000000808d148d000000808d96000000808d15000000808d548e80b9030000808d5431108d9431785634128d540e100f0b'],
];

const RAM = 0x40000;

/** EIP of the program's last instruction (UD2) when code runs at CS base 0: every pass ends there with #UD. */
export const WARM_UP_END = CODE[CODE.length - 1]![0] + CODE[CODE.length - 1]![1].length / 2 - 2;


/** The subset of the public Cpu the warm-up drives (kept structural to avoid an import cycle with cpu.ts). */
export interface WarmUpCpu extends CpuCore {
  run(budget: number): number;
  setCr(n: 0 | 2 | 3 | 4, v: number): void;
  setSegment(s: number, selector: number, base: number, limit: number, flags: number): void;
  setEip(v: number): void;
  requestStop(): void;
}

/** Where `mov eax,5 / mov ecx,3` sits in the first chunk, and the same instructions with 0x80000005 / 0x80000003. */
const WIDE_IMMEDIATES = { at: byteOffsetOf(CODE[0]![1], 'b805000000b903000000'), wide: 'b805000080b903000080' };

function byteOffsetOf(hex: string, part: string): number {
  const i = hex.indexOf(part);
  if (i < 0 || i % 2 !== 0) throw new Error(`warm-up program: ${part} not found`);
  return i / 2;
}

function patchHex(mem: Uint8Array, addr: number, hex: string): void {
  for (let i = 0; i < hex.length; i += 2) mem[addr + i / 2] = parseInt(hex.slice(i, i + 2), 16);
}

/** One pass over the program with the given data-segment flags (limit 4 GiB or 1 MiB) and code base / start EIP. */
function runPass(cpu: WarmUpCpu, dataFlags: number, codeBase: number, eip: number): void {
  const limit = dataFlags === 0xc93 ? 0xffffffff : 0xfffff;
  cpu.setSegment(1, 0x08, codeBase, 0xffffffff, 0xc9b);
  for (const s of [0, 2, 3, 4, 5]) cpu.setSegment(s, 0x10, 0, limit, dataFlags);
  cpu.setEip(eip);
  cpu.run(5); // ends on the budget
  cpu.run(10_000); // ends on UD2 (#UD, trapped)
}

/** Runs the warm-up program on a scratch CPU made by `make`. */
export function warmUpInterpreter(make: (host: CpuHost) => WarmUpCpu): void {
  const host = new FlatRamHost(RAM);
  const mem = new Uint8Array(host.buffer);
  for (const [addr, hex] of CODE) patchHex(mem, addr, hex);
  const cpu = make(host);
  cpu.trapExceptions = true;
  cpu.setCr(0, 0x60000031); // PE, ET, NE
  // Flat 4 GiB segments (the inline fast paths), several times: V8 allocates a
  // function's feedback vector only after it has run a little, so small helpers
  // need a few calls before they record anything. Then 1 MiB data and stack
  // segments, which send every memory access through the segment-checked paths.
  for (const dataFlags of [0xc93, 0xc93, 0xc93, 0xc93, 0xc93, 0xc93, 0xc93, 0xc93, 0x493, 0x493]) {
    runPass(cpu, dataFlags, 0, 0x10000);
  }
  // Then with values outside ±2^30, as a Linux kernel has them everywhere.
  // Chromium's V8 keeps only 31-bit integers unboxed, so an operation that has
  // seen only small ones is compiled for small ones and deoptimises at the
  // first wide value: after the first pass only, the boot in Chromium
  // recompiled execute() four more times (0.25-0.7 s of a core each).
  // Registers and EIP are held as int32, in which the kernel's 0xC0000000 and
  // up are small (-2^30..-1); 0x40000000..0xBFFFFFFF are the wide ones (user
  // stacks near 0xBFFF0000, and any data). Code runs at EIP 0xC0010000 (CS
  // base 0x40000000 wraps it to 0x10000) and EAX/ECX start at
  // 0x80000005/0x80000003. (With 0xC000000x, which are small, the TEST fast
  // path still deoptimised execute() twice per boot in Chromium.)
  patchHex(mem, 0x10000 + WIDE_IMMEDIATES.at, WIDE_IMMEDIATES.wide);
  for (let pass = 0; pass < 4; pass++) runPass(cpu, 0xc93, 0x40000000, 0xc0010000);
  cpu.requestStop();
  cpu.run(10);
}
