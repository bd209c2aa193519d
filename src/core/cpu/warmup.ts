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

/** A CPU made by `make` on its own RAM holding `code`, in protected mode (PE, ET, NE), faults trapped. */
function scratchCpu(code: ReadonlyArray<readonly [number, string]>, make: (host: CpuHost) => WarmUpCpu): { cpu: WarmUpCpu; mem: Uint8Array } {
  const host = new FlatRamHost(RAM);
  const mem = new Uint8Array(host.buffer);
  for (const [addr, hex] of code) patchHex(mem, addr, hex);
  const cpu = make(host);
  cpu.trapExceptions = true;
  cpu.setCr(0, 0x60000031);
  return { cpu, mem };
}

/** Runs the warm-up program on a scratch CPU made by `make`. */
export function warmUpInterpreter(make: (host: CpuHost) => WarmUpCpu): void {
  const { cpu, mem } = scratchCpu(CODE, make);
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

/**
 * The block tier's warm-up (block-cache.ts, block-run.ts): a loop over
 * every record kind's fast path and several fallbacks, run 24 times so that
 * its blocks are decoded (fourth visit) and run long enough to give V8
 * feedback for every case, chains, exits and an invalidation. Without it
 * runBlocks() deoptimised and recompiled several times during a boot.
 *
 * Source (nasm, bits 32, org 0x18000; data at 0x26000/0x27000, stack 0x2f000):
 *   mov esp/esi/edi, ebp = 24 (the loop counter)
 *   top: mov eax,0x80000005 / mov ecx,3 / mov edx,eax / mov ebx,[esi] / mov [edi],eax / mov dword [edi+4],7
 *        add|or|adc|sbb|and|sub|xor|cmp eax,ecx / add ecx,eax / add eax,[esi+4] / sub eax,[esi+8] / adc eax,[esi]
 *        cmp eax,[esi] / add [edi],eax / sbb [edi],eax / cmp [edi],eax / xor [edi+8],ecx / add eax,5
 *        sub eax,0x12345 / adc eax,1 / and eax,0x7fffffff / cmp eax,9 / add eax,0x100 (05 imm32)
 *        add|adc dword [edi],1 / cmp dword [esi],1 / test eax,ecx / test [esi],eax / test eax,0x100 / test ecx,3
 *        lea edx,[esi+ecx*4+8] / lea edx,[ecx*2+0x80000000] / lea edx,[esi+0x7f] / push eax / push 5
 *        push 0x12345 / pop edx x3 / inc eax / dec ecx / inc ecx / movzx edx,cl / movzx edx,ah
 *        movzx edx,byte [esi+1] / movzx edx,word [esi+2] / mov al,[esi+3] / mov ah,[esi+3] / mov [edi+12],cl
 *        mov [edi+13],ch / shl|shr|sar|rol|ror|rcl|rcr eax,n / shl|shr edx,1 / imul eax,ecx,3
 *        imul eax,[esi],1000 / imul eax,ecx / cmp eax,ecx / cmovb|cmovae|cmovz / setz dl / setb dh / setl al
 *        test eax,eax / jz|jnz|jb|ja|jl +0 / jg near +0 / jmp short +0 / call func / call far_page / jmp far_jmp
 *   back: mov eax,[esi+0xffe] / mov [edi+0xffe],eax / add eax,[esi+0xffd] / add [edi+0xffd],eax (page-crossing
 *        operands: the handlers) / push eax / pop eax / movsx edx,cl / movsx edx,byte [esi] / cdq / nop
 *        xchg eax,edx / test al,1 / cmp al,2 / mov byte [edi],1 / inc dword [edi] / shl eax,cl / sti / cli
 *        cmp eax,ecx / jb +0 / cmp eax,9 / jz +0 / test ecx,3 / jnz +0 (compare-and-branch records)
 *        call patch_fn / dec ebp / jnz top / ud2
 *   func: push ebp / mov ebp,esp / mov eax,[ebp+8] / pop ebp / ret
 *   0x19000 far_page: ret / far_jmp: jmp back
 *   patch_fn: mov [patch_site+1],eax (writes its own code page) / patch_site: mov eax,0 / ret
 */
const BLOCK_CODE: ReadonlyArray<readonly [number, string]> = [
  [0x18000,
    'bc00f00200be00600200bf00700200bd18000000b805000080b90300000089c28b1e8907c747040700000001c809c811c819c821c829c831' +
    'c839c801c10346042b460813063b06010719073907314f0883c0052d4523010083d00125ffffff7f83f8090500010000830701831701833e' +
    '0185c88506a900010000f7c1030000008d548e088d9409000000808d567f506a0568452301005a5a5a4049410fb6d10fb6d40fb656010fb7' +
    '56028a46038a6603884f0c886f0dc1e003c1e802d1f8c1c005c1c803c1d002c1d802d1e2d1ea6bc1036906e80300000fafc139c80f42d10f' +
    '43d10f44d00f94c20f92c60f9cc085c07400750039c8720077007c000f8f00000000eb00e859000000e8f20e0000e9ee0e00008b86fe0f00' +
    '008987fe0f00000386fd0f00000187fd0f000050580fbed10fbe16999092a8013c02c60701ff07d3e0fbfa39c8720083f8097400f7c10300' +
    '00007500e8ad0e00004d0f85b4feffff0f0b5589e58b45085dc3'],
  [0x19000, 'c3e90df1ffffa30c900100b800000000c3'],
];

/** EIP of the block warm-up's final UD2 (just before `func`: push ebp / mov ebp,esp). */
export const BLOCK_WARM_UP_END = BLOCK_CODE[0]![0] + byteOffsetOf(BLOCK_CODE[0]![1], '0f0b5589e5');

/** Runs the block tier's warm-up loop on a scratch CPU made by `make` (with its default block tier). */
export function warmUpBlockTier(make: (host: CpuHost) => WarmUpCpu): void {
  const { cpu } = scratchCpu(BLOCK_CODE, make);
  cpu.setSegment(1, 0x08, 0, 0xffffffff, 0xc9b);
  for (const s of [0, 2, 3, 4, 5]) cpu.setSegment(s, 0x10, 0, 0xffffffff, 0xc93);
  cpu.setEip(0x18000);
  cpu.run(100_000); // ends on UD2 (#UD, trapped)
}
