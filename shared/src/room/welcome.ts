/**
 * The catch-up a hello gets. A client says `last`, the last seq it has; the welcome
 * brings it to the committed head. Two shapes, one rule (docs/protocol.md):
 *
 *   - new (`last` = 0) or more than `protocolLimits.catchUpCheckpointAfter` behind, and
 *     the document has a checkpoint beyond `last`: that checkpoint (the newest) plus the
 *     events after it. Replaying thousands of events costs the client more than reading
 *     a checkpoint, and the events after the newest checkpoint are at most a checkpoint
 *     interval;
 *   - otherwise the events after `last`, so a client that was briefly away keeps its
 *     own confirmed state (and its outbox stays rebasable).
 *
 * A `last` beyond the head is refused (`base-ahead`): the client synced with another log
 * (a reset server), and anything it sent would be read against the wrong text.
 *
 * The decision is a `WelcomePlan` (seqs only) so that a shell may build the frame from
 * whatever it keeps (the server builds frames from cached blocks, server/src/block-cache.ts);
 * `welcomeMessage` builds it from the log, and both must give the same message.
 */
import { protocolLimits, PROTOCOL_VERSION, type WelcomeMessage } from '../protocol/messages.js';
import type { Role } from '../access/capability.js';
import { type Result, type CodedError, ok, err } from '../result.js';
import type { RoomLog } from './room-log.js';

/**
 * What a welcome holds, by seq: the checkpoint at `checkpoint` (null: none) and the
 * committed events `from < seq ≤ head`. Promises: `from` is `checkpoint` when there is
 * one, else the hello's `last`; `head` is the committed head when the plan was made, so
 * the welcome and the stream that follows it meet without a gap or an overlap.
 */
export interface WelcomePlan {
  readonly docId: string;
  readonly role: Role;
  readonly head: number;
  readonly checkpoint: number | null;
  readonly from: number;
}

/**
 * The welcome for a hello with `last`, when the committed head is `head` and the newest
 * checkpoint of the document is at `newestCheckpoint` (0: none). `catchUpAfter`: how far
 * behind counts as far (the protocol's constant; a simulation makes it small).
 */
export function planWelcome(
  docId: string,
  role: Role,
  last: number,
  head: number,
  newestCheckpoint: number,
  catchUpAfter: number = protocolLimits.catchUpCheckpointAfter,
): Result<WelcomePlan, CodedError<'base-ahead'>> {
  if (last > head) {
    return err('base-ahead', `you have seq ${last}, but this document's log ends at ${head}: it is not the log you synced with`);
  }
  const farBehind = head > last && (last === 0 || head - last > catchUpAfter);
  if (farBehind && newestCheckpoint > last) {
    return ok({ docId, role, head, checkpoint: newestCheckpoint, from: newestCheckpoint });
  }
  return ok({ docId, role, head, checkpoint: null, from: last });
}

/** The welcome message of `plan`, read from `log` (throws if the log does, or lacks the checkpoint: a bug). */
export function welcomeMessage(plan: WelcomePlan, log: RoomLog): WelcomeMessage {
  let checkpoint = null;
  if (plan.checkpoint !== null) {
    checkpoint = log.checkpointAtOrBefore(plan.checkpoint);
    if (checkpoint === null || checkpoint.seq !== plan.checkpoint) {
      throw new Error(`welcome of ${plan.docId}: the log has no checkpoint at ${plan.checkpoint}`);
    }
  }
  const events = plan.head > plan.from ? log.range(plan.from, plan.head) : [];
  return { type: 'welcome', protocol: PROTOCOL_VERSION, docId: plan.docId, role: plan.role, head: plan.head, checkpoint, events };
}
