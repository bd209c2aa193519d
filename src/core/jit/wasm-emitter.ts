/**
 * A small WebAssembly binary writer: just enough of the format (WebAssembly
 * Core Specification 1.0, section 5 "Binary Format") to build the JIT's
 * modules — one imported memory, imported functions, i32 functions with
 * structured control flow — without a compiler dependency in the worker.
 *
 * `FunctionBody` is an append-only byte buffer with one method per opcode the
 * translator uses; `buildModule` wraps bodies into a module.
 */

/** Value types. */
export const I32 = 0x7f;
export const I64 = 0x7e;
/** Block type "no result". */
export const VOID = 0x40;

/** Opcodes (only those the JIT emits). */
export const enum Op {
  Unreachable = 0x00, Block = 0x02, Loop = 0x03, If = 0x04, Else = 0x05, End = 0x0b,
  Br = 0x0c, BrIf = 0x0d, BrTable = 0x0e, Return = 0x0f, Call = 0x10, CallIndirect = 0x11, Drop = 0x1a, Select = 0x1b,
  LocalGet = 0x20, LocalSet = 0x21, LocalTee = 0x22,
  I32Load = 0x28, I32Load8S = 0x2c, I32Load8U = 0x2d, I32Load16S = 0x2e, I32Load16U = 0x2f,
  I64Load = 0x29, I32Store = 0x36, I64Store = 0x37, I32Store8 = 0x3a, I32Store16 = 0x3b,
  I32Const = 0x41, I64Const = 0x42, F64Const = 0x44,
  I32Eqz = 0x45, I32Eq = 0x46, I32Ne = 0x47, I32LtS = 0x48, I32LtU = 0x49, I32GtS = 0x4a, I32GtU = 0x4b,
  I32LeS = 0x4c, I32LeU = 0x4d, I32GeS = 0x4e, I32GeU = 0x4f,
  I64Eqz = 0x50, I64Eq = 0x51, I64Ne = 0x52, I64LtS = 0x53, I64LtU = 0x54, I64GtU = 0x56, I64GeU = 0x5a,
  I32Clz = 0x67, I32Ctz = 0x68, I32Popcnt = 0x69,
  I32Add = 0x6a, I32Sub = 0x6b, I32Mul = 0x6c, I32DivS = 0x6d, I32DivU = 0x6e, I32RemS = 0x6f, I32RemU = 0x70,
  I32And = 0x71, I32Or = 0x72, I32Xor = 0x73, I32Shl = 0x74, I32ShrS = 0x75, I32ShrU = 0x76, I32Rotl = 0x77, I32Rotr = 0x78,
  I64Clz = 0x79, I64Add = 0x7c, I64Sub = 0x7d,
  I64Mul = 0x7e, I64DivS = 0x7f, I64DivU = 0x80, I64RemS = 0x81, I64RemU = 0x82, I64And = 0x83, I64Or = 0x84, I64Xor = 0x85, I64Shl = 0x86, I64ShrS = 0x87, I64ShrU = 0x88,
  F64Sqrt = 0x9f, F64Add = 0xa0, F64Mul = 0xa2, F64Div = 0xa3, F64Min = 0xa4,
  I32WrapI64 = 0xa7, I64TruncF64S = 0xb0, I64TruncF64U = 0xb1, F64ConvertI64S = 0xb9, F64ConvertI64U = 0xba, I64ExtendI32S = 0xac, I64ExtendI32U = 0xad,
  I32Extend8S = 0xc0, I32Extend16S = 0xc1,
}

export class ByteWriter {
  private buf = new Uint8Array(256);
  length = 0;

  byte(b: number): void {
    if (this.length === this.buf.length) this.reserve(1);
    this.buf[this.length++] = b;
  }

  bytes(bs: ArrayLike<number>): void {
    if (bs instanceof Uint8Array) {
      this.reserve(bs.length);
      this.buf.set(bs, this.length);
      this.length += bs.length;
      return;
    }
    for (let i = 0; i < bs.length; i++) this.byte(bs[i]!);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u32(v: number): void {
    let x = v >>> 0;
    do {
      let b = x & 0x7f;
      x >>>= 7;
      if (x !== 0) b |= 0x80;
      this.byte(b);
    } while (x !== 0);
  }

  s32(v: number): void {
    let x = v | 0;
    for (;;) {
      const b = x & 0x7f;
      x >>= 7;
      if ((x === 0 && (b & 0x40) === 0) || (x === -1 && (b & 0x40) !== 0)) {
        this.byte(b);
        return;
      }
      this.byte(b | 0x80);
    }
  }

  name(s: string): void {
    this.u32(s.length);
    for (let i = 0; i < s.length; i++) this.byte(s.charCodeAt(i));
  }

  /** Length-prefixed copy of another writer (sections, function bodies). */
  sized(w: ByteWriter): void {
    this.u32(w.length);
    this.bytes(w.view());
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** One function body: locals are declared up front as a count of i32s after the parameters. */
export class FunctionBody extends ByteWriter {
  /** Branch hints (offset in this body, 1 = likely taken / 0 = unlikely), in emission order. */
  readonly hints: number[] = [];
  /** Hint the `if` or `br_if` emitted next: `likely` = its condition is usually true. */
  hint(likely: boolean): void { this.hints.push(this.length, likely ? 1 : 0); }
  op(o: Op): void { this.byte(o); }
  i32(v: number): void { this.byte(Op.I32Const); this.s32(v); }
  /** f64.const (little-endian IEEE 754 bits). */
  f64(v: number): void {
    this.byte(Op.F64Const);
    const b = new Uint8Array(new Float64Array([v]).buffer);
    for (let k = 0; k < 8; k++) this.byte(b[k]!);
  }
  /** i64.const of a value given as a BigInt (two's complement for negative i64 values). */
  i64(v: bigint): void {
    this.byte(Op.I64Const);
    let x = BigInt.asIntN(64, v);
    for (;;) {
      const b = Number(x & 0x7fn);
      x >>= 7n;
      if ((x === 0n && (b & 0x40) === 0) || (x === -1n && (b & 0x40) !== 0)) { this.byte(b); return; }
      this.byte(b | 0x80);
    }
  }
  get(l: number): void { this.byte(Op.LocalGet); this.u32(l); }
  set(l: number): void { this.byte(Op.LocalSet); this.u32(l); }
  tee(l: number): void { this.byte(Op.LocalTee); this.u32(l); }
  call(f: number): void { this.byte(Op.Call); this.u32(f); }
  callIndirect(type: number): void { this.byte(Op.CallIndirect); this.u32(type); this.byte(0); }
  br(depth: number): void { this.byte(Op.Br); this.u32(depth); }
  brIf(depth: number): void { this.byte(Op.BrIf); this.u32(depth); }
  block(): void { this.byte(Op.Block); this.byte(VOID); }
  blockI32(): void { this.byte(Op.Block); this.byte(I32); }
  loop(): void { this.byte(Op.Loop); this.byte(VOID); }
  if(): void { this.byte(Op.If); this.byte(VOID); }
  ifI32(): void { this.byte(Op.If); this.byte(I32); }
  else(): void { this.byte(Op.Else); }
  end(): void { this.byte(Op.End); }
  /** Memory access with alignment hint log2 `align` and a constant offset. */
  mem(o: Op, align: number, offset: number): void {
    this.byte(o);
    this.u32(align);
    this.u32(offset);
  }
}

export interface FuncType {
  params: number[];
  results: number[];
}

export interface ModuleSpec {
  types: FuncType[];
  /** Imported functions, in index order: module "i", field name, type index. */
  imports: { name: string; type: number }[];
  /** The imported memory "i"."m": shared memories need a maximum. */
  memory: { shared: boolean; maxPages: number };
  /** Import a funcref table "i"."t" of at least this many entries (table 0). */
  tableMin?: number;
  /** Defined functions (indexes continue after the imports). */
  functions: { type: number; locals: number; locals64?: number; body: FunctionBody; exportName?: string }[];
}

const MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

export function buildModule(spec: ModuleSpec): Uint8Array<ArrayBuffer> {
  const out = new ByteWriter();
  out.bytes(MAGIC);

  const types = new ByteWriter();
  types.u32(spec.types.length);
  for (const t of spec.types) {
    types.byte(0x60);
    types.u32(t.params.length);
    types.bytes(t.params);
    types.u32(t.results.length);
    types.bytes(t.results);
  }
  section(out, 1, types);

  const imports = new ByteWriter();
  imports.u32(spec.imports.length + 1 + (spec.tableMin !== undefined ? 1 : 0));
  if (spec.tableMin !== undefined) {
    imports.name('i');
    imports.name('t');
    imports.byte(0x01); // table
    imports.byte(0x70); // funcref
    imports.byte(0x00);
    imports.u32(spec.tableMin);
  }
  imports.name('i');
  imports.name('m');
  imports.byte(0x02); // memory
  if (spec.memory.shared) {
    imports.byte(0x03);
    imports.u32(0);
    imports.u32(spec.memory.maxPages);
  } else {
    imports.byte(0x00);
    imports.u32(0);
  }
  for (const imp of spec.imports) {
    imports.name('i');
    imports.name(imp.name);
    imports.byte(0x00); // function
    imports.u32(imp.type);
  }
  section(out, 2, imports);

  const funcs = new ByteWriter();
  funcs.u32(spec.functions.length);
  for (const f of spec.functions) funcs.u32(f.type);
  section(out, 3, funcs);

  const exports = new ByteWriter();
  const exported = spec.functions.map((f, i) => ({ f, index: spec.imports.length + i })).filter((e) => e.f.exportName !== undefined);
  exports.u32(exported.length);
  for (const e of exported) {
    exports.name(e.f.exportName!);
    exports.byte(0x00);
    exports.u32(e.index);
  }
  section(out, 7, exports);

  const code = new ByteWriter();
  code.u32(spec.functions.length);
  const hinted: { index: number; start: number; hints: number[] }[] = [];
  spec.functions.forEach((f, k) => {
    const body = new ByteWriter();
    // i32 locals first, then i64 ones (indexes continue after the parameters in that order).
    const groups: [number, number][] = [[f.locals, I32], [f.locals64 ?? 0, I64]];
    const used = groups.filter(([n]) => n > 0);
    body.u32(used.length);
    for (const [n, t] of used) {
      body.u32(n);
      body.byte(t);
    }
    if (f.body.hints.length > 0) hinted.push({ index: spec.imports.length + k, start: body.length, hints: f.body.hints });
    body.bytes(f.body.view());
    body.byte(Op.End);
    code.sized(body);
  });
  // The branch-hint section (WebAssembly code metadata, before the code section): per function,
  // each hinted instruction's offset from the start of its body's locals, a size of 1, and the hint.
  if (hinted.length > 0) {
    const hints = new ByteWriter();
    hints.name('metadata.code.branch_hint');
    hints.u32(hinted.length);
    for (const h of hinted) {
      hints.u32(h.index);
      hints.u32(h.hints.length / 2);
      for (let i = 0; i < h.hints.length; i += 2) {
        hints.u32(h.start + h.hints[i]!);
        hints.u32(1);
        hints.byte(h.hints[i + 1]!);
      }
    }
    section(out, 0, hints);
  }
  section(out, 10, code);

  const bytes = out.view();
  const result = new Uint8Array(new ArrayBuffer(bytes.length));
  result.set(bytes);
  return result;
}

function section(out: ByteWriter, id: number, content: ByteWriter): void {
  out.byte(id);
  out.sized(content);
}
