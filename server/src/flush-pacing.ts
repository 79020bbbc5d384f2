/**
 * When the next group commit may run (issue 15). A flush costs a store transaction plus
 * the fan-out of its groups: one frame to every connection of each document, whatever
 * the group holds. In a crowded document that fan-out is the bulk of a flush, and a
 * server that flushes at every turn of the event loop pays it for groups of a few
 * submits; measured at 300 typists, 4-6 submits a flush, 300 frames each, until the
 * flushes left too little time to take submits in and the document collapsed
 * (bench/results/crowded-2026-12-05.md).
 *
 * So flushes are spaced, counted from the end of the last one:
 *
 *   - at least as long as the last one took (capped): the server then spends at most
 *     about half its time flushing, and under load groups grow instead of flushes
 *     multiplying;
 *   - at least `MS_PER_FRAME` for each connection the last group went out to (K18): a
 *     frame's `ws.send` and `writev` cost about 10-15 µs here, so a document of 300
 *     connections flushes at most every 15 ms and its fan-out stays under about a fifth
 *     of a core however many typists it has. Profiled at 300 typists × 10/s, the fan-out
 *     was the largest single share of the server's CPU (writev 15-19 % self).
 *
 * The wait is counted from the end of the last flush, so a submit that arrives after a
 * quiet spell waits for nothing more than the turn of the event loop, as before: the
 * pacing costs latency only when flushes follow each other, and then at most
 * `MAX_FLUSH_PACING_MS`.
 */

/**
 * Longest wait the pacing adds, ms: the latency it may cost is bounded by it. At 400
 * connections or more it is what spaces the flushes: 20 rather than 50 cut the p99 at 200
 * typing + 800 watching from 111-114 ms to 64-78 ms in six quiet runs, for about a tenth of a core more
 * (docs/scale.md). A flush of up to 20 ms is still followed by a wait as long, so the server
 * spends at most half its time flushing until its flushes pass the cap.
 */
export const MAX_FLUSH_PACING_MS = 20;

/** Flushes shorter than this, and waits shorter than this, keep the plain turn-of-the-loop schedule, ms. */
export const MIN_FLUSH_PACING_MS = 1;

/** Spacing per connection of the last group's fan-out, ms (K18). */
export const MS_PER_FRAME = 0.05;

/** The last flush as the pacing sees it. */
export interface LastFlush {
  /** How long it took, ms (store write and fan-out). */
  readonly ms: number;
  /** Connections its groups went out to. */
  readonly fanOut: number;
  /** Time since it ended, ms. */
  readonly sinceMs: number;
}

/** How long to wait before the next flush: the commit window, or the pacing's spacing if longer (capped). */
export function nextFlushDelay(windowMs: number, last: LastFlush): number {
  const byTime = last.ms < MIN_FLUSH_PACING_MS ? 0 : last.ms;
  const spacing = Math.min(MAX_FLUSH_PACING_MS, Math.max(byTime, last.fanOut * MS_PER_FRAME));
  const left = spacing - last.sinceMs;
  const paced = left < MIN_FLUSH_PACING_MS ? 0 : Math.ceil(left);
  return Math.max(windowMs, paced);
}
