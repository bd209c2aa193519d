/**
 * Warms the x87 helpers (x87-emit.ts) up once they are linked: runs each of
 * them on a scratch x87 state, through the cases they compute, until V8 has
 * asked for their optimised code.
 *
 * Why (measured with Node 20's --trace-wasm-compilation-times on the
 * `c-x87` workload): V8 first compiles a WebAssembly function with its
 * baseline compiler and queues the optimising compile only once the function
 * has run for a while. The helpers are linked when the first region with
 * floating-point code compiles, by which time the queue holds optimising
 * compiles of many large regions (50-220 ms each). The helpers' own jobs
 * (about 1 ms each) waited behind them for ~470 ms, during which every x87
 * instruction ran baseline code and the guest ran at a quarter of its later
 * speed. Warmed when the JIT's own warm-up ends (before any region is
 * compiled), their jobs find the queue empty.
 *
 * The helpers work on the state frame at a fixed address; the frame's bytes
 * are saved first and put back after, so the guest's x87 state (homed in
 * that frame) is untouched.
 */
import { ST_X87, ST_X87_OK } from './layout.ts';
import { X87_SRC_MEM as MEM, X87_SRC_ONE as PLUS_ONE, X87Helper, x87HelperName } from './x87-emit.ts';
import { X87_CW, X87_EMPTY, X87_SW, X87_TOP } from '../cpu/fpu/x87-storage.ts';

/** Rounds of the sequence below; Node 20 had queued every helper's optimising compile after 2,000 (7 of 9 after 1,000). */
export const X87_WARMUP_ROUNDS = 2500;

/** Bytes of the state frame that the warm-up may change (all of it: the x87 block and the scratch operands live there). */
const FRAME_BYTES = 4096;
/** Scratch memory operands inside the state frame, past everything layout.ts places there. */
const SCRATCH_REAL = 3072;
const SCRATCH_INT = 3088;
/** The interpreter's `compute` operations the Arith helper takes. */
const ADD = 0, MUL = 1, SUB = 4, SUBR = 5, DIV = 6;

type Helper = (...args: number[]) => number;

/**
 * Runs `rounds` rounds over every helper on the state frame at host offset
 * `state` of `memory`, then restores the frame. Returns how many helper
 * calls computed their case (every call of a round should; a helper that
 * declined would only have warmed its early exit).
 */
export function warmUpX87Helpers(exports: WebAssembly.Exports, memory: WebAssembly.Memory, state: number, rounds = X87_WARMUP_ROUNDS): { calls: number; computed: number } {
  const h = (k: X87Helper): Helper => exports[x87HelperName(k)] as Helper;
  const loadMem = h(X87Helper.LoadMem), arith = h(X87Helper.Arith), ld = h(X87Helper.Ld), stMem = h(X87Helper.StMem);
  const stReg = h(X87Helper.StReg), xch = h(X87Helper.Xch), sign = h(X87Helper.Sign), comi = h(X87Helper.Comi), sqrt = h(X87Helper.Sqrt);
  const bytes = new Uint8Array(memory.buffer);
  const saved = bytes.slice(state, state + FRAME_BYTES);
  const words = new Int32Array(memory.buffer, state, FRAME_BYTES / 4);
  const block = (ST_X87 >> 2);
  const real = state + SCRATCH_REAL;
  const int = state + SCRATCH_INT;
  let calls = 0;
  let computed = 0;
  const ok = (r: number): void => {
    calls++;
    if (r === 1) computed++;
  };
  try {
    words[ST_X87_OK >> 2] = 1;
    words[block + (X87_CW >> 2)] = 0x037f; // all exceptions masked, 64-bit precision, to nearest
    words[block + (X87_SW >> 2)] = 0;
    words[block + (X87_TOP >> 2)] = 0;
    words[block + (X87_EMPTY >> 2)] = 0xff;
    words[(SCRATCH_INT >> 2)] = 3;
    const eip = 0x1000, fop = 0, fdp = 0;
    for (let r = 0; r < rounds; r++) {
      ok(ld(PLUS_ONE, eip, fop, fdp)); // 1
      ok(ld(PLUS_ONE, eip, fop, fdp)); // 1 1
      ok(arith(ADD, 0, 1, 0, eip, fop, fdp)); // 2 1
      ok(arith(MUL, 0, 1, 0, eip, fop, fdp)); // 2 1
      ok(arith(DIV, 0, 1, 0, eip, fop, fdp)); // 2 1
      ok(arith(SUBR, 0, 1, 0, eip, fop, fdp)); // -1 1
      ok(arith(SUB, 0, 1, 0, eip, fop, fdp)); // -2 1
      ok(sign(1, eip, fop)); // FABS: 2 1
      ok(sqrt(eip, fop)); // 1.414 1
      ok(sign(0, eip, fop)); // FCHS: -1.414 1
      calls++;
      if (comi(1, 0, eip, fop) >= 0) computed++;
      for (let k = 0; k < 4; k++) {
        // The small helpers need more calls than the others to be tiered up: pairs that cancel out.
        ok(xch(1, eip, fop));
        ok(sign(0, eip, fop));
      }
      ok(xch(1, eip, fop)); // 1 -1.414
      ok(stMem(real, 0, 0, eip, fop, fdp)); // FST m64
      ok(loadMem(real, 0));
      ok(arith(ADD, 0, MEM, 0, eip, fop, fdp)); // 2 -1.414
      ok(stMem(real, 1, 0, eip, fop, fdp)); // FST m32
      ok(loadMem(real, 1));
      ok(loadMem(int, 2));
      ok(ld(MEM, eip, fop, fdp)); // 3 2 -1.414
      ok(loadMem(int, 3));
      ok(arith(MUL, 0, MEM, 0, eip, fop, fdp)); // 9 2 -1.414
      ok(stReg(1, 1, eip, fop)); // FSTP ST(1): 9 -1.414
      ok(stReg(0, 1, eip, fop)); // FSTP ST(0): -1.414
      ok(stMem(real, 0, 1, eip, fop, fdp)); // FSTP m64: empty
    }
  } finally {
    new Uint8Array(memory.buffer).set(saved, state);
  }
  return { calls, computed };
}
