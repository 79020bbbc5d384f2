/**
 * Rebase: carry a sequence of not-yet-sequenced ops (`pending`, made one after the
 * other on document D) past a sequence of sequenced ones (`remote`, also made on D).
 * This is the only OT loop in the system; the sequencer and the client state both call
 * it, so the server and every client compute the same forms of the same events.
 *
 * It is the plain grid: each remote op is swept across the pending list, cell by cell.
 * The value of every cell depends only on the two ops that meet there, so the result
 * does not depend on how the remote ops were grouped into calls: a client that got
 * them one by one and a sequencer that walks them in one run agree exactly, which is
 * what lets an ack carry no op.
 *
 * Why not compose the remote run first and sweep once (n × |X| instead of n × m)? With
 * positional ops that is not the same function: composing "delete D, then insert Y
 * where D was" and "insert Y after D, then delete D" gives one op, yet a concurrent
 * insert at D's start lands on different sides of Y in the two histories (the property
 * tests keep the counterexample). So composition stays out of sequencing; long
 * branches pay the grid, and the cheap cells (ops far apart) are kept cheap.
 *
 * Ties. When a pending insert and a remote insert land on one position, the pending
 * one goes first (`left`), i.e. the insert sequenced later sits before the earlier.
 * Either fixed rule converges (TP1); this one also reproduces what people meant in the
 * case that makes real ties in practice: one person deletes a character and types in
 * its place while another types just after it. Positional ops forget which side of
 * the deleted character each insert was on; this rule puts the replacement first,
 * as a CRDT that keeps the deleted character as a tombstone does. The concurrent
 * trace friendsforever reaches its recorded end text with this rule, not the other.
 */
import type { Op } from '../op/op.js';
import { transform } from '../op/transform.js';

export interface Rebased {
  /** The pending ops, in order, now applying after all of `remote`. */
  readonly pending: Op[];
  /** The remote ops rewritten to apply after the old pending ops (to a client's live text). */
  readonly remote: Op[];
}

export function rebase(pending: readonly Op[], remote: readonly Op[]): Rebased {
  const out = pending.slice();
  const xs: Op[] = [];
  for (const r of remote) xs.push(sweep(out, r));
  return { pending: out, remote: xs };
}

/** Rewrites `pending` in place past `x`; returns x rewritten past all of pending. */
function sweep(pending: Op[], x: Op): Op {
  for (let i = 0; i < pending.length; i++) {
    if (x.length === 0) break;
    const p = pending[i];
    pending[i] = transform(p, x, 'left');
    x = transform(x, p, 'right');
  }
  return x;
}
