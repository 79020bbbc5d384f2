/** A small seeded PRNG (mulberry32) for simulations: the seed is all it takes to replay a run. */
export class Random {
  private s: number;
  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  /** A short random text, sometimes with a non-BMP character (a surrogate pair). */
  text(max = 4): string {
    const n = 1 + this.int(max);
    let s = '';
    for (let i = 0; i < n; i++) s += this.chance(0.05) ? '😀' : String.fromCharCode(97 + this.int(26));
    return s;
  }
}
