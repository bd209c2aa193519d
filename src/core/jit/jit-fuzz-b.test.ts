/** Random instruction streams with the JIT forced on (half b of 50,000; see test-support/jit-fuzz.ts). */
import { describe, it } from 'vitest';
import { expectNoHostException } from './test-support/jit-fuzz.ts';

describe('JIT forced on for all code', () => {
  it('never raises a host exception on 25,000 random instruction streams (seed 0xf023)', () => {
    expectNoHostException(0xf023, 25_000);
  }, 600_000);
});
