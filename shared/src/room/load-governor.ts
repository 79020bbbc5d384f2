/**
 * How much a crowded document asks its editors to batch (issue 15, K16, P22). Pure: the
 * shell passes the clock in.
 *
 * Much of what a submit costs the server is per submit, not per event: a frame to parse
 * and validate, a rebase over every event since its base, a place in a commit turn. When
 * a document gets more submits than the server sequences in real time, the stream falls
 * behind, each submit's base lags further, each rebase walks more events, and the work
 * per event grows with the load: the collapse measured in issue 15. The way to keep up
 * without refusing anything is fewer, larger submits: the room asks every editor to send
 * at most one submit every `batchMs`, and only once its previous one is confirmed; the
 * rest waits in the client's own outbox, where waiting costs the server nothing.
 *
 * "Behind real time" is measured where it shows: the staleness of each submit, the age
 * of the oldest event its author had not yet seen when it sent it (RoomCore knows when
 * each event was sequenced). Its median over a window of `windowMs`, among at least
 * `minSubmitters` editors (one editor on a slow link is not the document's overload),
 * above `targetLagMs` doubles the interval (from `minBatchMs` up to `maxBatchMs`); below
 * a third of it divides it by four, down to none. Between the two it holds, so a document
 * that keeps up only while batched stays batched.
 *
 * While nothing is asked (and nothing was for 2 s) the window is a tenth of a second: a crowd that arrives at once
 * (everyone pipelining a submit a keystroke) fills the server's input for as long as the
 * governor takes to notice, and every submit read late is rebased over everything since
 * its base; measured in the flood test, that backlog was what fresh typists waited behind
 * once the flood stopped.
 *
 * It rises by doubling and falls by quarters (K19) because of recovery: once an overload
 * stops, the interval in force is what fresh typists wait for, and from the longest
 * (2 s) it is gone in three windows (1.5 s), where halving took six (3 s) of the 5 s the
 * server has to be back to normal. Falling faster than it rises cannot make it flap
 * under a steady load: a fall only follows a window in which the document kept up.
 *
 * A crowd of 100 or more editors is asked for the shortest interval as soon as a window sees
 * it, stale or not (K20): it would be asked soon anyway, and the time until then is a burst
 * that all its editors pipeline into.
 *
 * A crowd is also asked before it types (K21): from the moment 100 or more editors are
 * connected, the shortest interval is in force, whether or not they submit, and a joiner
 * hears it with its welcome. The window that sees a crowd submitting comes a tenth of a
 * second after its first submits, and in that time every editor of a crowd that starts
 * together pipelines: at 500 typists each of those submits was rebased over the others'
 * (8-17 ms a submit at first, measured by the server probe), and the backlog took the first
 * seconds to drain (the row's p99 up to 2 s; with the interval in force from the start,
 * 130-320 ms, bench/results/live-frames-2026-12-06.md).
 *
 * And it falls at once when the crowd leaves (K20): when the editors submitting in a
 * window fall under a tenth of the most seen since it was asked, counted as editors per
 * interval (a window shorter than the interval sees only its share of them), the interval
 * drops to the shortest (50 ms) and is not raised again while the crowd stays away; it is
 * lifted once the submits are fresh. After an overload the staleness stays high while the
 * crowd's last batches drain, so the quarters would only begin once the backlog is through,
 * and the fresh typists, who obey the interval like everyone, waited that long (recovery
 * 4-5.5 s measured, bench/results/crowded-2-2026-12-05.md). It drops to the shortest
 * interval rather than none because none lets every client of the crowd that still holds
 * keystrokes pipeline them at once (P22 keeps one submit in flight only while an interval
 * is asked): a first version that lifted to none was seen asked again and climbing back
 * to 2 s on that burst.
 */

import { SHORTEST_BATCH_MS } from '../protocol/messages.js';

export interface LoadGovernorOptions {
  /** Median staleness of submits above which editors are asked to batch more, ms. */
  readonly targetLagMs: number;
  /** The measuring window while editors are asked to batch, ms. */
  readonly windowMs?: number;
  /** The measuring window while none is asked, ms: short, so a sudden crowd is caught early. */
  readonly engageWindowMs?: number;
  /** Fewest distinct editors in a window for it to count. */
  readonly minSubmitters?: number;
  /** The first interval asked for, ms. */
  readonly minBatchMs?: number;
  /** The longest interval ever asked for, ms. */
  readonly maxBatchMs?: number;
}

export class LoadGovernor {
  private windowStart: number | null = null;
  private readonly lags: number[] = [];
  private readonly submitters = new Set<string>();
  private batch = 0;
  /** When the interval was last lifted to none (null: never asked). */
  private liftedAt: number | null = null;
  /** The most editors per interval seen in a window since the interval was asked (K20). */
  private crowd = 0;
  /** Edit connections in the document now (K21), as the room last said. */
  private connectedEditors = 0;
  private readonly windowMs: number;
  private readonly engageWindowMs: number;
  private readonly minSubmitters: number;
  private readonly minBatchMs: number;
  private readonly maxBatchMs: number;

  constructor(private readonly opts: LoadGovernorOptions) {
    if (!(opts.targetLagMs > 0)) throw new Error(`LoadGovernor: targetLagMs must be > 0, got ${opts.targetLagMs}`);
    this.windowMs = opts.windowMs ?? 500;
    this.engageWindowMs = opts.engageWindowMs ?? 100;
    this.minSubmitters = opts.minSubmitters ?? 10;
    this.minBatchMs = opts.minBatchMs ?? SHORTEST_BATCH_MS;
    this.maxBatchMs = opts.maxBatchMs ?? 2000;
  }

  /** The batching interval in force (0: none). */
  get batchMs(): number {
    return this.batch;
  }

  /** Editors connected that make a crowd (K20, K21): ten times the fewest a window counts. */
  private get crowdSize(): number {
    return 10 * this.minSubmitters;
  }

  /**
   * The room now has `editors` edit connections (K21): a crowd of them is asked for the
   * shortest interval at once, before any of them types. Returns the new interval when it
   * changed, else null; fewer connected never changes it here (the windows lift it, K16).
   */
  connected(editors: number): number | null {
    this.connectedEditors = editors;
    if (this.batch !== 0 || editors < this.crowdSize) return null;
    this.batch = this.minBatchMs;
    return this.batch;
  }

  /** A submit from `client` arrived at `now`, `lagMs` stale. */
  submitted(client: string, lagMs: number, now: number): void {
    if (this.windowStart === null) this.windowStart = now;
    this.lags.push(lagMs);
    this.submitters.add(client);
  }

  /** Closes the window if it is over; returns the new interval when it changed, else null. */
  tick(now: number): number | null {
    // The short window is for a crowd that arrives; one that was just lifted is measured
    // over the long one, so that a document on the edge does not flap every tenth of a second.
    const fresh = this.batch === 0 && (this.liftedAt === null || now - this.liftedAt >= 4 * this.windowMs);
    if (this.windowStart === null || now - this.windowStart < (fresh ? this.engageWindowMs : this.windowMs)) return null;
    const lags = this.lags.sort((a, b) => a - b);
    const median = lags[Math.floor(lags.length / 2)];
    const counts = this.submitters.size >= this.minSubmitters;
    const crowded = this.submitters.size >= this.crowdSize;
    // A crowd connected (K21) is never lifted to none, whether or not it submits now.
    const crowdConnected = this.connectedEditors >= this.crowdSize;
    // Under an interval longer than the window, an editor submits in only some windows.
    const editors = this.submitters.size * Math.max(1, this.batch / (now - this.windowStart));
    this.windowStart = null;
    this.lags.length = 0;
    this.submitters.clear();
    let next = this.batch;
    if (this.batch > 0) this.crowd = Math.max(this.crowd, editors);
    if (this.batch > 0 && editors < this.crowd / 10) {
      // The crowd left (K20): down to the shortest interval at once, and never raised while
      // it is gone; lifted when fresh, by the rule below.
      const fresh = !counts || median < this.opts.targetLagMs / 3;
      next = this.batch > this.minBatchMs ? this.minBatchMs : fresh && !crowdConnected ? 0 : this.batch;
    } else if (this.batch === 0 && crowded) {
      // A crowd of 100 or more is asked for the shortest interval as soon as it is seen (K20),
      // before its submits are stale: at 500 typists starting at once the first second, before
      // staleness had passed the target and the interval had doubled up, had p99 ~1 s, the row's
      // p99 (bench/results/crowded-quiet-2026-12-06.md). At 50 ms a typist's keystrokes still
      // go one a submit; what changes is one submit in flight, so the crowd cannot pipeline.
      next = this.minBatchMs;
    }
    else if (counts && median > this.opts.targetLagMs) next = this.batch === 0 ? this.minBatchMs : Math.min(this.maxBatchMs, this.batch * 2);
    else if (this.batch > 0 && (!counts || median < this.opts.targetLagMs / 3)) {
      // A large crowd still here keeps the shortest interval (K20): with none, each of its
      // editors pipelines a submit a keystroke again, and the backlog that makes is what
      // fresh typists waited behind after a flood (measured: lifted 0.5 s before the stop,
      // asked again at once, and back at 2 s 3.4 s after it).
      const crowdHere = (this.crowd >= this.crowdSize && editors >= this.crowd / 10) || crowdConnected;
      next = this.batch / 4 < this.minBatchMs ? (crowdHere ? this.minBatchMs : 0) : Math.round(this.batch / 4);
    }
    if (next === this.batch) return null;
    if (next === 0) {
      this.liftedAt = now;
      this.crowd = 0;
    }
    this.batch = next;
    return next;
  }
}
