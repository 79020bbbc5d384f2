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
 *      it holds every checkpoint of its range and `next` continues exactly after it.
 *
 * `next` is the page's end while the request's (clamped) end is not reached, then null.
 * Like the welcome, the decision is a plan of seqs; `historyPageMessage` builds the
 * frame from the log, and a shell that keeps encoded events must build the same one.
 */
import type { HistoryMessage, HistoryPageMessage } from '../protocol/messages.js';
import type { Checkpoint } from '../log/checkpoint.js';
import type { RoomLog } from './room-log.js';

/** Most checkpoints in one history page; the page ends at the last one it holds. */
export const MAX_PAGE_CHECKPOINTS = 4;

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
export function planHistoryPage(req: HistoryMessage, head: number, log: Pick<RoomLog, 'checkpointSeqs'>): HistoryPlan {
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
