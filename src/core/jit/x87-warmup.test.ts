/**
 * The x87 helpers' warm-up (x87-warmup.ts): every call computes its case
 * (a call that declined would warm only the helper's early exit), and the
 * state frame, which holds the guest's x87 state, is left as it was.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from './test-support/xorshift.ts';
import { x87HelperModule } from './x87-emit.ts';
import { warmUpX87Helpers } from './x87-warmup.ts';

const STATE = 0x2000;

describe('x87 helper warm-up', () => {
  it('computes in every call and leaves the state frame as it found it', () => {
    const memory = new WebAssembly.Memory({ initial: 2 });
    const instance = new WebAssembly.Instance(x87HelperModule(STATE, false), { i: { m: memory } });
    const bytes = new Uint8Array(memory.buffer);
    const r = new Rng(7);
    for (let i = 0; i < bytes.length; i++) bytes[i] = r.int(256);
    const before = bytes.slice();
    const { calls, computed } = warmUpX87Helpers(instance.exports, memory, STATE, 20);
    expect(calls).toBe(20 * 32);
    expect(computed).toBe(calls);
    expect(Buffer.compare(bytes, before)).toBe(0);
  });
});
