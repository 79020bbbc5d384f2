/**
 * The token bucket every rate limit of the server is made of: `rate` tokens a second,
 * up to `burst`. Two ways to spend: `take` refuses when the tokens are not there (a
 * submit over the event bucket is refused whole), `owe` spends regardless and returns
 * the balance, so a caller can push back for exactly as long as the debt takes to
 * repay (the per-address frame bucket and read budget pause reading instead of
 * refusing). Time comes in as `now`, so tests can drive it.
 */

/** A rate limit: `rate` tokens added per second, at most `burst` held (the largest burst). */
export interface Bucket {
  /** Tokens added per second. */
  readonly rate: number;
  /** Most tokens held (the largest burst). */
  readonly burst: number;
}

/** A token bucket; `take` spends if it can. `owe` spends regardless and returns the balance. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly spec: Bucket,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = spec.burst;
    this.last = now();
  }
  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.spec.burst, this.tokens + ((t - this.last) / 1000) * this.spec.rate);
    this.last = t;
  }
  take(n: number): boolean {
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
  /** Whether the bucket is back to its burst (nothing to remember about its owner). */
  isFull(): boolean {
    this.refill();
    return this.tokens >= this.spec.burst;
  }
  owe(n: number): number {
    this.refill();
    this.tokens -= n;
    return this.tokens;
  }
}
