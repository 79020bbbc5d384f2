/**
 * Transform: given two ops made on the same document, rewrite one so that it applies
 * after the other and means the same thing. For any document d and ops a, b:
 *
 *     apply(apply(d, b), transform(a, b, side)) === apply(apply(d, a), transform(b, a, flip(side)))
 *
 * (TP1). When both insert at one position, `side` decides whose text comes first:
 * `'left'` puts a's insert before b's. In this project the rule is fixed by the log: an
 * op the server has not sequenced yet is `'left'` of one it has (sync/rebase.ts says
 * why), so every replica breaks every tie the same way from the log alone.
 *
 * Deletes carry their text, so the transformed delete is cut to the part the other op
 * did not already delete, and split around text the other op inserted inside it: an
 * edit never removes text its author did not see.
 *
 * Transforming over a composition is NOT always the same as transforming step by step:
 * a composition forgets on which side of a deleted character an insert was made, which
 * decides ties (the op tests keep a counterexample). Sync therefore never transforms
 * over composed ops (sync/rebase.ts).
 */
import { type Component, type Op, OpBuilder, OpCursor } from './op.js';

export type Side = 'left' | 'right';

export const flip = (s: Side): Side => (s === 'left' ? 'right' : 'left');

/** `a` rewritten to apply after `b`; see the essay above for `side`. */
export function transform(a: Op, b: Op, side: Side): Op {
  if (a.length === 0 || b.length === 0) return a;
  const out = new OpBuilder();
  const ca = new OpCursor(a);
  for (let k = 0; k < b.length; k++) {
    const c: Component = b[k];
    if (typeof c === 'number') {
      // b keeps c units: a's pieces over them pass through unchanged.
      let n = c;
      while (n > 0) {
        if (ca.done) break;
        const piece = ca.take(n, 'input');
        out.push(piece);
        if (typeof piece === 'number') n -= piece;
        else if (typeof piece === 'object') n -= piece.d.length;
      }
    } else if (typeof c === 'string') {
      // b inserts here. On a tie, the left op's insert goes first.
      if (side === 'left' && ca.peekKind() === 'insert') out.push(ca.take(Infinity, 'input'));
      out.retain(c.length);
    } else {
      // b deletes c.d: a keeps its inserts here, drops what b already removed.
      let n = c.d.length;
      while (n > 0) {
        if (ca.done) break;
        const piece = ca.take(n, 'input');
        if (typeof piece === 'number') n -= piece;
        else if (typeof piece === 'object') n -= piece.d.length;
        else out.insert(piece);
      }
    }
  }
  while (!ca.done) out.push(ca.take(Infinity, 'input'));
  return out.done();
}

/** Both sides of a transform at once: `[a after b, b after a]`, with `a` on `side`. */
export function transformPair(a: Op, b: Op, side: Side): [Op, Op] {
  return [transform(a, b, side), transform(b, a, flip(side))];
}

/**
 * Where a caret at `pos` goes when `op` is applied. `assoc` < 0 keeps it before text
 * inserted exactly at pos, otherwise after. Used for carets, selections and undo.
 */
export function transformPosition(pos: number, op: Op, assoc = 1): number {
  let inPos = 0; // position in the input document
  let outPos = 0; // position in the output document
  for (const c of op) {
    if (inPos > pos) break;
    if (typeof c === 'number') {
      if (inPos + c > pos) return outPos + (pos - inPos);
      inPos += c;
      outPos += c;
    } else if (typeof c === 'string') {
      if (inPos === pos && assoc < 0) return outPos;
      outPos += c.length;
    } else {
      const end = inPos + c.d.length;
      if (pos < end) return outPos;
      inPos = end;
    }
  }
  return outPos + (pos - inPos);
}
