/**
 * The module writer's branch-hint section (WebAssembly code metadata,
 * `metadata.code.branch_hint`): engines ignore a custom section they cannot
 * parse, so a wrong offset would cost the hints silently. Checked here by
 * reading the module back: each hint must name an `if` or `br_if` opcode,
 * counted from the start of its function body's locals, and the section
 * must come before the code section.
 */
import { describe, expect, it } from 'vitest';
import { buildModule, FunctionBody, I32, Op } from './wasm-emitter.ts';

/** A reader of unsigned LEB128 values and bytes. */
class Reader {
  constructor(readonly bytes: Uint8Array, public at = 0) {}
  u32(): number {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = this.bytes[this.at++]!;
      v |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v >>> 0;
    }
  }
  name(): string {
    const n = this.u32();
    const s = String.fromCharCode(...this.bytes.subarray(this.at, this.at + n));
    this.at += n;
    return s;
  }
}

interface Parsed {
  order: string[];
  hints: Map<number, [number, number][]>;
  /** Function bodies (from the start of their locals), by function index. */
  bodies: Map<number, Uint8Array>;
}

function parse(module: Uint8Array, imported: number): Parsed {
  const r = new Reader(module, 8);
  const parsed: Parsed = { order: [], hints: new Map(), bodies: new Map() };
  while (r.at < module.length) {
    const id = module[r.at++]!;
    const size = r.u32();
    const end = r.at + size;
    if (id === 0) {
      const name = r.name();
      parsed.order.push(name);
      if (name === 'metadata.code.branch_hint') {
        for (let f = r.u32(); f > 0; f--) {
          const index = r.u32();
          const list: [number, number][] = [];
          for (let n = r.u32(); n > 0; n--) {
            const offset = r.u32();
            expect(r.u32()).toBe(1);
            list.push([offset, module[r.at++]!]);
          }
          parsed.hints.set(index, list);
        }
      }
    } else {
      parsed.order.push(`section ${id}`);
      if (id === 10) {
        const count = r.u32();
        for (let k = 0; k < count; k++) {
          const n = r.u32();
          parsed.bodies.set(imported + k, module.subarray(r.at, r.at + n));
          r.at += n;
        }
      }
    }
    r.at = end;
  }
  return parsed;
}

describe('branch hints', () => {
  // f(x) = x ? 7 : 3 with the `if` hinted unlikely; g(x) leaves early with 5 when x != 0, the `br_if` hinted likely.
  const f = new FunctionBody();
  f.get(0); f.hint(false); f.if(); f.i32(7); f.op(Op.Return); f.end(); f.i32(3);
  const g = new FunctionBody();
  g.i32(5); g.get(0); g.hint(true); g.brIf(0); g.op(Op.Drop); g.i32(9);
  const plain = new FunctionBody();
  plain.get(0);
  const spec = {
    types: [{ params: [I32], results: [I32] }],
    imports: [{ name: 'h', type: 0 }],
    memory: { shared: false, maxPages: 1 },
    functions: [
      { type: 0, locals: 3, body: f, exportName: 'f' },
      { type: 0, locals: 0, body: plain, exportName: 'plain' },
      { type: 0, locals: 0, locals64: 2, body: g, exportName: 'g' },
    ],
  };
  const module = buildModule(spec);

  it('name each hinted if and br_if from the start of its body, in a section before the code', () => {
    const parsed = parse(module, 1);
    expect(parsed.order.indexOf('metadata.code.branch_hint')).toBeLessThan(parsed.order.indexOf('section 10'));
    expect([...parsed.hints.keys()]).toEqual([1, 3]); // the import is function 0; `plain` has no hints
    const [[offF, hintF]] = parsed.hints.get(1)! as [[number, number]];
    expect(parsed.bodies.get(1)![offF]).toBe(Op.If);
    expect(hintF).toBe(0);
    const [[offG, hintG]] = parsed.hints.get(3)! as [[number, number]];
    expect(parsed.bodies.get(3)![offG]).toBe(Op.BrIf);
    expect(hintG).toBe(1);
  });

  it('leave the module valid and its functions computing as without them', () => {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(module), { i: { m: new WebAssembly.Memory({ initial: 1 }), h: (x: number) => x } });
    const call = (name: string, x: number): number => (instance.exports[name] as (x: number) => number)(x);
    expect([call('f', 1), call('f', 0), call('g', 1), call('g', 0), call('plain', 4)]).toEqual([7, 3, 5, 9, 4]);
  });
});
