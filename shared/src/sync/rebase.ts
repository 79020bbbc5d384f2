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
  const xs: Op[] = [];
  const ps = grid(pending, remote, xs);
  return { pending: ps, remote: xs };
}

/**
 * Only the pending side of `rebase` (the same ops): what the sequencer needs. It skips
 * building the rewritten remote ops, which for a submit rebased over a long run is most
 * of the allocation (bench/results/crowded-2-2026-12-05.md).
 */
export function rebasePending(pending: readonly Op[], remote: readonly Op[]): Op[] {
  return grid(pending, remote, null);
}

function grid(pending: readonly Op[], remote: readonly Op[], xs: Op[] | null): Op[] {
  if (xs === null && pending.length === 1) return [one(pending[0], remote)];
  const ps = pending.map(moving);
  const blocks: Block[] = [];
  for (let i = 0; i < ps.length; i += BLOCK) blocks.push({ from: i, to: Math.min(i + BLOCK, ps.length), shift: 0, first: 0, last: 0, delta: 0, dirty: true });
  for (const r of remote) {
    const x = sweepBlocks(ps, blocks, moving(r));
    if (xs !== null) xs.push(settle(x));
  }
  for (const b of blocks) pushDown(ps, b);
  return ps.map(settle);
}

const BLOCK = 32;

/**
 * A run of consecutive pending ops, so that a remote op far from all of them crosses
 * the run in one step: when it lies after every op of the run it only moves by the
 * run's total length change; when it lies before all of them they all move together
 * (`shift`, pushed down to the members when the run must be entered). In the frame of
 * the run's first op: `last` bounds where the members' changes end (each member's end
 * minus what the members before it added) and `first` where they start.
 */
interface Block {
  readonly from: number;
  readonly to: number;
  shift: number;
  first: number;
  last: number;
  delta: number;
  dirty: boolean;
}

function measure(ps: Moving[], b: Block): void {
  let added = 0;
  let first = Infinity;
  let last = -Infinity;
  for (let i = b.from; i < b.to; i++) {
    const p = ps[i];
    if (p.op.length === 0) continue;
    const l = p.lead + p.shift;
    if (l < first) first = l;
    if (l + p.span - added > last) last = l + p.span - added;
    added += p.delta;
  }
  b.first = first;
  b.last = last;
  b.delta = added;
  b.dirty = false;
}

function pushDown(ps: Moving[], b: Block): void {
  if (b.shift === 0) return;
  for (let i = b.from; i < b.to; i++) ps[i].shift += b.shift;
  b.shift = 0;
  b.dirty = true;
}

function sweepBlocks(ps: Moving[], blocks: Block[], x: Moving): Moving {
  for (const b of blocks) {
    if (x.op.length === 0) break;
    if (b.dirty) {
      pushDown(ps, b);
      measure(ps, b);
    }
    if (b.first === Infinity) continue; // only no-ops
    const xl = x.lead + x.shift;
    if (b.last + b.shift < xl) {
      x.shift += b.delta;
    } else if (xl + x.span < b.first + b.shift) {
      b.shift += x.delta;
    } else {
      pushDown(ps, b);
      x = sweep(ps, b.from, b.to, x);
      if (swept) b.dirty = true;
    }
  }
  return x;
}

/**
 * An op in the middle of a sweep, with its leading retain kept apart as a number so
 * that the common cell, two ops far apart, costs a comparison and an addition: the op
 * before the other one is unchanged and the one after it only moves.
 */
interface Moving {
  op: Op;
  /** Added to the op's leading retain. */
  shift: number;
  /** The op's own leading retain (0 if it starts with a change). */
  lead: number;
  /** Input units from the end of the leading retain to the op's last change. */
  span: number;
  /** How much the op changes the document's length. */
  delta: number;
  /** Whether its first change (after the leading retain) is an insert. */
  ins: boolean;
}

function moving(op: Op): Moving {
  const lead = op.length > 0 && typeof op[0] === 'number' ? op[0] : 0;
  measureOp(op, lead);
  const first = op[lead > 0 ? 1 : 0];
  return { op, shift: 0, lead, span: opSpan, delta: opDelta, ins: typeof first === 'string' };
}

/** What `measureOp` found: a Moving's `span` and `delta` (module state, so no object is made for them). */
let opSpan = 0;
let opDelta = 0;

/** Sets `opSpan` and `opDelta` for `op`, whose leading retain is `lead` (0: none). */
function measureOp(op: Op, lead: number): void {
  let span = 0;
  let delta = 0;
  for (let i = lead > 0 ? 1 : 0; i < op.length; i++) {
    const c = op[i];
    if (typeof c === 'number') span += c;
    else if (typeof c === 'string') delta += c.length;
    else {
      span += c.d.length;
      delta -= c.d.length;
    }
  }
  opSpan = span;
  opDelta = delta;
}

/** The op a Moving stands for. */
function settle(m: Moving): Op {
  if (m.shift === 0 || m.op.length === 0) return m.op;
  const op = m.op;
  if (m.lead > 0) {
    const n = m.lead + m.shift;
    return n > 0 ? [n, ...op.slice(1)] : op.slice(1);
  }
  return [m.shift, ...op];
}

/** Whether the last `sweep` changed a pending op (its block must be measured again). */
let swept = false;

/**
 * Carries pending[from..to) past `x` in place; returns x carried past them.
 *
 * Two ops at one position where one of them only inserts there are cheap cells too, and
 * the common ones in a crowd (everyone typing at one spot, the bench's insert at 0): a
 * pending pure insert at x's start stays (it is `left`) and x moves past it; a remote
 * pure insert where p starts with a delete stays and p moves past it (were p to start
 * with an insert, p's would go first and split p: not a cheap cell). That is what
 * the two transforms give (rebase.test.ts checks against the plain grid), without them.
 */
function sweep(pending: Moving[], from: number, to: number, x: Moving): Moving {
  swept = false;
  for (let i = from; i < to; i++) {
    if (x.op.length === 0) break;
    const p = pending[i];
    if (p.op.length === 0) continue;
    const pl = p.lead + p.shift;
    const xl = x.lead + x.shift;
    if (pl + p.span < xl || (p.span === 0 && pl === xl)) {
      x.shift += p.delta; // p is wholly before x, or inserts at x's start (and goes first)
    } else if (xl + x.span < pl || (x.span === 0 && xl === pl && !p.ins)) {
      p.shift += x.delta; // x is wholly before p, or only inserts where p starts deleting
      swept = true;
    } else {
      swept = true;
      const po = settle(p);
      const xo = settle(x);
      pending[i] = moving(transform(po, xo, 'left'));
      x = moving(transform(xo, po, 'right'));
    }
  }
  return x;
}

/**
 * `grid`'s pending side for a single pending op: the sequencer's common case (a submit of one
 * event from a client with nothing else in flight), walked over everything since its base,
 * which in a crowded document is hundreds of ops a submit. The same cells as `sweepBlocks`
 * over one block and `sweep` (the conditions in the same order, so ties fall the same way),
 * without a Moving for each remote op: only a cell that must transform allocates.
 */
function one(op: Op, remote: readonly Op[]): Op {
  let p = moving(op);
  for (const r of remote) {
    // An empty op changes nothing, and meets nothing.
    if (r.length === 0 || p.op.length === 0) continue;
    const rl = typeof r[0] === 'number' ? r[0] : 0;
    measureOp(r, rl);
    const span = opSpan;
    const delta = opDelta;
    const pl = p.lead + p.shift;
    // p wholly before r, or inserting at r's start (it goes first): p stays.
    if (pl + p.span < rl || (p.span === 0 && pl === rl)) continue;
    // r wholly before p, or only inserting where p starts deleting: p moves.
    if (rl + span < pl || (span === 0 && rl === pl && !p.ins)) {
      p.shift += delta;
      continue;
    }
    p = moving(transform(settle(p), r, 'left'));
  }
  return settle(p);
}
