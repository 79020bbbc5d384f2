/**
 * The re-sync decision, in one place: which server errors mean "reconnect, catch up,
 * resend" and which mean "stop, reconnecting cannot help", and how long to wait before
 * reconnecting.
 *
 * Fatal are the refusals of this copy itself: another protocol version, a log that is
 * not the one we synced with (`base-ahead`), no access, no new document, a view link
 * that cannot send. Everything else (refused submits, rate limits, a store failure, a
 * server going down) is repaired the same way as a lost connection: the outbox is kept,
 * and the next welcome plus a resend settle it (docs/protocol.md, "Re-sync").
 */

/** Server error codes after which reconnecting cannot help. */
export const FATAL_ERROR_CODES: ReadonlySet<string> = new Set(['protocol-version', 'base-ahead', 'access-denied', 'too-many-documents', 'read-only', 'links-replaced']);

/** Whether a server error ends the session (true) or re-syncs it (false). */
export function isFatalError(code: string): boolean {
  return FATAL_ERROR_CODES.has(code);
}

/** Reconnect delays: `minMs · 2^attempt`, at most `maxMs`, times a jitter in [0.5, 1.5). */
export interface Backoff {
  readonly minMs: number;
  readonly maxMs: number;
}

/** The most doublings counted (beyond it the delay is `maxMs` anyway). */
export const MAX_BACKOFF_ATTEMPT = 20;

/**
 * The delay before reconnect number `attempt` (0 first), with `random` in [0, 1) drawn
 * by the caller (the shell's Math.random, a test's seeded generator).
 */
export function backoffDelay(b: Backoff, attempt: number, random: number): number {
  return Math.min(b.maxMs, b.minMs * 2 ** attempt) * (0.5 + random);
}
