/**
 * Comparing two versions: the text at the later one with what changed since the earlier
 * one marked, each insertion and deletion with the author who made it.
 *
 * It follows the characters through the events between the two versions (not a diff of
 * the two texts, which would guess): start from the text at the earlier version as
 * `same` segments; an insert adds an `ins` segment by the event's author; a delete turns
 * the `same` characters it covers into `del` (by the event's author) and drops `ins`
 * characters outright (written and removed inside the range: not a change between the two).
 * Cost: segments × events, so it is capped at MAX_COMPARE_EVENTS.
 */
import type { AuthorRun, DocEvent } from '../../../shared/src/index.js';

export const MAX_COMPARE_EVENTS = 20_000;

export interface Segment {
  readonly text: string;
  readonly kind: 'same' | 'ins' | 'del';
  /** For `same`: who wrote it; for `ins`/`del`: who inserted / deleted it. */
  readonly author: string;
}

/** The marked text from version a's text (`text`, `runs`) through `events` (a+1..b). */
export function compareVersions(text: string, runs: readonly AuthorRun[], events: readonly DocEvent[]): Segment[] {
  let segs: Segment[] = [];
  let off = 0;
  for (const r of runs) {
    segs.push({ text: text.slice(off, off + r.length), kind: 'same', author: r.author });
    off += r.length;
  }
  for (const e of events) segs = applyToSegments(segs, e);
  return merge(segs);
}

function applyToSegments(segs: readonly Segment[], e: DocEvent): Segment[] {
  const out: Segment[] = [];
  let i = 0;
  let inSeg = 0; // units of segs[i] already consumed
  // Moves `n` visible units from the input to the output, transformed by `f`.
  const take = (n: number, f: (s: Segment, t: string) => Segment | null) => {
    while (n > 0) {
      const s = segs[i];
      if (s === undefined) throw new Error('compare: the op reaches past the text');
      if (s.kind === 'del') {
        out.push(s);
        i++;
        inSeg = 0;
        continue;
      }
      const k = Math.min(n, s.text.length - inSeg);
      const piece = s.text.slice(inSeg, inSeg + k);
      const r = f(s, piece);
      if (r !== null) out.push(r);
      n -= k;
      inSeg += k;
      if (inSeg === s.text.length) {
        i++;
        inSeg = 0;
      }
    }
  };
  for (const c of e.op) {
    if (typeof c === 'number') take(c, (s, t) => ({ ...s, text: t }));
    else if (typeof c === 'string') {
      if (c.length > 0) out.push({ text: c, kind: 'ins', author: e.author });
    } else take(c.d.length, (s, t) => (s.kind === 'ins' ? null : { text: t, kind: 'del', author: e.author }));
  }
  if (inSeg > 0) {
    out.push({ ...segs[i], text: segs[i].text.slice(inSeg) });
    i++;
  }
  for (; i < segs.length; i++) out.push(segs[i]);
  return out;
}

function merge(segs: readonly Segment[]): Segment[] {
  const out: Segment[] = [];
  for (const s of segs) {
    if (s.text.length === 0) continue;
    const last = out[out.length - 1];
    if (last !== undefined && last.kind === s.kind && last.author === s.author) out[out.length - 1] = { ...last, text: last.text + s.text };
    else out.push(s);
  }
  return out;
}
