/**
 * Where a history page ends. A client walks the log with `history` requests
 * (`from`, `to`, `limit`); each answer holds the events and server checkpoints with
 * `from < seq ≤ end` and says where the next page starts. The end is:
 *
 *   1. `to`, clamped to the committed head (only committed events are ever served: a
 *      page must not show an event that a crash could still take back, L2);
 *   2. at most `limit` events after `from`;
 *   3. cut at the `MAX_PAGE_CHECKPOINTS`th checkpoint of the range, because checkpoints
 *      can be large (a whole document each): the page then ends *at* that checkpoint, so
 *      it holds every checkpoint of its range and `next` continues exactly after it;
 *   4. when the shell says what its frame costs (`PageCost`, the encoded bytes of events
 *      and checkpoints), cut at a multiple of `PAGE_CHUNK` so the page stays within
 *      `MAX_PAGE_BYTES`, holding at least one chunk (with its checkpoints) so that every
 *      page moves on. Pages used to be bounded by a count of JSON events (1,000, ~130 KB);
 *      as blocks an event is a few bytes, and a late joiner walks the whole log, so the
 *      bound is what the frame weighs and the count is generous.
 *
 * `next` is the page's end while the request's (clamped) end is not reached, then null.
 * Like the welcome, the decision is a plan of seqs; `historyPageMessage` builds the
 * frame from the log, and a shell that keeps encoded events must build the same one.
 */
import type { HistoryMessage, HistoryPageMessage } from '../protocol/messages.js';
import type { Checkpoint } from '../log/checkpoint.js';
import type { RoomLog } from './room-log.js';

/** Most checkpoints in one history page; the page ends at the last one it holds. */
export const MAX_PAGE_CHECKPOINTS = 64;

/** Most encoded bytes in a page whose cost is known (the first chunk goes out whatever it weighs). */
export const MAX_PAGE_BYTES = 1 << 20;

/** Pages priced by bytes end at a multiple of this (the server caches its blocks per chunk of seqs). */
export const PAGE_CHUNK = 1000;

/**
 * What a page costs to send, as the shell builds it: the encoded bytes of the events
 * `from < seq ≤ to` (a run within one chunk), and of the checkpoint at `seq`. Pure of
 * effects but for caches: the shell encodes what it prices and keeps it for the frame.
 */
export interface PageCost {
  events(from: number, to: number): number;
  checkpoint(seq: number): number;
  /**
   * True once pricing has cost the shell what one page may (it encodes what is not cached
   * yet): the page then ends at the chunk reached, so one page of a cold log never holds
   * the server for long, and the client continues at `next`.
   */
  exhausted?(): boolean;
}

/**
 * One page, by seq. Promises: `from ≤ end ≤ min(to, committed head)`, `end - from ≤
 * limit`, `checkpoints` are every checkpoint seq in `(from, end]` (at most
 * `MAX_PAGE_CHECKPOINTS`), and `next` is `end` or null when the request is done.
 */
export interface HistoryPlan {
  readonly reqId: number;
  readonly from: number;
  readonly end: number;
  readonly checkpoints: readonly number[];
  readonly next: number | null;
}

/** The page answering `req` when the committed head is `head`; reads only the checkpoint seqs. */
export function planHistoryPage(
  req: HistoryMessage,
  head: number,
  log: Pick<RoomLog, 'checkpointSeqs'>,
  cost?: PageCost,
  maxBytes: number = MAX_PAGE_BYTES,
): HistoryPlan {
  const stop = Math.min(req.to, head);
  let end = Math.max(req.from, Math.min(stop, req.from + req.limit));
  let checkpoints: readonly number[] = [];
  if (end > req.from) {
    checkpoints = log.checkpointSeqs(req.from + 1, end);
    if (checkpoints.length > MAX_PAGE_CHECKPOINTS) {
      end = checkpoints[MAX_PAGE_CHECKPOINTS - 1];
      checkpoints = checkpoints.slice(0, MAX_PAGE_CHECKPOINTS);
    }
  }
  if (cost !== undefined && end > req.from) {
    let at = req.from;
    let held = 0;
    let bytes = 0;
    while (at < end) {
      const next = Math.min(end, (Math.floor(at / PAGE_CHUNK) + 1) * PAGE_CHUNK);
      let c = cost.events(at, next);
      let k = held;
      while (k < checkpoints.length && checkpoints[k] <= next) c += cost.checkpoint(checkpoints[k++]);
      if (at > req.from && bytes + c > maxBytes) break;
      bytes += c;
      at = next;
      held = k;
      if (cost.exhausted?.() === true) break;
    }
    if (at < end) {
      end = at;
      checkpoints = checkpoints.slice(0, held);
    }
  }
  return { reqId: req.reqId, from: req.from, end, checkpoints, next: end < stop ? end : null };
}

/** The page of `plan`, read from `log` (throws if the log does). */
export function historyPageMessage(plan: HistoryPlan, log: RoomLog): HistoryPageMessage {
  const checkpoints: Checkpoint[] = [];
  for (const s of plan.checkpoints) {
    const cp = log.checkpointAtOrBefore(s);
    if (cp !== null && cp.seq === s) checkpoints.push(cp);
  }
  const events = plan.end > plan.from ? log.range(plan.from, plan.end) : [];
  return { type: 'history-page', reqId: plan.reqId, events, checkpoints, next: plan.next };
}
