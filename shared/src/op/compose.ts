/**
 * Compose: one op that does what `a` then `b` do. Walks `b` over the output of `a`:
 * text `a` inserted and `b` deletes cancels out, so typing then backspacing composes to
 * nothing, and a run of keystrokes composes to a single insert (undo steps, diffs
 * between versions). Composition is exact for applying, not for transforming: see
 * transform.ts.
 */
import { type Op, OpBuilder, OpCursor } from './op.js';

/** `a` then `b` as one op. `b` must apply to the output of `a`. */
export function compose(a: Op, b: Op): Op {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new OpBuilder();
  const ca = new OpCursor(a);
  for (let k = 0; k < b.length; k++) {
    const c = b[k];
    if (typeof c === 'number') {
      let n = c;
      while (n > 0) {
        if (ca.done) {
          out.retain(n);
          break;
        }
        const piece = ca.take(n, 'output');
        out.push(piece);
        if (typeof piece === 'number') n -= piece;
        else if (typeof piece === 'string') n -= piece.length;
      }
    } else if (typeof c === 'string') {
      out.insert(c);
    } else {
      const text = c.d;
      let used = 0;
      while (used < text.length) {
        if (ca.done) {
          out.delete(text.slice(used));
          break;
        }
        const piece = ca.take(text.length - used, 'output');
        if (typeof piece === 'number') {
          out.delete(text.slice(used, used + piece));
          used += piece;
        } else if (typeof piece === 'string') {
          used += piece.length; // inserted by a, deleted by b: gone
        } else {
          out.push(piece); // a's delete passes through
        }
      }
    }
  }
  while (!ca.done) out.push(ca.take(Infinity, 'input'));
  return out.done();
}

/**
 * Compose a whole sequence in O(total × log n) by pairing neighbours level by level;
 * folding left would copy the growing result once per op.
 */
export function composeAll(ops: readonly Op[]): Op {
  if (ops.length === 0) return [];
  let level: Op[] = ops.slice();
  while (level.length > 1) {
    const next: Op[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(compose(level[i], level[i + 1]));
    if (level.length % 2 === 1) next.push(level[level.length - 1]);
    level = next;
  }
  return level[0];
}
