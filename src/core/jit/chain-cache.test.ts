import { describe, expect, it } from 'vitest';
import { CHAIN_SIZE, chainSlot, chainWay, ChainWay } from './layout.ts';

/** One entry pair of the chain cache, filled by the same rule as Jit.chainAdd. */
class Pair {
  eip = [0, 0];
  p = [-1, -1];
  add(eip: number): void {
    const way = chainWay(this.eip[0]!, this.p[0]!, this.eip[1]!, this.p[1]!, eip);
    if (way === ChainWay.EvenAfterMove) {
      this.eip[1] = this.eip[0]!;
      this.p[1] = this.p[0]!;
    }
    const w = way === ChainWay.Odd ? 1 : 0;
    this.eip[w] = eip;
    this.p[w] = eip & 0xfff;
  }
  holds(eip: number): boolean { return this.eip[0] === eip || this.eip[1] === eip; }
}

describe('chain cache', () => {
  it('keeps two EIPs that alternate in one pair after a third passed through', () => {
    // The busybox shell loop's case: a kernel EIP entered once, then two hot return addresses alternating.
    const pair = new Pair();
    pair.add(0xc0111d7a);
    pair.add(0x081c0c73);
    pair.add(0x08176bb5);
    const missed: number[] = [];
    for (let k = 0; k < 10; k++) {
      for (const eip of [0x081c0c73, 0x08176bb5]) {
        if (!pair.holds(eip)) missed.push(eip);
        pair.add(eip);
      }
    }
    // One miss while the third leaves the pair (it was added last); none after that.
    expect(missed).toEqual([0x081c0c73]);
  });

  it('uses a dead way before evicting a live entry, and updates an EIP in place', () => {
    const pair = new Pair();
    pair.add(1);
    pair.add(2);
    expect(pair.eip).toEqual([1, 2]);
    pair.p[0] = -1; // entry 1 died
    pair.add(3);
    expect(pair.eip).toEqual([3, 2]);
    pair.add(2);
    expect(pair.eip).toEqual([3, 2]);
    pair.add(4);
    expect(pair.eip).toEqual([4, 3]);
  });

  it('spreads nearby and page-aligned EIPs over the table', () => {
    // The old hash (eip ^ eip >>> 12) sent three hot busybox return addresses to one pair.
    const eips = [0x081317c8, 0x0816f796, 0x08089670, 0x080590e1, 0x080490f0];
    expect(new Set(eips.map((e) => chainSlot(e) >> 1)).size).toBe(eips.length);
    const slots = new Set<number>();
    for (let k = 0; k < 4096; k++) slots.add(chainSlot(0x08048000 + k * 4096) >> 1);
    expect(slots.size).toBeGreaterThan(4096 * 0.75);
    for (let k = 0; k < 1000; k++) expect(chainSlot((Math.random() * 2 ** 32) | 0)).toBeLessThan(CHAIN_SIZE);
  });
});
