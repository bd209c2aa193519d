/**
 * LZ4 block decoding in WebAssembly, the fast path of lz4.ts.
 *
 * Why: the kernel payload (~10^5 sequences, 4.4 MB out) is unpacked once per
 * boot, in a worker whose JavaScript is still cold, right before the guest's
 * first instruction: 24-39 ms in Chromium's cold worker. The same loop as
 * WebAssembly runs at full speed from its first call (docs/status.md,
 * thirteenth session).
 *
 * The function only decides the common case. It returns the new output
 * position, or a negative code (NO_ROOM, REFUSED) whenever the input is not
 * plainly valid or the output would not fit; the caller then decodes the
 * whole stream with the JavaScript decoder, whose result or error message is
 * the one that counts. So a success here must produce exactly the bytes the
 * JavaScript decoder produces, and anything doubtful is refused, not decided.
 */
import { buildModule, FunctionBody, I32, Op } from '../jit/wasm-emitter.ts';

/** The output would pass `cap`. */
export const NO_ROOM = -1;
/** Anything but a plainly valid block (the JavaScript decoder says what). */
export const REFUSED = -2;

// Parameters and locals of block(pos, end, out, cap, blockMax).
const POS = 0; // next input byte
const END = 1; // end of the block's input
const OUT = 2; // next output byte
const CAP = 3; // end of the output space
const BLOCK_MAX = 4; // most output bytes one block may produce
const TOKEN = 5;
const LEN = 6;
const BYTE = 7;
const START = 8; // the block's first output byte: matches may not reach before it
const OFFSET = 9;
const FROM = 10;
const STOP = 11;
const LOCALS = 7;

/** memory.copy(dst, src, n) with the operands on the stack (bulk memory, opcode FC 0A). */
function memoryCopy(f: FunctionBody): void {
  f.byte(0xfc);
  f.u32(10);
  f.byte(0);
  f.byte(0);
}

/** return `code` if the i32 on the stack is non-zero. */
function refuseIf(f: FunctionBody, code: number): void {
  f.if();
  f.i32(code);
  f.op(Op.Return);
  f.end();
}

/** LEN += extension bytes (each added until one is not 255), refusing at END or past BLOCK_MAX. */
function extendLength(f: FunctionBody): void {
  f.loop();
  f.get(POS); f.get(END); f.op(Op.I32GeU); refuseIf(f, REFUSED);
  f.get(POS); f.mem(Op.I32Load8U, 0, 0); f.set(BYTE);
  f.get(POS); f.i32(1); f.op(Op.I32Add); f.set(POS);
  f.get(LEN); f.get(BYTE); f.op(Op.I32Add); f.tee(LEN);
  f.get(BLOCK_MAX); f.op(Op.I32GtU); refuseIf(f, REFUSED); // also keeps LEN far from wrapping
  f.get(BYTE); f.i32(255); f.op(Op.I32Eq); f.brIf(0);
  f.end();
}

/** Refuse unless LEN more output bytes stay within the block's maximum and the output space. */
function checkRoom(f: FunctionBody): void {
  f.get(OUT); f.get(START); f.op(Op.I32Sub); f.get(LEN); f.op(Op.I32Add); f.get(BLOCK_MAX); f.op(Op.I32GtU); refuseIf(f, REFUSED);
  f.get(LEN); f.get(CAP); f.get(OUT); f.op(Op.I32Sub); f.op(Op.I32GtU); refuseIf(f, NO_ROOM);
}

function blockFunction(): FunctionBody {
  const f = new FunctionBody();
  f.get(OUT); f.set(START);
  f.loop(); // one sequence per turn
  // Token; literal length.
  f.get(POS); f.get(END); f.op(Op.I32GeU); refuseIf(f, REFUSED);
  f.get(POS); f.mem(Op.I32Load8U, 0, 0); f.set(TOKEN);
  f.get(POS); f.i32(1); f.op(Op.I32Add); f.set(POS);
  f.get(TOKEN); f.i32(4); f.op(Op.I32ShrU); f.tee(LEN);
  f.i32(15); f.op(Op.I32Eq);
  f.if(); extendLength(f); f.end();
  // Literals.
  f.get(LEN); f.get(END); f.get(POS); f.op(Op.I32Sub); f.op(Op.I32GtU); refuseIf(f, REFUSED);
  checkRoom(f);
  f.get(OUT); f.get(POS); f.get(LEN); memoryCopy(f);
  f.get(OUT); f.get(LEN); f.op(Op.I32Add); f.set(OUT);
  f.get(POS); f.get(LEN); f.op(Op.I32Add); f.tee(POS);
  // The last sequence has literals only.
  f.get(END); f.op(Op.I32Eq);
  f.if(); f.get(OUT); f.op(Op.Return); f.end();
  // Match offset.
  f.get(END); f.get(POS); f.op(Op.I32Sub); f.i32(2); f.op(Op.I32LtU); refuseIf(f, REFUSED);
  f.get(POS); f.mem(Op.I32Load16U, 0, 0); f.tee(OFFSET);
  f.op(Op.I32Eqz); refuseIf(f, REFUSED);
  f.get(OFFSET); f.get(OUT); f.get(START); f.op(Op.I32Sub); f.op(Op.I32GtU); refuseIf(f, REFUSED);
  f.get(POS); f.i32(2); f.op(Op.I32Add); f.set(POS);
  // Match length.
  f.get(TOKEN); f.i32(15); f.op(Op.I32And); f.i32(4); f.op(Op.I32Add); f.set(LEN);
  f.get(TOKEN); f.i32(15); f.op(Op.I32And); f.i32(15); f.op(Op.I32Eq);
  f.if(); extendLength(f); f.end();
  checkRoom(f);
  f.get(OUT); f.get(OFFSET); f.op(Op.I32Sub); f.set(FROM);
  f.get(OFFSET); f.get(LEN); f.op(Op.I32GeU);
  f.if();
  // No overlap: one copy.
  f.get(OUT); f.get(FROM); f.get(LEN); memoryCopy(f);
  f.get(OUT); f.get(LEN); f.op(Op.I32Add); f.set(OUT);
  f.else();
  // Overlap (a repeating pattern): forward, byte by byte, as the format defines it.
  f.get(OUT); f.get(LEN); f.op(Op.I32Add); f.set(STOP);
  f.loop();
  f.get(OUT); f.get(FROM); f.mem(Op.I32Load8U, 0, 0); f.mem(Op.I32Store8, 0, 0);
  f.get(OUT); f.i32(1); f.op(Op.I32Add); f.set(OUT);
  f.get(FROM); f.i32(1); f.op(Op.I32Add); f.set(FROM);
  f.get(OUT); f.get(STOP); f.op(Op.I32LtU); f.brIf(0);
  f.end();
  f.end();
  f.br(0);
  f.end();
  f.op(Op.Unreachable); // (buildModule adds the function's end)
  return f;
}

export type BlockDecoder = (pos: number, end: number, out: number, cap: number, blockMax: number) => number;

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null where WebAssembly cannot be used. */
function module(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(buildModule({
        types: [{ params: [I32, I32, I32, I32, I32], results: [I32] }],
        imports: [],
        memory: { shared: false, maxPages: 0 },
        functions: [{ type: 0, locals: LOCALS, body: blockFunction(), exportName: 'block' }],
      }));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/**
 * A memory of at least `bytes` with the block decoder over it, or undefined
 * where WebAssembly is not available or the memory cannot be had (the
 * JavaScript decoder then does the work).
 */
export function wasmBlockDecoder(bytes: number): { memory: WebAssembly.Memory; block: BlockDecoder } | undefined {
  const m = module();
  if (!m) return undefined;
  try {
    const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
    const instance = new WebAssembly.Instance(m, { i: { m: memory } });
    return { memory, block: instance.exports['block'] as BlockDecoder };
  } catch {
    return undefined;
  }
}
