/** Developer tool: cost of compiling/instantiating small JIT-like modules and of calling into them. */
import { buildModule, FunctionBody, I32, Op } from '../wasm-emitter.ts';

for (const shared of [false, true]) {
  const memory = new WebAssembly.Memory({ initial: 1024, maximum: 4096, shared });
  let salt = 0;
  const mk = (n: number) => {
    salt++;
    const functions = [];
    for (let k = 0; k < n; k++) {
      const f = new FunctionBody();
      for (let i = 0; i < 20; i++) { f.i32(0); f.mem(Op.I32Load, 2, i * 4); f.i32(1); f.op(Op.I32Add); f.set(1); }
      f.i32(salt); f.op(Op.Drop); f.get(0);
      functions.push({ type: 0, locals: 2, body: f, exportName: 'b' + k });
    }
    return buildModule({ types: [{ params: [I32], results: [I32] }], imports: [], memory: { shared, maxPages: 65536 }, functions });
  };
  for (const n of [1, 16, 64]) {
    const N = 200;
    const all = Array.from({ length: N }, () => mk(n));
    let t = performance.now();
    let inst: WebAssembly.Instance | null = null;
    for (let i = 0; i < N; i++) inst = new WebAssembly.Instance(new WebAssembly.Module(all[i]!), { i: { m: memory } });
    const per = (performance.now() - t) / N;
    const fn = inst!.exports['b0'] as (x: number) => number;
    t = performance.now();
    let s = 0;
    for (let i = 0; i < 1e6; i++) s += fn(i);
    console.log(`shared=${shared} funcs=${n}: compile+instantiate ${per.toFixed(3)} ms (${(per / n).toFixed(3)} per fn), call ${((performance.now() - t) / 1e6 * 1e6).toFixed(1)} ns`, s > 0);
  }
}
