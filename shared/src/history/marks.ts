/**
 * Reverting a group of past events at the head of the log: the op behind undo, redo,
 * and the history panel's "revert this step" (docs/spec.md U1-U3, L6).
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
 * events that touch them are walked: a pass over 100,000 later ops does a few
 * comparisons each.
 *
 * What the group's author deletes and later brings back by undo is tracked too (as
 * placeholders with provenance); revert.ts explains why and drives it.
 */
import type { Op } from '../op/op.js';
import { OpBuilder } from '../op/op.js';
import { summarizeInto } from './op-summary.js';


/** Where a deleted unit came from: units `off`.. of the deleted text of event `ev` (a log index). */
export interface Prov {
  readonly ev: number;
  readonly off: number;
  readonly len: number;
}

/**
 * What sits in a gap: text the group deleted, to be restored (`r`, with provenance), or a
 * placeholder for one unit deleted by one of the author's events that a later undo or
 * redo will bring back (`ph`: its provenance key; `ghost`: it was the group's own).
 * Placeholders keep the order of everything deleted in the gap, so revived units land
 * on the right side of the group's restorable text.
 */
type Item = { readonly r: string; readonly prov: readonly Prov[] } | { readonly ph: number; readonly ghost: boolean };

/** A mark on the current text: the group's characters at `pos` (range) or a gap's items (anchor). */
type Mark =
  | { pos: number; readonly range: true; readonly text: string }
  | { pos: number; readonly range: false; readonly items: readonly Item[] };

/** How a non-group event of the group's author affects the group beyond moving marks. */
interface StepExtras {
  /** Its deletes leave placeholders (a later undo or redo brings them back). */
  readonly placeholders: boolean;
  /** Per inserted unit (over all its inserts, in order): the provenance key it revives, or -1. */
  readonly revives?: readonly number[];
}

export const provKey = (ev: number, off: number): number => ev * 0x100000 + off;

function pushItems(into: Item[], items: readonly Item[]): void {
  for (const it of items) {
    const last = into[into.length - 1];
    if ('r' in it && last !== undefined && 'r' in last) into[into.length - 1] = { r: last.r + it.r, prov: [...last.prov, ...it.prov] };
    else into.push(it);
  }
}

/**
 * The marks of one group, carried forward event by event. Feed it the log in order
 * (`step`) and ask `revert()` at any point.
 */
/** Scratch for one op's summary in `step` (no allocation per event). */
const ONE_START = new Int32Array(1);
const ONE_END = new Int32Array(1);
const ONE_DELTA = new Int32Array(1);

export class MarkTracker {
  private marks: Mark[] = [];
  /** Added to every stored position: events wholly before the marks only move this. */
  private offset = 0;
  /** Log indices of events whose deletes left placeholders here. */
  readonly placeholderEvents = new Set<number>();

  /** Whether the group still has anything to revert. */
  get empty(): boolean {
    return this.marks.length === 0;
  }

  /**
   * Takes the next event of the log; `own` says whether it belongs to the group. `ev`
   * is its index in the log (for provenance); `extras` as in StepExtras.
   */
  step(op: Op, own: boolean, ev = -1, extras?: StepExtras): void {
    if (op.length === 0) return;
    if (!own && extras === undefined) {
      // The fast paths, from the op's summary (one definition, op-summary.ts).
      summarizeInto(op, 0, ONE_START, ONE_END, ONE_DELTA);
      if (this.pass(ONE_START[0], ONE_END[0], ONE_DELTA[0])) return;
    }
    this.walk(op, own, ev, extras);
  }

  /**
   * `step`'s fast paths for an event of someone else's, from its summary (op-summary.ts):
   * true when the event was skipped or only moved the marks, false when it touches them
   * and needs the full `step`.
   */
  pass(start: number, end: number, delta: number): boolean {
    const marks = this.marks;
    if (marks.length === 0) return true;
    const last = marks[marks.length - 1];
    if (start > last.pos + this.offset + (last.range ? last.text.length : 0)) return true;
    if (end <= marks[0].pos + this.offset) {
      this.offset += delta;
      return true;
    }
    return false;
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
        for (const it of m.items) if ('r' in it) b.insert(it.r);
      }
    }
    return b.done();
  }

  /** The units the revert would put back, in order, each with its provenance. */
  restored(): { text: string; prov: Prov[] } {
    let text = '';
    const prov: Prov[] = [];
    for (const m of this.marks) {
      if (m.range) continue;
      for (const it of m.items) {
        if (!('r' in it)) continue;
        text += it.r;
        for (const p of it.prov) prov.push(p);
      }
    }
    return { text, prov };
  }

  /**
   * The general case: one pass over the op and the marks together, building the new
   * mark list in output positions (offset folded in).
   */
  private walk(op: Op, own: boolean, ev: number, extras: StepExtras | undefined): void {
    const old = this.marks;
    const off = this.offset;
    const out: Mark[] = [];
    const revives = extras?.revives;
    const placeholders = extras?.placeholders === true;
    let k = 0; // next old mark
    let pin = 0; // input position
    let pout = 0; // output position
    let insOff = 0; // units of the op's inserts seen so far
    let delOff = 0; // units of the op's deletes seen so far
    // Old ranges are consumed piecewise: `cut` is how much of old[k] is already behind us.
    let cut = 0;
    // The items of a gap at pout being gathered across a delete, in order.
    let pending: Item[] | null = null;

    const markPos = (m: Mark): number => m.pos + off;
    const pushAnchor = (pos: number, items: readonly Item[]): void => {
      if (items.length === 0) return;
      const last = out[out.length - 1];
      if (last !== undefined && !last.range && last.pos === pos) {
        const merged = last.items.slice();
        pushItems(merged, items);
        out[out.length - 1] = { pos, range: false, items: merged };
      } else out.push({ pos, range: false, items });
    };
    // Revived units inserted at `at`, waiting for their gap to be complete.
    let revived: { at: number; text: string; keys: readonly number[] } | null = null;
    const flush = (): void => {
      if (revived !== null) {
        placeRevived(revived, pending ?? []);
        revived = null;
      } else if (pending !== null) pushAnchor(pout, pending);
      pending = null;
    };
    // Each revived unit goes where its placeholder is in the gap; a unit without one goes
    // before the rest of the gap, as a fresh insert would.
    const placeRevived = (r: { at: number; text: string; keys: readonly number[] }, gap: readonly Item[]): void => {
      let g = 0;
      for (let i = 0; i < r.text.length; i++) {
        const key = r.keys[i];
        let j = -1;
        if (key >= 0) {
          for (let x = g; x < gap.length; x++) {
            const it = gap[x];
            if ('ph' in it && it.ph === key) {
              j = x;
              break;
            }
          }
        }
        if (j < 0) continue;
        pushAnchor(r.at + i, gap.slice(g, j));
        if ((gap[j] as { ghost: boolean }).ghost) pushRange(r.at + i, r.text[i]);
        g = j + 1;
      }
      pushAnchor(r.at + r.text.length, gap.slice(g));
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
            pushAnchor(pout + (mp - pin), m.items);
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
        // Insert at pin. A range running across pin is split; a fresh insert goes before
        // the gap's items (an anchor belongs to the character after it); a revived unit
        // goes where its placeholder is.
        flush();
        if (own) {
          pushRange(pout, c);
        } else if (revives !== undefined) {
          // The gap here, plus whatever a delete right after this insert merges into it
          // (canonical ops put the insert first), is where the revived units go; they
          // are placed when the gap is complete (flush).
          pending = [];
          while (k < old.length && !old[k].range && markPos(old[k]) === pin) {
            pushItems(pending, (old[k] as { items: readonly Item[] }).items);
            k++;
          }
          revived = { at: pout, text: c, keys: revives.slice(insOff, insOff + c.length) };
        }
        insOff += c.length;
        pout += c.length;
      } else {
        // Delete [pin, pin + len). Ranges in it shrink; the gaps in [pin, pin + len]
        // merge, in order, with what the delete leaves behind: the group's own delete
        // leaves the foreign text to restore, the author's revivable delete leaves
        // placeholders.
        const len = c.d.length;
        const endIn = pin + len;
        let p = pin; // input position within the deleted text
        if (pending === null) pending = [];
        const gap: Item[] = pending;
        while (p < endIn || (k < old.length && !old[k].range && markPos(old[k]) === endIn)) {
          const m = k < old.length ? old[k] : undefined;
          const mp = m === undefined ? Infinity : markPos(m) + cut;
          if (m !== undefined && !m.range && mp <= p) {
            pushItems(gap, m.items);
            k++;
            continue;
          }
          if (p >= endIn) break;
          if (m !== undefined && m.range && mp <= p) {
            // The group's characters being deleted: they vanish, unless a later undo or
            // redo of the author will bring them back.
            const rest = m.text.length - cut;
            const take = Math.min(rest, endIn - p);
            if (placeholders) {
              const from = delOff + (p - pin);
              for (let u = 0; u < take; u++) gap.push({ ph: provKey(ev, from + u), ghost: true });
              this.placeholderEvents.add(ev);
            }
            p += take;
            if (take === rest) {
              k++;
              cut = 0;
            } else cut += take;
            continue;
          }
          // Foreign characters up to the next mark (or the end of the delete).
          const to = Math.min(endIn, mp);
          if (own) {
            pushItems(gap, [{ r: c.d.slice(p - pin, to - pin), prov: [{ ev, off: delOff + (p - pin), len: to - p }] }]);
          } else if (placeholders) {
            for (let u = p; u < to; u++) gap.push({ ph: provKey(ev, delOff + (u - pin)), ghost: false });
            this.placeholderEvents.add(ev);
          }
          p = to;
        }
        delOff += len;
        pin = endIn;
      }
    }
    flush();
    // Marks after the op's last component shift by its length change.
    const shift = pout - pin;
    if (k < old.length && cut > 0) {
      const m = old[k] as { text: string };
      pushRange(markPos(old[k]) + cut + shift, m.text.slice(cut));
      k++;
    }
    for (; k < old.length; k++) {
      const m = old[k];
      const pos = markPos(m) + shift;
      if (m.range) pushRange(pos, m.text);
      else pushAnchor(pos, m.items);
    }
    this.marks = out;
    this.offset = 0;
  }
}

/**
 * The op that reverts the events `ops[i]` for which `member(i)` holds, applied after all
 * of `ops`. `ops` is a contiguous stretch of a log (each applies after the previous);
 * members may be interleaved with anyone else's events. The result never deletes a
 * character that a non-member inserted, and may be empty (nothing of the group is left).
 * It knows nothing of undo events inside the stretch; `revertEvents` does.
 */
export function planRevert(ops: readonly Op[], member: (index: number) => boolean): Op {
  const t = new MarkTracker();
  for (let i = 0; i < ops.length; i++) t.step(ops[i], member(i), i);
  return t.revert();
}

