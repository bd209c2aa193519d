/**
 * The JIT against the interpreter (the differential cases and fuzz streams
 * with the JIT forced on are in jit-diff.test.ts and jit-fuzz-*.test.ts):
 *  - self-modifying code: a store into the running loop's own page takes
 *    effect at once;
 *  - golden bytes for the generated WebAssembly of a representative block;
 *  - the default Linux image boots to the prompt in lockstep with the
 *    interpreter (same registers after every 100,000 instructions, same RAM
 *    at the prompt), most instructions running in generated code.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Cpu } from '../cpu/cpu.ts';
import { StopReason } from '../cpu/host.ts';
import { FlatRamHost } from '../cpu/flat-ram-host.ts';
import { Machine } from '../machine.ts';
import { prepareInitrd } from '../boot/initrd.ts';
import { decodeBlock } from './block-decoder.ts';
import { translateRegion } from './translator.ts';
import { Jit, JIT_FRAMES, type JitOptions } from './jit.ts';
import { JIT_HASH_MULTIPLIER, JIT_HASH_SHIFT } from '../cpu/state.ts';

/** A flat 32-bit ring-0 machine without paging on a wasm-backed host, code at 0x10000 (`jit`: forced on, or these options). */
function flatMachine(code: number[], jit: boolean | JitOptions, ramBytes = 1 << 20): { cpu: Cpu; host: FlatRamHost; engine: Jit | null } {
  const host = new FlatRamHost(ramBytes, { wasm: true });
  new Uint8Array(host.buffer).set(code, 0x10000);
  const cpu = new Cpu(host);
  let engine: Jit | null = null;
  if (jit !== false) {
    cpu.enableJit((core) => (engine = new Jit(core, host.memory!, host.spareFrames.slice(0, JIT_FRAMES), false, jit === true ? { threshold: 0 } : jit)));
  }
  cpu.setCr(0, 0x60000011);
  cpu.setSegment(1, 0x08, 0, 0xffffffff, 0xc9b);
  for (const s of [0, 2, 3, 4, 5]) cpu.setSegment(s, 0x10, 0, 0xffffffff, 0xc93);
  cpu.setReg32(4, 0x80000);
  cpu.setEip(0x10000);
  return { cpu, host, engine };
}

describe('warm-up', () => {
  // mov ecx,100000 / loop: add ebx,1 / dec ecx / jnz loop / hlt: 300,002 instructions
  const loop = [0xb9, 0xa0, 0x86, 0x01, 0x00, 0x83, 0xc3, 0x01, 0x49, 0x75, 0xfa, 0xf4];

  it('compiles nothing before warmupInstructions have retired, then runs the hot loop compiled', () => {
    const { cpu, engine } = flatMachine(loop, { threshold: 10, warmupInstructions: 50_000 });
    const stats = engine!.stats;
    for (let i = 0; i < 4; i++) cpu.run(10_000);
    expect(cpu.instructionsRetired).toBe(40_000);
    expect(stats.compiled).toBe(0);
    expect(stats.instructions).toBe(0);
    let stop = cpu.run(10_000);
    while (stop === StopReason.Budget) stop = cpu.run(10_000);
    expect(stop).toBe(StopReason.HaltedNoInterrupts);
    expect(cpu.getReg32(3)).toBe(100_000);
    expect(cpu.instructionsRetired).toBe(300_002);
    expect(stats.compiled).toBeGreaterThan(0);
    expect(stats.instructions).toBeGreaterThan(200_000);
  });
});

describe('a loop that gets hot again while its batch waits', () => {
  // mov ecx,2000000 / loop: add ebx,1 / dec ecx / jnz loop / hlt: 6,000,002 instructions
  const loop = [0xb9, 0x80, 0x84, 0x1e, 0x00, 0x83, 0xc3, 0x01, 0x49, 0x75, 0xfa, 0xf4];

  it('is compiled and run compiled within the same run() once the batch has waited a few ms', () => {
    // One region waits, far fewer than a batch: before, it waited for the end of run(), which
    // for a run sized at the usual speed but slowed down (cold JS paths) took hundreds of ms.
    // The interpreter needs well over 10 ms for 6 M instructions, and once compiled the rest
    // runs compiled.
    const { cpu, engine } = flatMachine(loop, { threshold: 10, warmupInstructions: 0 });
    expect(cpu.run(10_000_000)).toBe(StopReason.HaltedNoInterrupts);
    expect(cpu.getReg32(3)).toBe(2_000_000);
    expect(engine!.stats.compiled).toBe(1);
    expect(engine!.stats.instructions).toBeGreaterThan(4_000_000);
  });
});

describe('warm-up after a reset', () => {
  // mov ecx,100000 / loop: add ebx,1 / dec ecx / jnz loop / hlt
  const loop = [0xb9, 0xa0, 0x86, 0x01, 0x00, 0x83, 0xc3, 0x01, 0x49, 0x75, 0xfa, 0xf4];

  it('starts again: the code after a reboot runs interpreted for warmupInstructions', () => {
    const { cpu, engine } = flatMachine(loop, { threshold: 10, warmupInstructions: 50_000 });
    const stats = engine!.stats;
    let stop = cpu.run(10_000);
    while (stop === StopReason.Budget) stop = cpu.run(10_000);
    const compiledBefore = stats.instructions;
    expect(compiledBefore).toBeGreaterThan(200_000);
    // A reset (what a guest reboot does), then the same program again from a loader-like state.
    cpu.reset();
    cpu.setCr(0, 0x60000011);
    cpu.setSegment(1, 0x08, 0, 0xffffffff, 0xc9b);
    for (const s of [0, 2, 3, 4, 5]) cpu.setSegment(s, 0x10, 0, 0xffffffff, 0xc93);
    cpu.setReg32(4, 0x80000);
    cpu.setEip(0x10000);
    for (let i = 0; i < 4; i++) cpu.run(10_000);
    expect(stats.instructions).toBe(compiledBefore);
    stop = cpu.run(10_000);
    while (stop === StopReason.Budget) stop = cpu.run(10_000);
    expect(stop).toBe(StopReason.HaltedNoInterrupts);
    expect(stats.instructions - compiledBefore).toBeGreaterThan(200_000);
  });
});

describe('small first generations, rebuilt whole when they call each other', () => {
  /**
   * mov ecx,N / then four blocks of `add ebx,1` x4 + `jmp $+2` (5 instructions each) and
   * `dec ecx / jnz` back to the first: a loop of 22 instructions over five blocks of one page.
   */
  function splitLoop(iterations: number): number[] {
    const code = [0xb9, iterations & 0xff, (iterations >> 8) & 0xff, (iterations >> 16) & 0xff, iterations >>> 24];
    for (let b = 0; b < 4; b++) code.push(0x83, 0xc3, 0x01, 0x83, 0xc3, 0x01, 0x83, 0xc3, 0x01, 0x83, 0xc3, 0x01, 0xeb, 0x00);
    code.push(0x49, 0x75, -(4 * 14 + 3) & 0xff, 0xf4); // dec ecx / jnz loop / hlt
    return code;
  }
  // Runs of 50,000 instructions: the split counters are looked at every 64 runs (3.2 M instructions).
  const runToHalt = (cpu: Cpu): void => {
    let stop = cpu.run(50_000);
    while (stop === StopReason.Budget) stop = cpu.run(50_000);
    expect(stop).toBe(StopReason.HaltedNoInterrupts);
  };

  it('stops a generation at generationInsns', () => {
    for (const [cap, blocks] of [[8, 2], [1000, 5]] as const) {
      const { cpu, engine } = flatMachine(splitLoop(200_000), { threshold: 10, warmupInstructions: 0, generationInsns: cap });
      // The loop's first block gets hot after 11 iterations (~240 instructions) and its region is
      // compiled at the end of the run. A longer run made this depend on the host's speed: once the
      // batch had waited 10 ms, the entry hot again compiled it early and a second generation followed.
      cpu.run(300);
      expect(engine!.stats.compiled).toBe(1);
      // 5 + 5 instructions reach the cap of 8; without it all five blocks of the loop.
      expect(engine!.stats.live).toBe(blocks);
    }
  });

  it('rebuilds the page as one function once its generations call each other often', () => {
    const { cpu, engine } = flatMachine(splitLoop(200_000), { threshold: 10, warmupInstructions: 0, generationInsns: 8 });
    runToHalt(cpu);
    expect(cpu.getReg32(3)).toBe(16 * 200_000);
    expect(engine!.stats.rebuilds).toBe(1);
    expect(engine!.stats.instructions).toBeGreaterThan(4_000_000);
  });

  it('leaves a loop alone whose generations rarely call each other', () => {
    // 2,000 iterations: a few thousand calls between generations, far below SPLIT_REBUILD_CALLS.
    const { cpu, engine } = flatMachine(splitLoop(2_000), { threshold: 10, warmupInstructions: 0, generationInsns: 8 });
    runToHalt(cpu);
    expect(cpu.getReg32(3)).toBe(16 * 2_000);
    expect(engine!.stats.rebuilds).toBe(0);
  });

  it('rebuilds a page whose 32 generations are used up instead of leaving its new code interpreted', () => {
    // 40 loops one after another, each `mov ecx,10000 / L: add ebx,1 / dec ecx / jnz L`. With a cap of 3
    // instructions each loop gets hot in a run of its own and becomes a generation of its own.
    const code: number[] = [];
    for (let k = 0; k < 40; k++) code.push(0xb9, 0x10, 0x27, 0x00, 0x00, 0x83, 0xc3, 0x01, 0x49, 0x75, 0xfa);
    code.push(0xf4);
    const { cpu, engine } = flatMachine(code, { threshold: 10, warmupInstructions: 0, generationInsns: 3 });
    let stop = cpu.run(500);
    while (stop === StopReason.Budget) stop = cpu.run(500);
    expect(stop).toBe(StopReason.HaltedNoInterrupts);
    expect(cpu.getReg32(3)).toBe(40 * 10_000);
    expect(engine!.stats.rebuilds).toBe(1);
    // Each loop runs at most ~530 of its 30,000 instructions interpreted once all of them compile;
    // with 32 generations and no rebuild, far fewer ran compiled (323,718 when measured).
    expect(engine!.stats.instructions).toBeGreaterThan(1_100_000);
  });

  it('never rebuilds a loop that one generation holds', () => {
    const { cpu, engine } = flatMachine(splitLoop(200_000), { threshold: 10, warmupInstructions: 0, generationInsns: 1000 });
    runToHalt(cpu);
    expect(cpu.getReg32(3)).toBe(16 * 200_000);
    expect(engine!.stats.rebuilds).toBe(0);
  });
});

describe('instructions that cross a page end', () => {
  // 10000 mov ecx,1000 / 10005 jmp 10ffc / 10ffc add ebx,0x12345678 (its last two bytes on page 0x11)
  // 11002 cmp ecx,500 / 11008 jne 11013 / 1100a mov word [0x11000],1 (the immediate becomes 0x00015678)
  // 11013 dec ecx / 11014 jnz 10ffc / 1101a hlt
  const code = new Array<number>(0x1020).fill(0x90);
  code.splice(0, 10, 0xb9, 0xe8, 0x03, 0x00, 0x00, 0xe9, 0xf2, 0x0f, 0x00, 0x00);
  code.splice(0xffc, 31,
    0x81, 0xc3, 0x78, 0x56, 0x34, 0x12, 0x81, 0xf9, 0xf4, 0x01, 0x00, 0x00, 0x75, 0x09,
    0x66, 0xc7, 0x05, 0x00, 0x10, 0x01, 0x00, 0x01, 0x00, 0x49, 0x0f, 0x85, 0xe2, 0xff, 0xff, 0xff, 0xf4);

  it('run compiled while the next page\'s bytes are the same, and as the CPU fetches them once rewritten', () => {
    const runs = [false, { threshold: 20, warmupInstructions: 0 }].map((jit) => {
      const { cpu, engine } = flatMachine(code, jit);
      let stop = cpu.run(500);
      while (stop === StopReason.Budget) stop = cpu.run(500);
      return { stop, ebx: cpu.getReg32(3), eip: cpu.getEip(), retired: cpu.instructionsRetired, engine };
    });
    expect(runs[0]!.stop).toBe(StopReason.HaltedNoInterrupts);
    expect(runs[0]!.ebx).toBe((501 * 0x12345678 + 499 * 0x00015678) >>> 0); // ECX 1000..500 before the rewrite
    expect({ ...runs[1], engine: undefined }).toEqual({ ...runs[0], engine: undefined });
    // The crossing ADD is the loop's only block start: before such instructions were translated,
    // none of the loop ran compiled.
    expect(runs[1]!.engine!.stats.instructions).toBeGreaterThan(2000);
  });
});

describe('self-modifying code', () => {
  // outer: mov ecx,100 / inner: mov eax,1 (imm patched) / add ebx,eax / dec ecx / jnz inner
  //        mov byte [0x1000b],5 / dec edx / jnz outer / hlt
  const code = [
    0xba, 0x02, 0x00, 0x00, 0x00, // 10000 mov edx,2
    0xb9, 0x64, 0x00, 0x00, 0x00, // 10005 mov ecx,100
    0xb8, 0x01, 0x00, 0x00, 0x00, // 1000a mov eax,1   (imm at 1000b)
    0x01, 0xc3, //                   1000f add ebx,eax
    0x49, //                         10011 dec ecx
    0x75, 0xf6, //                   10012 jnz 1000a
    0xc6, 0x05, 0x0b, 0x00, 0x01, 0x00, 0x05, // 10014 mov byte [0x1000b],5
    0x4a, //                         1001b dec edx
    0x75, 0xe7, //                   1001c jnz 10005
    0xf4, //                         1001e hlt
  ];

  it('a store into the page of the running loop changes what runs next, as in the interpreter', () => {
    const results = [false, true].map((jit) => {
      const { cpu } = flatMachine(code, jit);
      const stop = cpu.run(100_000);
      return { stop, ebx: cpu.getReg32(3), eip: cpu.getEip(), retired: cpu.instructionsRetired };
    });
    expect(results[0]).toEqual({ stop: StopReason.HaltedNoInterrupts, ebx: 600, eip: 0x1001f, retired: 810 });
    expect(results[1]).toEqual(results[0]);
  });
});

describe('frames rewritten too often', () => {
  // The loop above, its immediate patched 24 times: mov edx,24 / outer: mov ecx,100 / inner: mov eax,1 / add ebx,eax
  // dec ecx / jnz inner / mov byte [0x1000b],5 / dec edx / jnz outer / hlt
  const code = [
    0xba, 0x18, 0x00, 0x00, 0x00, 0xb9, 0x64, 0x00, 0x00, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x01, 0xc3,
    0x49, 0x75, 0xf6, 0xc6, 0x05, 0x0b, 0x00, 0x01, 0x00, 0x05, 0x4a, 0x75, 0xe7, 0xf4,
  ];
  /** Runs the program from its start to its HLT; EBX is its sum (the immediate is 1 until the first patch, then 5). */
  const runToHalt = (cpu: Cpu, sum: number): void => {
    cpu.halted = false;
    cpu.setReg32(3, 0);
    cpu.setEip(0x10000);
    let stop = cpu.run(100_000);
    while (stop === StopReason.Budget) stop = cpu.run(100_000);
    expect(stop).toBe(StopReason.HaltedNoInterrupts);
    expect(cpu.getReg32(3)).toBe(sum); // right whichever tier ran it
  };

  it('stop being compiled, and get another chance after a flush', () => {
    const { cpu, engine } = flatMachine(code, true);
    const stats = engine!.stats;
    runToHalt(cpu, 100 + 23 * 500);
    expect(stats.invalidations).toBeGreaterThanOrEqual(16);
    const compiled = stats.compiled;
    runToHalt(cpu, 24 * 500); // the frame is shut out: nothing new is compiled
    expect(stats.compiled).toBe(compiled);
    cpu.flushTlb(); // e.g. a snapshot's dirty-page reset
    runToHalt(cpu, 24 * 500);
    expect(stats.compiled).toBeGreaterThan(compiled);
  });
});

describe('chaining', () => {
  it('goes on into a code page whose TLB slot a data access took, instead of returning to JS', () => {
    // 10000: mov ecx,1000 / 10005: call 11000 / dec ecx / jnz 10005 / hlt
    // 11000: mov eax,[0x411000] (page 0x411 shares the TLB slot of page 0x11) / add ebx,eax / ret
    const code = new Array<number>(0x1008).fill(0x90);
    code.splice(0, 14, 0xb9, 0xe8, 0x03, 0x00, 0x00, 0xe8, 0xf6, 0x0f, 0x00, 0x00, 0x49, 0x75, 0xf8, 0xf4);
    code.splice(0x1000, 8, 0xa1, 0x00, 0x10, 0x41, 0x00, 0x01, 0xc3, 0xc3);
    const { cpu, host, engine } = flatMachine(code, true, 8 << 20);
    new DataView(host.buffer).setUint32(0x411000, 3, true);
    let stop = cpu.run(1_000_000);
    while (stop === StopReason.Budget) stop = cpu.run(1_000_000);
    expect(stop).toBe(StopReason.HaltedNoInterrupts);
    expect(cpu.getReg32(3)).toBe(3000);
    expect(cpu.instructionsRetired).toBe(1 + 1000 * 6 + 1);
    // Without the dispatcher's TLB refill every call into page 0x11 returned to JS (1,000+ block runs).
    expect(engine!.stats.blockRuns).toBeLessThan(50);
  });
});

describe('blocks that lose their hash slot', () => {
  /** Three host offsets whose blocks share one slot pair of the block table (the interpreter's hash). */
  function collidingOffsets(): number[] {
    const pair = (p: number): number => (Math.imul(p, JIT_HASH_MULTIPLIER) >>> (32 - JIT_HASH_SHIFT)) >>> 1;
    const first = 0x20000;
    const found = [first];
    for (let p = first + 1; p < 0xf0000 && found.length < 3; p++) if (pair(p) === pair(first)) found.push(p);
    return found;
  }

  it('take it back when hot again, from the code already compiled, for as long as the program runs', () => {
    // Placing any of the three RETs evicts another. The loop calls all three 20,000 times:
    // 10000: mov ecx,20000 / 10005: call a / call b / call c / dec ecx / jnz 10005 / hlt
    const targets = collidingOffsets();
    expect(targets).toHaveLength(3);
    const code = new Array<number>(0xf0000 - 0x10000).fill(0x90);
    const loop = [0xb9, 0x20, 0x4e, 0x00, 0x00];
    targets.forEach((t, k) => {
      const next = 0x10005 + 5 * (k + 1);
      loop.push(0xe8, ...[0, 8, 16, 24].map((shift) => ((t - next) >>> shift) & 0xff));
      code[t - 0x10000] = 0xc3;
    });
    loop.push(0x49, 0x75, 0xee, 0xf4);
    code.splice(0, loop.length, ...loop);
    const { cpu, engine } = flatMachine(code, { threshold: 2, warmupInstructions: 0 }, 1 << 20);
    let stop = cpu.run(1000);
    while (stop === StopReason.Budget) stop = cpu.run(1000);
    expect(stop).toBe(StopReason.HaltedNoInterrupts);
    expect(cpu.instructionsRetired).toBe(1 + 20_000 * 8 + 1);
    const stats = engine!.stats;
    // Each swap compiles nothing: a few region functions in all. Recompiling an evicted block
    // instead compiled ~70 functions, until the pages had used all their generations.
    expect(stats.compiled).toBeLessThan(10);
    expect(stats.instructions).toBeGreaterThan(0.5 * cpu.instructionsRetired);
  });
});

describe('calls to PC thunks', () => {
  // 10000 mov ecx,1000 / 10005 call 11000 / 1000a add esi,ebx / 1000c xor ebx,ebx / 1000e cmp ecx,400
  // 10014 jne 1001d / 10016 mov byte [0x11001],0x14 (the thunk now loads EDX) / 1001d dec ecx
  // 1001e jnz 10005 / 10020 hlt; 11000: mov ebx,[esp] / ret
  const code = new Array<number>(0x1004).fill(0x90);
  code.splice(0, 0x21,
    0xb9, 0xe8, 0x03, 0x00, 0x00, 0xe8, 0xf6, 0x0f, 0x00, 0x00, 0x01, 0xde, 0x31, 0xdb,
    0x81, 0xf9, 0x90, 0x01, 0x00, 0x00, 0x75, 0x07, 0xc6, 0x05, 0x01, 0x10, 0x01, 0x00, 0x14,
    0x49, 0x75, 0xe5, 0xf4);
  code.splice(0x1000, 4, 0x8b, 0x1c, 0x24, 0xc3);
  const state = (cpu: Cpu): number[] => [...[0, 1, 2, 3, 4, 5, 6, 7].map((r) => cpu.getReg32(r) >>> 0), cpu.getEip(), cpu.instructionsRetired];

  it('run in place while the thunk\'s bytes are there, and as a plain call once the guest rewrote them', () => {
    // Compiled once the loop is warm, as hot code is: the thunk's page is in the TLB by then.
    const runs = [false, { threshold: 20, warmupInstructions: 0 }].map((jit) => {
      const { cpu, host, engine } = flatMachine(code, jit);
      // Short runs: regions are compiled at the end of a run.
      let stop = cpu.run(500);
      while (stop === StopReason.Budget) stop = cpu.run(500);
      return { stop, state: state(cpu), stack: new DataView(host.buffer).getUint32(0x80000 - 4, true), engine };
    });
    expect(runs[1]!.engine!.stats.pcThunkCalls).toBeGreaterThan(0);
    expect(runs[1]!.engine!.stats.instructions).toBeGreaterThan(4000);
    expect(runs[0]!.stop).toBe(StopReason.HaltedNoInterrupts);
    // 601 passes (ECX 1000..400) add the return address; the rest find EBX cleared.
    expect(runs[0]!.state[6]).toBe((601 * 0x1000a) >>> 0);
    expect(runs[0]!.state[2]).toBe(0x1000a);
    expect(runs[0]!.stack).toBe(0x1000a);
    expect({ stop: runs[1]!.stop, state: runs[1]!.state, stack: runs[1]!.stack }).toEqual({ stop: runs[0]!.stop, state: runs[0]!.state, stack: runs[0]!.stack });
  });

  it('count three instructions each: small budgets stop at the interpreter\'s instruction boundaries', () => {
    const engines: (Jit | null)[] = [];
    const cpus = [false, { threshold: 20, warmupInstructions: 0 }].map((jit) => {
      const m = flatMachine(code, jit);
      engines.push(m.engine);
      return m.cpu;
    });
    for (let step = 0; step < 3000; step++) {
      const budget = 1 + (step % 7);
      for (const cpu of cpus) cpu.run(budget);
      expect(state(cpus[1]!), `after step ${step}`).toEqual(state(cpus[0]!));
    }
    expect(engines[1]!.stats.pcThunkCalls).toBeGreaterThan(0);
  });
});

describe('calls to PLT entries', () => {
  // 10000 mov ecx,1000 / 10005 call 11000 / 1000a cmp ecx,400 / 10010 jne 10019
  // 10012 mov byte [0x11001],0x15 (the entry becomes CALL [0x12000]) / 10019 dec ecx / 1001a jnz 10005 / 1001c hlt
  // 11000 jmp [0x12000] / 11006 ret; 12000: GOT slot = 0x13000; 13000 inc ebx / ret
  const code = new Array<number>(0x3002).fill(0x90);
  code.splice(0, 0x1d,
    0xb9, 0xe8, 0x03, 0x00, 0x00, 0xe8, 0xf6, 0x0f, 0x00, 0x00, 0x81, 0xf9, 0x90, 0x01, 0x00, 0x00, 0x75, 0x07,
    0xc6, 0x05, 0x01, 0x10, 0x01, 0x00, 0x15, 0x49, 0x75, 0xe9, 0xf4);
  code.splice(0x1000, 7, 0xff, 0x25, 0x00, 0x20, 0x01, 0x00, 0xc3);
  code.splice(0x2000, 4, 0x00, 0x30, 0x01, 0x00);
  code.splice(0x3000, 2, 0x43, 0xc3);
  const state = (cpu: Cpu): number[] => [...[0, 1, 2, 3, 4, 5, 6, 7].map((r) => cpu.getReg32(r) >>> 0), cpu.getEip(), cpu.instructionsRetired];
  const warm = { threshold: 20, warmupInstructions: 0 };

  it('go on through the GOT slot while the entry is there, and run the rewritten entry as the CPU does', () => {
    const runs = [false, warm].map((jit) => {
      const { cpu, host, engine } = flatMachine(code, jit);
      let stop = cpu.run(500);
      while (stop === StopReason.Budget) stop = cpu.run(500);
      const view = new DataView(host.buffer);
      return { stop, state: state(cpu), stack: [view.getUint32(0x80000 - 4, true), view.getUint32(0x80000 - 8, true)], engine };
    });
    expect(runs[1]!.engine!.stats.pltCalls).toBeGreaterThan(0);
    expect(runs[1]!.engine!.stats.instructions).toBeGreaterThan(2000);
    expect(runs[0]!.stop).toBe(StopReason.HaltedNoInterrupts);
    expect(runs[0]!.state[3]).toBe(1000);
    expect(runs[0]!.stack).toEqual([0x1000a, 0x11006]);
    expect({ stop: runs[1]!.stop, state: runs[1]!.state, stack: runs[1]!.stack }).toEqual({ stop: runs[0]!.stop, state: runs[0]!.state, stack: runs[0]!.stack });
  });

  it('stop at the interpreter\'s instruction boundaries under small budgets', () => {
    const cpus = [false, warm].map((jit) => flatMachine(code, jit).cpu);
    for (let step = 0; step < 3000; step++) {
      for (const cpu of cpus) cpu.run(1 + (step % 5));
      expect(state(cpus[1]!), `after step ${step}`).toEqual(state(cpus[0]!));
    }
  });
});

describe('string moves inside compiled blocks', () => {
  /** Runs `code` on the interpreter and with the JIT forced on, after `setup`; returns both CPUs, stopped. */
  function both(code: number[], setup: (cpu: Cpu, mem: Uint8Array) => void): { cpu: Cpu; mem: Uint8Array; engine: Jit | null; stop: StopReason }[] {
    return [false, true].map((jit) => {
      const { cpu, host, engine } = flatMachine(code, jit);
      const mem = new Uint8Array(host.buffer);
      cpu.trapExceptions = true;
      cpu.setReg32(2, 0); // reset leaves the CPU signature in EDX
      setup(cpu, mem);
      let stop = cpu.run(100_000);
      while (stop === StopReason.Budget) stop = cpu.run(100_000);
      return { cpu, mem, engine, stop };
    });
  }
  const regs = (cpu: Cpu): number[] => [0, 1, 2, 3, 4, 5, 6, 7].map((r) => cpu.getReg32(r) >>> 0);

  it('MOVS/STOS within one page run inline; every case the inline path refuses gives the interpreter\'s result', () => {
    // jmp $+2 / mov dl,[esi] / mov [edi],dl (the TLB then holds both pages, as it does for a hot memcpy)
    // / [std] / [rep] movs|stos / hlt. inline: whether the generated code may do it without the import.
    const cases: { name: string; op: number[]; ecx: number; esi: number; edi: number; eax?: number; std?: boolean; inline: boolean }[] = [
      { name: 'rep movsb', op: [0xf3, 0xa4], ecx: 100, esi: 0x40010, edi: 0x50020, inline: true },
      { name: 'rep movsd', op: [0xf3, 0xa5], ecx: 1024, esi: 0x40000, edi: 0x50000, inline: true },
      { name: 'movsb', op: [0xa4], ecx: 7, esi: 0x40003, edi: 0x50005, inline: true },
      { name: 'movsd, destination just below the source', op: [0xa5], ecx: 7, esi: 0x40008, edi: 0x40006, inline: true },
      { name: 'rep movsb onto itself', op: [0xf3, 0xa4], ecx: 50, esi: 0x40100, edi: 0x40100, inline: true },
      { name: 'rep movsb, destination one after the source (a fill)', op: [0xf3, 0xa4], ecx: 50, esi: 0x40100, edi: 0x40101, inline: false },
      { name: 'rep movsd, destination two after the source', op: [0xf3, 0xa5], ecx: 20, esi: 0x40100, edi: 0x40102, inline: false },
      { name: 'rep movsb across a page end', op: [0xf3, 0xa4], ecx: 100, esi: 0x40fc0, edi: 0x50000, inline: false },
      { name: 'rep movsd, 4097 bytes', op: [0xf3, 0xa5], ecx: 1025, esi: 0x40000, edi: 0x60000, inline: false },
      { name: 'rep movsb, ECX = 0', op: [0xf3, 0xa4], ecx: 0, esi: 0x40000, edi: 0x50000, inline: false },
      { name: 'rep movsb with DF = 1', op: [0xf3, 0xa4], ecx: 10, esi: 0x40100, edi: 0x50100, std: true, inline: false },
      { name: 'rep stosb', op: [0xf3, 0xaa], ecx: 4096, esi: 0, edi: 0x50000, eax: 0x1234567f, inline: true },
      { name: 'rep stosd of a repeated byte', op: [0xf3, 0xab], ecx: 300, esi: 0, edi: 0x50010, eax: 0, inline: true },
      { name: 'rep stosd of other values', op: [0xf3, 0xab], ecx: 300, esi: 0, edi: 0x50010, eax: 0x12345678, inline: false },
      { name: 'stosd', op: [0xab], ecx: 3, esi: 0, edi: 0x50ffc, eax: 0xabababab, inline: true },
      { name: 'stosd across a page end', op: [0xab], ecx: 3, esi: 0, edi: 0x50ffe, eax: 0xabababab, inline: false },
      // 16-bit forms: always the import (busybox's memcpy ends with movsw before rep movsd).
      { name: 'movsw', op: [0x66, 0xa5], ecx: 7, esi: 0x40003, edi: 0x50005, inline: false },
      { name: 'rep movsw', op: [0xf3, 0x66, 0xa5], ecx: 300, esi: 0x40010, edi: 0x50020, inline: false },
      { name: 'rep movsw with DF = 1', op: [0xf3, 0x66, 0xa5], ecx: 10, esi: 0x40100, edi: 0x50100, std: true, inline: false },
      { name: 'stosw', op: [0x66, 0xab], ecx: 3, esi: 0, edi: 0x50ffe, eax: 0x12345678, inline: false },
      { name: 'rep stosw', op: [0xf3, 0x66, 0xab], ecx: 2100, esi: 0, edi: 0x50010, eax: 0x9abc, inline: false },
    ];
    for (const c of cases) {
      const code = [0xeb, 0x00, 0x8a, 0x16, 0x88, 0x17, ...(c.std === true ? [0xfd] : []), ...c.op, 0xf4];
      const [interp, jit] = both(code, (cpu, mem) => {
        for (let k = 0; k < 0x30000; k++) mem[0x40000 + k] = (k * 13 + (k >> 8)) & 0xff;
        cpu.setReg32(0, c.eax ?? 0x55);
        cpu.setReg32(1, c.ecx);
        cpu.setReg32(6, c.esi);
        cpu.setReg32(7, c.edi);
      });
      expect(jit!.stop, c.name).toBe(StopReason.HaltedNoInterrupts);
      expect(regs(jit!.cpu), c.name).toEqual(regs(interp!.cpu));
      expect(jit!.cpu.getEflags(), c.name).toBe(interp!.cpu.getEflags());
      expect(Buffer.compare(jit!.mem.subarray(0x40000, 0x70000), interp!.mem.subarray(0x40000, 0x70000)), c.name).toBe(0);
      expect(jit!.cpu.instructionsRetired, c.name).toBe(interp!.cpu.instructionsRetired);
      expect(jit!.engine!.stats.instructions, c.name).toBeGreaterThan(0);
      expect(jit!.engine!.stats.stringImports, c.name).toBe(c.inline ? 0 : 1);
    }
  });

  it('a REP STOSB that page-faults midway keeps the bytes and registers of the iterations before the fault', () => {
    // jmp $+2 (so that a block starts at the MOV) / mov ebx,5 / rep stosb / hlt,
    // storing 100 bytes from 0x20fd8 where page 0x21000 is not present.
    const code = [0xeb, 0x00, 0xbb, 0x05, 0x00, 0x00, 0x00, 0xf3, 0xaa, 0xf4];
    const [interp, jit] = both(code, (cpu, mem) => {
      const dv = new DataView(mem.buffer);
      for (let k = 0; k < 256; k++) dv.setUint32(0x31000 + 4 * k, k === 0x21 ? 0 : (k << 12) | 7, true);
      dv.setUint32(0x30000, 0x31000 | 7, true);
      cpu.setCr(3, 0x30000);
      cpu.setCr(0, cpu.getCr(0) | 0x80000000);
      cpu.setReg32(0, 0xab);
      cpu.setReg32(1, 100);
      cpu.setReg32(7, 0x20fd8);
    });
    for (const r of [interp!, jit!]) {
      expect(r.stop).toBe(StopReason.Exception);
      expect(r.cpu.exceptionVector).toBe(14);
      expect(r.cpu.getCr(2) >>> 0).toBe(0x21000);
      expect(r.cpu.getEip()).toBe(0x10007); // the REP STOSB restarts after the fault
      expect(regs(r.cpu).slice(0, 8)).toEqual([0xab, 60, 0, 5, 0x80000, 0, 0, 0x21000]);
      expect([...r.mem.subarray(0x20fd8, 0x21000)].every((b) => b === 0xab)).toBe(true);
    }
    expect(jit!.engine!.stats.instructions).toBeGreaterThan(0); // the MOV before it ran compiled
    expect(jit!.cpu.instructionsRetired).toBe(interp!.cpu.instructionsRetired);
  });

  it('a REP MOVSD longer than the interpreter\'s chunk completes with the same registers, memory and instruction count', () => {
    // jmp $+2 / std / rep movsd / hlt: 70,000 dwords from 0x40000 to 0x90000, backwards (a forward
    // copy over flat segments is done in one go; this one yields every 65,536 iterations, which
    // counts as a retired instruction each time).
    const code = [0xeb, 0x00, 0xfd, 0xf3, 0xa5, 0xf4];
    const [interp, jit] = both(code, (cpu, mem) => {
      for (let k = 0; k < 280_000; k++) mem[0x40000 + k] = (k * 7) & 0xff;
      cpu.setReg32(1, 70_000);
      cpu.setReg32(6, 0x40000 + 280_000 - 4);
      cpu.setReg32(7, 0x90000 + 280_000 - 4);
    });
    for (const r of [interp!, jit!]) {
      expect(r.stop).toBe(StopReason.HaltedNoInterrupts);
      expect(regs(r.cpu)).toEqual([0, 0, 0, 0, 0x80000, 0, 0x40000 - 4, 0x90000 - 4]);
      expect(Buffer.compare(r.mem.subarray(0x90000, 0x90000 + 280_000), r.mem.subarray(0x40000, 0x40000 + 280_000))).toBe(0);
    }
    expect(interp!.cpu.instructionsRetired).toBe(5); // JMP, STD, two passes of REP MOVSD, HLT
    expect(jit!.cpu.instructionsRetired).toBe(5);
    expect(jit!.engine!.stats.instructions).toBeGreaterThanOrEqual(3);
  });
});

describe('generated code', () => {
  it('matches the golden bytes for a compare-and-branch loop body', () => {
    // 1000: mov eax,[esi+ecx*4] / add ebx,eax / inc ecx / cmp ecx,edx / jb 1000
    const bytes = new Uint8Array([0x8b, 0x04, 0x8e, 0x01, 0xc3, 0x41, 0x39, 0xd1, 0x72, 0xf6]);
    const block = decodeBlock(bytes, 0, bytes.length, 0x1000, true);
    expect(block.map((i) => i.op)).toEqual([0x8b, 0x01, 0x41, 0x39, 0x72]);
    const t = translateRegion([block], { state: 0x1000, tlbRd: 0x2000, tlbWr: 0x3000, tlbDelta: 0x4000, flagsHelper: 8, x87Helpers: -1 });
    const hex = Array.from(t.body.view(), (b) => b.toString(16).padStart(2, '0')).join('');
    expect({ locals: t.locals, bytes: t.body.length, hex }).toMatchSnapshot();
  });
});

describe('Linux with the JIT', () => {
  it('boots the default image to the prompt in lockstep with the interpreter', async () => {
    const images = new URL('../../../public/images/', import.meta.url);
    const manifest = JSON.parse(readFileSync(new URL('manifest.json', images), 'utf8')) as { defaultCmdline: string };
    const kernel = new Uint8Array(readFileSync(new URL('bzImage', images)));
    const initrd = await prepareInitrd(new Uint8Array(readFileSync(new URL('initramfs.cpio.gz', images))));
    const make = (jit: boolean): { m: Machine; serial: () => string } => {
      const m = new Machine({ ramBytes: 64 << 20, clock: { mode: 'instructions' }, startEpochMs: 0, hostNowMs: () => 0, jit: jit ? { threshold: 40, warmupInstructions: 0 } : false });
      let out = '';
      m.onSerialOutput = (b) => { out += String.fromCharCode(b); };
      m.bootLinux({ kernel, initrd, cmdline: manifest.defaultCmdline, rngSeed: new Uint8Array(32).fill(7) });
      return { m, serial: () => out };
    };
    const a = make(false);
    const b = make(true);
    const regs = (m: Machine): string => JSON.stringify([[...m.cpu.regs], m.cpu.getEip(), m.cpu.getEflags(), m.cpu.instructionsRetired]);
    for (let chunk = 0; chunk < 600 && !a.serial().includes('root@tabvisor:~# '); chunk++) {
      a.m.runSlice(100_000, 1e9);
      b.m.runSlice(100_000, 1e9);
      expect(regs(b.m), `after ${(chunk + 1) * 100_000} instructions`).toBe(regs(a.m));
    }
    expect(a.serial()).toContain('root@tabvisor:~# ');
    expect(b.serial()).toBe(a.serial());
    const pa = new Uint8Array(4096);
    const pb = new Uint8Array(4096);
    let differing = 0;
    for (let page = 0; page < (64 << 20) >>> 12; page++) {
      a.m.memory.readPage(page, pa);
      b.m.memory.readPage(page, pb);
      if (Buffer.compare(pa, pb) !== 0) differing++;
    }
    expect(differing).toBe(0);
    const stats = b.m.jitStats!;
    expect(stats.instructions / b.m.cpu.instructionsRetired).toBeGreaterThan(0.3);
  }, 300_000);
});
