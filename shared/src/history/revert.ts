/**
 * Reverting a group of past events at the head of the log: the op behind undo, redo,
 * and the history panel's "revert this step" (docs/spec.md U1-U3, L6). marks.ts tracks one
 * group's characters from its first event to the head; this file finds the group in the
 * log and tells the tracker about the author's own undos and redos in between.
 *
 * Revived characters. Undo puts deleted characters back as new inserts, yet they are the
 * same characters: type "abc" (step 1), delete "c" (step 2), undo step 2, undo step 1 —
 * the second undo must remove the "c" too. So when one of the author's own events
 * deletes characters of the group, the tracker leaves a placeholder for each in its gap
 * (a *ghost*), named by where it was deleted (event, unit of its deleted text). When a later undo or redo
 * of the same author reverts the events that deleted them, the tracker replays that
 * revert's own tracker (recursively, the same code) to learn the provenance of each
 * unit it put back, and the group's ghosts among them become the group's range again.
 *
 * Finding the group and those undos is one backward pass over the stretch; the forward
 * pass reads only each plain event's op, or, where the caller has them, only its summary
 * (op-summary.ts: three numbers in typed arrays, not the event). Sub-trackers run only
 * when characters of the group are being revived.
 */
import type { Op } from '../op/op.js';
import type { EventId, EventKind } from '../log/event.js';
import { idKey } from '../log/event.js';
import { MarkTracker, provKey } from './marks.js';
import type { OpSummaryView } from './op-summary.js';

/** What `revertEvents` needs of a log entry. */
export interface RevertableEvent {
  readonly id: EventId;
  readonly op: Op;
  readonly author?: string;
  readonly kind?: EventKind;
}

/** How a group's author's undo and redo events inside the stretch are read. */
export interface RevertContext {
  /** The author of the group. */
  readonly author: string;
  /** For an undo or redo event: the events it reverted (UndoHistory.revertedBy). */
  revertedBy(id: EventId): readonly EventId[] | undefined;
  /** How many undo and redo events the author has made; 0 lets the stretch go unsearched for them. */
  readonly revertCount?: number;
}

/** Sub-trackers nest at most this deep; deeper revivals are treated as plain inserts. */
const MAX_DEPTH = 16;

/**
 * The op that reverts the events named by `targets`, applied after the last of `log`
 * (a contiguous stretch of the log ending at the head, e.g. confirmed events then the
 * outbox). Null when a target is not in `log`: the stretch does not reach back far
 * enough, and the caller must fetch more history first. With `ctx`, characters of the
 * group that the author deleted and then brought back by undo or redo count as the
 * group's (see the essay above); without it they count as new. `hints` change nothing
 * but the time it takes (RevertHints).
 */
export function revertEvents(
  log: readonly RevertableEvent[],
  targets: readonly EventId[],
  ctx?: RevertContext,
  hints: RevertHints = {},
): Op | null {
  if (targets.length === 0) return [];
  let undos = ctx === undefined ? undefined : { author: ctx.author, found: [] as number[] };
  if (ctx?.revertCount === 0) undos = undefined;
  const summaries = hints.summaries ?? NO_SUMMARIES;
  let idx: number[] | null;
  if (hints.groupFrom !== undefined) {
    // The group is near the start: search forward, and let track() find the author's
    // undos from the summaries' flags instead of reading every event's kind.
    idx = indexForward(log, targets, hints.groupFrom);
    undos = undefined;
  } else idx = indexOf(log, targets, log.length, undos);
  if (idx === null) return null;
  return new Reverter(log, ctx, summaries).track(idx, log.length, 0, undos?.found).revert();
}

/**
 * What a caller may know that makes `revertEvents` faster without changing its result.
 */
export interface RevertHints {
  /** Summaries of log[0..summaries.length) (op-summary.ts): the events they cover are passed over without being read. */
  readonly summaries?: OpSummaryView;
  /**
   * The group's first event is at or after this index, and the log is searched forward
   * from it. The client's undo passes 0: its log starts at the step.
   */
  readonly groupFrom?: number;
}

const NO_SUMMARIES: OpSummaryView = { length: 0, start: new Int32Array(0), end: new Int32Array(0), delta: new Int32Array(0), revert: new Uint8Array(0) };

/** Log indices of `ids` (ascending), searching forward from `from`, or null if one is missing. */
function indexForward(log: readonly RevertableEvent[], ids: readonly EventId[], from: number): number[] | null {
  const found: number[] = [];
  for (let i = Math.max(0, from); i < log.length && found.length < ids.length; i++) {
    const id = log[i].id;
    for (let k = 0; k < ids.length; k++) {
      if (ids[k].clientSeq === id.clientSeq && ids[k].client === id.client) {
        found.push(i);
        break;
      }
    }
  }
  return found.length < ids.length ? null : found;
}

/** Log indices of `ids` (scanning back from the head), or null if one is missing. */
function indexOf(
  log: readonly RevertableEvent[],
  ids: readonly EventId[],
  before = log.length,
  undos?: { readonly author: string; readonly found: number[] },
): number[] | null {
  // Numbers first: most events fail a range test on clientSeq without a string comparison.
  let lo = Infinity;
  let hi = -Infinity;
  for (const t of ids) {
    if (t.clientSeq < lo) lo = t.clientSeq;
    if (t.clientSeq > hi) hi = t.clientSeq;
  }
  const found: number[] = [];
  for (let i = before - 1; i >= 0 && found.length < ids.length; i--) {
    const e = log[i];
    // The same pass notes the author's undo and redo events in the stretch (see track).
    if (undos !== undefined && (e.kind === 'undo' || e.kind === 'redo') && e.author === undos.author) undos.found.push(i);
    const id = e.id;
    const cs = id.clientSeq;
    if (cs < lo || cs > hi) continue;
    for (let k = 0; k < ids.length; k++) {
      if (ids[k].clientSeq === cs && ids[k].client === id.client) {
        found.push(i);
        break;
      }
    }
  }
  return found.length < ids.length ? null : found.reverse();
}

class Reverter {
  /** Id key → log index, built on first need. */
  private index: Map<string, number> | null = null;
  /** Per undo/redo event index: the log indices of what it reverted (null: not all in the log). */
  private readonly revertedIdx = new Map<number, number[] | null>();
  /** Per undo/redo event index: the provenance key of each unit it put back (null: unknown). */
  private readonly restoredKeys = new Map<number, number[] | null>();

  constructor(
    private readonly log: readonly RevertableEvent[],
    private readonly ctx: RevertContext | undefined,
    private readonly sums: OpSummaryView,
  ) {}

  /**
   * The tracker of the group at log indices `members` (ascending), run up to `end`.
   * `undos`, if the caller has them, are the author's undo and redo events in the stretch.
   */
  track(members: readonly number[], end: number, depth: number, undos?: readonly number[]): MarkTracker {
    const t = new MarkTracker();
    const log = this.log;
    const ctx = this.ctx;
    const start = members[0];
    // Events of the author whose deletes a later undo or redo in the stretch brings back.
    const revivable = new Set<number>();
    const undoSet = new Set<number>();
    if (ctx !== undefined) {
      const found: number[] = [];
      if (undos !== undefined) found.push(...undos);
      else if (ctx.revertCount !== 0) {
        const flags = this.sums.revert;
        const flagged = Math.min(this.sums.length, end);
        for (let i = start; i < end; i++) {
          if (i < flagged && flags[i] === 0) continue; // summarized: not an undo or redo
          const e = log[i];
          if ((e.kind === 'undo' || e.kind === 'redo') && e.author === ctx.author) found.push(i);
        }
      }
      for (const i of found) {
        undoSet.add(i);
        for (const x of this.reverted(i) ?? []) revivable.add(x);
      }
    }
    // Only members, the events whose deletes will be revived, and the author's undos and
    // redos need more than moving marks; the rest (nearly all) take the plain path
    // without their author or kind being read.
    const special = [...new Set([...revivable, ...undoSet])].filter((i) => i >= start && i < end).sort((a, b) => a - b);
    let nextSpecialAt = 0;
    let nextSpecial = special.length > 0 ? special[0] : -1;
    let next = 0;
    // Plain events below `summed` are passed over from their summaries, without reading them.
    const { start: sStart, end: sEnd, delta: sDelta } = this.sums;
    const summed = Math.min(this.sums.length, log.length);
    // The next member's index (-1 past the last: reading past an array's end is slow in V8).
    let nextMember = members[0];
    for (let i = start; i < end; i++) {
      const e = log[i];
      if (i === nextMember) {
        next++;
        nextMember = next < members.length ? members[next] : -1;
        if (i === nextSpecial) {
          nextSpecialAt++;
          nextSpecial = nextSpecialAt < special.length ? special[nextSpecialAt] : -1;
        }
        t.step(e.op, true, i);
        continue;
      }
      if (i !== nextSpecial) {
        if (i < summed && t.pass(sStart[i], sEnd[i], sDelta[i])) continue;
        t.step(e.op, false, i);
        continue;
      }
      nextSpecialAt++;
      nextSpecial = nextSpecialAt < special.length ? special[nextSpecialAt] : -1;
      let revives: number[] | undefined;
      if (undoSet.has(i) && t.placeholderEvents.size > 0 && depth < MAX_DEPTH) {
        const x = this.reverted(i);
        if (x !== null && x.some((j) => t.placeholderEvents.has(j))) revives = this.restoredBy(i, depth) ?? undefined;
      }
      const placeholders = revivable.has(i);
      t.step(e.op, false, i, placeholders || revives !== undefined ? { placeholders, revives } : undefined);
    }
    return t;
  }

  /** Log indices of what undo/redo event `i` reverted, or null. */
  private reverted(i: number): number[] | null {
    let r = this.revertedIdx.get(i);
    if (r !== undefined) return r;
    r = null;
    const ids = this.ctx?.revertedBy(this.log[i].id);
    if (ids !== undefined && ids.length > 0) {
      if (this.index === null) {
        this.index = new Map();
        for (let j = 0; j < this.log.length; j++) this.index.set(idKey(this.log[j].id), j);
      }
      const idx: number[] = [];
      for (const id of ids) {
        const j = this.index.get(idKey(id));
        if (j === undefined || j >= i) break;
        idx.push(j);
      }
      if (idx.length === ids.length) r = idx.sort((a, b) => a - b);
    }
    this.revertedIdx.set(i, r);
    return r;
  }

  /**
   * The provenance key of each unit undo/redo event `i` inserts: replays the tracker of
   * what it reverted, up to it, and lines its restored units up with the event's inserts
   * (the same text in order, unless something unexpected got in between: then null).
   */
  private restoredBy(i: number, depth: number): number[] | null {
    const memo = this.restoredKeys.get(i);
    if (memo !== undefined) return memo;
    let keys: number[] | null = null;
    const idx = this.reverted(i);
    if (idx !== null) {
      const { text, prov } = this.track(idx, i, depth + 1).restored();
      let inserted = '';
      for (const c of this.log[i].op) if (typeof c === 'string') inserted += c;
      if (inserted === text) {
        keys = [];
        for (const p of prov) for (let u = 0; u < p.len; u++) keys.push(provKey(p.ev, p.off + u));
      }
    }
    this.restoredKeys.set(i, keys);
    return keys;
  }
}

/**
 * Where the caret goes after `op` is applied: the end of its last change (after the
 * last insert, or where the last delete was).
 */
export function caretAfter(op: Op): number {
  let pos = 0;
  let caret = 0;
  for (const c of op) {
    if (typeof c === 'number') pos += c;
    else if (typeof c === 'string') {
      pos += c.length;
      caret = pos;
    } else caret = pos;
  }
  return caret;
}
