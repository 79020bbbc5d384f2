/**
 * Reverting a group of past events at the head of the log: the op behind undo, redo,
 * and the history panel's "revert this step" (DESIGN.md U1-U3, L6).
 *
 * The textbook way to undo an old op is to invert it and transform the inverse over
 * everything that came after. For one op that works; for a group of ops it does not,
 * and undo steps are groups: a step that typed "ab" and then backspaced the "b" has,
 * after undoing its second event, a freshly re-inserted "b" that transform sees as a
 * new character, so undoing the first event deletes only the "a". Transform knows
 * positions, not characters.
 *
 * So this file tracks characters instead. Walking forward from the group's first event
 * to the head, it keeps marks on the current text:
 *   - a *range* over characters the group inserted that are still there, with their text;
 *   - an *anchor* at a gap between characters, holding text the group deleted (that
 *     it had not inserted itself), to be put back there.
 * A group event adds ranges for its inserts and turns its deletes of other text into
 * anchor text; its deletes of its own ranges just shrink them. Any other event moves
 * the marks: its inserts split ranges and push anchors right (an anchor belongs to the
 * character after it), its deletes eat into ranges and fold the anchors they span into
 * one, in order. At the head the revert deletes every range and inserts every anchor's
 * text: it removes what is left of the group's insertions, puts back its deletions where
 * their neighbours now are, and touches no character anyone else wrote (U1). With no
 * other events in between it is exactly the inverse of the group (U3).
 *
 * Cost: the marks of a step are few and sit together, so an event that ends before
 * them only shifts a shared offset, one that starts after them is skipped, and only
 * events that touch them are walked. Reverting a step 100,000 events back is a pass
 * over 100,000 ops doing a few comparisons each.
 */
import type { Op } from '../op/op.js';
import type { EventId } from '../log/event.js';
import { OpBuilder } from '../op/op.js';

/** A mark on the current text: `text` inserted by the group at `pos` (range) or deleted by it there (anchor). */
interface Mark {
  /** Position in the text, minus the shared offset. */
  pos: number;
  readonly range: boolean;
  readonly text: string;
}

/**
 * The op that reverts the events `ops[i]` for which `member(i)` holds, applied after all
 * of `ops`. `ops` is a contiguous stretch of a log (each applies after the previous);
 * members may be interleaved with anyone else's events. The result never deletes a
 * character that a non-member inserted, and may be empty (nothing of the group is left).
 */
export function planRevert(ops: readonly Op[], member: (index: number) => boolean): Op {
  const t = new MarkTracker();
  for (let i = 0; i < ops.length; i++) t.step(ops[i], member(i));
  return t.revert();
}

/**
 * The marks of one group, carried forward event by event. Usable incrementally: feed
 * it the log in order (`step`) and ask `revert()` at any point.
 */
export class MarkTracker {
  private marks: Mark[] = [];
  /** Added to every stored position: events wholly before the marks only move this. */
  private offset = 0;

  /** Whether the group still has anything to revert. */
  get empty(): boolean {
    return this.marks.length === 0;
  }

  /** Takes the next event of the log; `own` says whether it belongs to the group. */
  step(op: Op, own: boolean): void {
    if (op.length === 0) return;
    const marks = this.marks;
    if (!own) {
      if (marks.length === 0) return;
      // Fast paths: the op starts after the last mark, or ends before the first.
      const first = op[0];
      const start = typeof first === 'number' ? first : 0;
      const lastMark = marks[marks.length - 1];
      const hi = lastMark.pos + this.offset + (lastMark.range ? lastMark.text.length : 0);
      if (start > hi) return;
      let end = 0;
      let delta = 0;
      for (const c of op) {
        if (typeof c === 'number') end += c;
        else if (typeof c === 'string') delta += c.length;
        else {
          end += c.d.length;
          delta -= c.d.length;
        }
      }
      if (end <= marks[0].pos + this.offset) {
        this.offset += delta;
        return;
      }
    }
    this.walk(op, own);
  }

  /** The op that reverts the group now. */
  revert(): Op {
    const b = new OpBuilder();
    let at = 0;
    for (const m of this.marks) {
      const pos = m.pos + this.offset;
      b.retain(pos - at);
      at = pos;
      if (m.range) {
        b.delete(m.text);
        at += m.text.length;
      } else {
        b.insert(m.text);
      }
    }
    return b.done();
  }

  /**
   * The general case: one pass over the op and the marks together, building the new
   * mark list in output positions (offset folded in).
   */
  private walk(op: Op, own: boolean): void {
    const old = this.marks;
    const off = this.offset;
    const out: Mark[] = [];
    let k = 0; // next old mark
    let pin = 0; // input position
    let pout = 0; // output position
    // Old ranges are consumed piecewise: `cut` is how much of old[k] is already behind us.
    let cut = 0;
    // A pending anchor at pout being gathered across deletes (merged texts, in order).
    let pending: string | null = null;

    const markPos = (m: Mark): number => m.pos + off;
    const flush = (): void => {
      if (pending !== null && pending.length > 0) out.push({ pos: pout, range: false, text: pending });
      pending = null;
    };
    const pushRange = (pos: number, text: string): void => {
      const last = out[out.length - 1];
      if (last !== undefined && last.range && last.pos + last.text.length === pos) {
        out[out.length - 1] = { pos: last.pos, range: true, text: last.text + text };
      } else out.push({ pos, range: true, text });
    };

    for (const c of op) {
      if (typeof c === 'number') {
        // Keep [pin, pin + c): marks inside move by (pout - pin).
        const endIn = pin + c;
        while (k < old.length) {
          const m = old[k];
          const mp = markPos(m) + cut;
          if (!m.range) {
            // An anchor at endIn belongs to the next character: not ours yet.
            if (mp >= endIn) break;
            flush();
            out.push({ pos: pout + (mp - pin), range: false, text: m.text });
            k++;
            continue;
          }
          if (mp >= endIn) break;
          const rest = m.text.length - cut;
          const take = Math.min(rest, endIn - mp);
          flush();
          pushRange(pout + (mp - pin), m.text.slice(cut, cut + take));
          if (take === rest) {
            k++;
            cut = 0;
          } else {
            cut += take;
            break;
          }
        }
        if (c > 0) flush();
        pin = endIn;
        pout += c;
      } else if (typeof c === 'string') {
        // Insert at pin. A range running across pin is split; anchors at pin and ranges
        // starting at pin come after the new text. Nothing of old lies before pin here.
        flush();
        if (own) pushRange(pout, c);
        pout += c.length;
      } else {
        // Delete [pin, pin + len). Old ranges in it shrink; anchors in [pin, pin + len]
        // and, for the group's own delete, the foreign characters merge into one anchor.
        const len = c.d.length;
        const endIn = pin + len;
        let p = pin; // input position within the deleted text
        if (pending === null) pending = '';
        while (p < endIn || (k < old.length && !old[k].range && markPos(old[k]) === endIn)) {
          const m = k < old.length ? old[k] : undefined;
          const mp = m === undefined ? Infinity : markPos(m) + cut;
          if (m !== undefined && !m.range && mp <= p) {
            pending += m.text;
            k++;
            continue;
          }
          if (p >= endIn) break;
          if (m !== undefined && m.range && mp <= p) {
            // Our characters being deleted: they vanish, whoever deletes them.
            const rest = m.text.length - cut;
            const take = Math.min(rest, endIn - p);
            p += take;
            if (take === rest) {
              k++;
              cut = 0;
            } else cut += take;
            continue;
          }
          // Foreign characters up to the next mark (or the end of the delete).
          const to = Math.min(endIn, mp);
          if (own) pending += c.d.slice(p - pin, to - pin);
          p = to;
        }
        pin = endIn;
      }
    }
    flush();
    // Marks after the op's last component shift by its length change.
    const shift = pout - pin;
    if (k < old.length && cut > 0) {
      const m = old[k];
      pushRange(markPos(m) + cut + shift, m.text.slice(cut));
      k++;
    }
    for (; k < old.length; k++) {
      const m = old[k];
      const pos = markPos(m) + shift;
      if (m.range) pushRange(pos, m.text);
      else out.push({ pos, range: false, text: m.text });
    }
    this.marks = out;
    this.offset = 0;
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

/** What `revertEvents` needs of a log entry. */
export interface RevertableEvent {
  readonly id: EventId;
  readonly op: Op;
}

/**
 * The op that reverts the events named by `targets`, applied after the last of `log`
 * (a contiguous stretch of the log ending at the head, e.g. confirmed events then the
 * outbox). Null when a target is not in `log`: the stretch does not reach back far
 * enough, and the caller must fetch more history first.
 */
export function revertEvents(log: readonly RevertableEvent[], targets: readonly EventId[]): Op | null {
  if (targets.length === 0) return [];
  const want = new Map<string, Set<number>>();
  for (const t of targets) {
    let s = want.get(t.client);
    if (s === undefined) want.set(t.client, (s = new Set()));
    s.add(t.clientSeq);
  }
  // Find the earliest target, scanning back from the head; count what we find.
  let found = 0;
  let first = -1;
  for (let i = log.length - 1; i >= 0 && found < targets.length; i--) {
    const s = want.get(log[i].id.client);
    if (s !== undefined && s.has(log[i].id.clientSeq)) {
      found++;
      first = i;
    }
  }
  if (found < targets.length) return null;
  const t = new MarkTracker();
  for (let i = first; i < log.length; i++) {
    const e = log[i];
    const s = want.get(e.id.client);
    t.step(e.op, s !== undefined && s.has(e.id.clientSeq));
  }
  return t.revert();
}
