/**
 * How much a crowded document asks its editors to batch (issue 15, K15, P21). Pure: the
 * shell passes the clock in.
 *
 * The sequencer handles a document's submits one after another, and much of the cost of
 * a submit is per submit (parse, validate, a rebase over the events since its base, a
 * place in the next commit turn), not per event. So when a document gets more submits a
 * second than `capacity`, the way to keep up without refusing anything is fewer, larger
 * submits: the room asks every editor to send at most one submit every `batchMs`, and
 * only once its previous submit is confirmed (the client keeps the rest in its own
 * outbox, where waiting costs the server nothing). With S editors submitting, that caps
 * the document at S · 1000 / batchMs submits a second, so `batchMs = 1000 · S / capacity`
 * brings it back under capacity whatever S is.
 *
 * Measured over windows of `windowMs`: over capacity it turns on (or follows S); under
 * half of capacity, or once the batch it would ask for is shorter than `minBatchMs` (the
 * editors' own pace is then enough), it turns off. The half is the hysteresis: batched
 * editors submit at about capacity, which must not switch it off and on every window.
 */

export interface LoadGovernorOptions {
  /** Submits a second one document takes in real time; above it editors are asked to batch. */
  readonly capacity: number;
  /** The measuring window, ms. */
  readonly windowMs?: number;
  /** Shortest batching interval worth asking for, ms. */
  readonly minBatchMs?: number;
  /** Longest batching interval ever asked for, ms. */
  readonly maxBatchMs?: number;
}

export class LoadGovernor {
  private windowStart: number | null = null;
  private submits = 0;
  private readonly submitters = new Set<string>();
  private batch = 0;
  private readonly windowMs: number;
  private readonly minBatchMs: number;
  private readonly maxBatchMs: number;

  constructor(private readonly opts: LoadGovernorOptions) {
    if (!(opts.capacity > 0)) throw new Error(`LoadGovernor: capacity must be > 0, got ${opts.capacity}`);
    this.windowMs = opts.windowMs ?? 500;
    this.minBatchMs = opts.minBatchMs ?? 20;
    this.maxBatchMs = opts.maxBatchMs ?? 2000;
  }

  /** The batching interval in force (0: none). */
  get batchMs(): number {
    return this.batch;
  }

  /** A submit from `client` arrived at `now`. */
  submitted(client: string, now: number): void {
    if (this.windowStart === null) this.windowStart = now;
    this.submits++;
    this.submitters.add(client);
  }

  /** Closes the window if it is over; returns the new interval when it changed, else null. */
  tick(now: number): number | null {
    if (this.windowStart === null) return null;
    const elapsed = now - this.windowStart;
    if (elapsed < this.windowMs) return null;
    const rate = (this.submits * 1000) / elapsed;
    const wanted = Math.min(this.maxBatchMs, Math.ceil((1000 * this.submitters.size) / this.opts.capacity / 10) * 10);
    let next = this.batch;
    if (rate > this.opts.capacity) next = Math.max(this.minBatchMs, wanted);
    else if (this.batch > 0) next = rate < this.opts.capacity / 2 || wanted < this.minBatchMs ? 0 : wanted;
    this.windowStart = null;
    this.submits = 0;
    this.submitters.clear();
    if (next === this.batch) return null;
    this.batch = next;
    return next;
  }
}
