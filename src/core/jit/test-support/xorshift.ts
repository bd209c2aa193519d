/** xorshift32: small, deterministic, good enough to pick test instructions and operands. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0 || 1; }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number { return this.next() % n; }
  chance(p: number): boolean { return this.next() / 0x100000000 < p; }
  pick<T>(a: readonly T[]): T { return a[this.int(a.length)]!; }
}
