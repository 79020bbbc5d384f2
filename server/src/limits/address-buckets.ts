/**
 * Token buckets per remote address: how many connections (or new documents) one address
 * may open a minute, how many frames its connections may send a second, and its read
 * budget (history events served a second). Buckets back at their burst carry no information, so they are
 * forgotten on a sweep; the map therefore holds only addresses active in the last burst
 * period, and is capped besides (a flood from very many addresses then only makes the
 * limit forget, it cannot grow memory without end).
 */
import { TokenBucket, type Bucket } from './token-bucket.js';

/** Most addresses remembered at once. */
const MAX_ADDRESSES = 100_000;

export class AddressBuckets {
  private readonly buckets = new Map<string, TokenBucket>();
  private lastSweep: number;

  constructor(
    private readonly spec: Bucket,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastSweep = now();
  }

  /** Spends `n` of `address`'s tokens if it has them. */
  take(address: string, n = 1): boolean {
    return this.bucket(address).take(n);
  }

  /** Spends `n` of `address`'s tokens regardless; returns the balance (negative: in debt). */
  owe(address: string, n = 1): number {
    return this.bucket(address).owe(n);
  }

  /**
   * Spends `n` regardless and says how long the address should wait before its next
   * spend (ms; 0 when not in debt): the time the bucket takes to repay the debt. The
   * per-address frame bucket and read budget push back with this instead of refusing.
   */
  charge(address: string, n = 1): number {
    const balance = this.owe(address, n);
    return balance < 0 ? Math.ceil((-balance / this.spec.rate) * 1000) : 0;
  }

  private bucket(address: string): TokenBucket {
    this.sweep();
    let b = this.buckets.get(address);
    if (b === undefined) {
      if (this.buckets.size >= MAX_ADDRESSES) this.buckets.clear();
      b = new TokenBucket(this.spec, this.now);
      this.buckets.set(address, b);
    }
    return b;
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(): void {
    const t = this.now();
    if (t - this.lastSweep < 10_000) return;
    this.lastSweep = t;
    for (const [a, b] of this.buckets) if (b.isFull()) this.buckets.delete(a);
  }
}
