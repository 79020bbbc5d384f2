/**
 * Compact summaries of ops, for reverting far back (undo, docs/spec.md U2).
 *
 * Reverting a step walks every event from the step to the head (revert.ts). Nearly all of
 * them are someone else's edits far from the step's characters: the tracker only asks
 * where the op starts, where it ends and how much it changes the length (marks.ts, the
 * fast paths of `MarkTracker.step`). Read from the events themselves that means, per
 * event, an event object, an op array and its components, scattered over the heap: for
 * automerge-paper's 100,000 events after a step, ~20 MB of objects and most of an undo's
 * time, spent on memory reads rather than work. The same three numbers in three typed
 * arrays are 1.2 MB read in order.
 *
 * Whoever keeps a run of the log in memory keeps its summaries beside it, appending as
 * events arrive (the client's event source), so an undo costs no summarizing.
 *
 * What a summary promises (`summarize`): `start` is the op's leading retain (0 if it
 * begins with an insert or a delete; INT32_MAX for an empty op, which changes nothing),
 * `end` the position in the text before the op where its last component ends (retains
 * plus deletes), `delta` its inserted minus deleted length. Exactly what `step` computes.
 */
import type { Op } from '../op/op.js';

/** Summaries aligned with a log: entry i describes log[i], for i < `length`. */
export interface OpSummaryView {
  readonly length: number;
  readonly start: Int32Array;
  readonly end: Int32Array;
  readonly delta: Int32Array;
  /** 1 where the event is an undo or a redo (revert.ts looks at the author of those only). */
  readonly revert: Uint8Array;
}

/** What a summary is made of. */
export interface Summarizable {
  readonly op: Op;
  readonly kind?: string;
}

/** The start of an op that changes nothing: after any marks. */
export const EMPTY_OP_START = 0x7fffffff;

/** Writes `op`'s summary at index i of the three arrays. */
export function summarizeInto(op: Op, i: number, start: Int32Array, end: Int32Array, delta: Int32Array): void {
  if (op.length === 0) {
    start[i] = EMPTY_OP_START;
    end[i] = 0;
    delta[i] = 0;
    return;
  }
  const first = op[0];
  let e = 0;
  let d = 0;
  for (let k = 0; k < op.length; k++) {
    const c = op[k];
    if (typeof c === 'number') e += c;
    else if (typeof c === 'string') d += c.length;
    else {
      e += c.d.length;
      d -= c.d.length;
    }
  }
  start[i] = typeof first === 'number' ? first : 0;
  end[i] = e;
  delta[i] = d;
}

/**
 * A growable run of summaries for a contiguous run of the log: `push` as events arrive,
 * `view(a, b)` for the entries a..b-1 without copying (typed-array subarrays).
 */
export class OpSummaries implements OpSummaryView {
  start = new Int32Array(1024);
  end = new Int32Array(1024);
  delta = new Int32Array(1024);
  revert = new Uint8Array(1024);
  private n = 0;

  get length(): number {
    return this.n;
  }

  push(e: Summarizable): void {
    if (this.n === this.start.length) this.grow(this.n * 2);
    this.revert[this.n] = e.kind === 'undo' || e.kind === 'redo' ? 1 : 0;
    summarizeInto(e.op, this.n++, this.start, this.end, this.delta);
  }

  /** Summaries of `events`, in order. */
  static of(events: readonly Summarizable[]): OpSummaries {
    const s = new OpSummaries();
    s.grow(Math.max(1024, events.length));
    for (const e of events) s.push(e);
    return s;
  }

  /** Entries a..b-1 (clamped), sharing memory with this run. */
  view(a: number, b: number): OpSummaryView {
    const lo = Math.max(0, Math.min(a, this.n));
    const hi = Math.max(lo, Math.min(b, this.n));
    return {
      length: hi - lo,
      start: this.start.subarray(lo, hi),
      end: this.end.subarray(lo, hi),
      delta: this.delta.subarray(lo, hi),
      revert: this.revert.subarray(lo, hi),
    };
  }

  private grow(size: number): void {
    const s = new Int32Array(size);
    const e = new Int32Array(size);
    const d = new Int32Array(size);
    const r = new Uint8Array(size);
    s.set(this.start.subarray(0, this.n));
    e.set(this.end.subarray(0, this.n));
    d.set(this.delta.subarray(0, this.n));
    r.set(this.revert.subarray(0, this.n));
    this.start = s;
    this.end = e;
    this.delta = d;
    this.revert = r;
  }
}
