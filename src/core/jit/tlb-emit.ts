/**
 * Emitters for the software-TLB lookup that generated code shares with the
 * dispatcher: which slot a linear address uses, and the tag a valid entry
 * for it holds (page number | epoch key, as tlb.ts writes them).
 */
import { type FunctionBody, Op } from './wasm-emitter.ts';
import { TLB_SIZE } from '../cpu/state.ts';

/** Push the byte offset of the TLB slot of the linear address in local `lin`, also kept in local `idx`. */
export function emitTlbSlot(f: FunctionBody, lin: number, idx: number): void {
  f.get(lin);
  f.i32(10);
  f.op(Op.I32ShrU);
  f.i32((TLB_SIZE - 1) << 2);
  f.op(Op.I32And);
  f.tee(idx);
}

/** The byte offset of the TLB slot of constant linear address `lin` (what emitTlbSlot computes at run time). */
export function tlbSlotOffset(lin: number): number {
  return ((lin >>> 12) & (TLB_SIZE - 1)) << 2;
}

/** Push the tag an entry for the address in local `lin` (plus `offset`) must hold; `pushKey` pushes the TLB epoch key. */
export function emitPageTag(f: FunctionBody, lin: number, pushKey: () => void, offset = 0): void {
  f.get(lin);
  if (offset !== 0) {
    f.i32(offset);
    f.op(Op.I32Add);
  }
  f.i32(12);
  f.op(Op.I32ShrU);
  pushKey();
  f.op(Op.I32Or);
}
