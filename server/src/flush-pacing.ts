/**
 * When the next group commit may run (issue 15). A flush costs a store transaction plus
 * the fan-out of its groups: one frame to every connection of each document, whatever
 * the group holds. In a crowded document that fan-out is the bulk of a flush, and a
 * server that flushes at every turn of the event loop pays it for groups of a few
 * submits; measured at 300 typists, 4-6 submits a flush, 300 frames each, until the
 * flushes left too little time to take submits in and the document collapsed
 * (bench/results/crowded-2026-12-05.md).
 *
 * So the next flush waits at least as long as the last one took (capped): the server
 * then spends at most about half its time flushing, and under load the groups grow
 * instead of the flushes multiplying, so the cost per event falls as the load rises. An
 * idle server's flush takes well under a millisecond, and waits for nothing more than the
 * turn of the event loop, as before.
 */

/** Longest wait the pacing adds, ms: the latency it may cost is bounded by it. */
export const MAX_FLUSH_PACING_MS = 50;

/** Flushes shorter than this keep the plain turn-of-the-loop schedule, ms. */
export const MIN_FLUSH_PACING_MS = 1;

/** How long to wait before the next flush: the commit window, or the last flush's duration if longer (capped). */
export function nextFlushDelay(windowMs: number, lastFlushMs: number): number {
  const paced = lastFlushMs < MIN_FLUSH_PACING_MS ? 0 : Math.min(MAX_FLUSH_PACING_MS, Math.ceil(lastFlushMs));
  return Math.max(windowMs, paced);
}
