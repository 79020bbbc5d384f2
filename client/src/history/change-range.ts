/**
 * Where an event changed the text, in the text after it (issue 16): from the first to the
 * last position its op inserted at or deleted at. The history view marks those lines and
 * scrolls them into view, so scrubbing shows each version's change, not just its text.
 * Pure: one pass over the op's components.
 */
import type { Op } from '../../../shared/src/index.js';

/** [from, to) in the new text: what was inserted, or an empty range where text was deleted. Null for an empty op. */
export function changeRange(op: Op): { from: number; to: number } | null {
  let pos = 0;
  let from = -1;
  let to = -1;
  for (const c of op) {
    if (typeof c === 'number') {
      pos += c;
    } else if (typeof c === 'string') {
      if (from < 0) from = pos;
      pos += c.length;
      to = pos;
    } else {
      if (from < 0) from = pos;
      to = Math.max(to, pos);
    }
  }
  return from < 0 ? null : { from, to: Math.max(from, to) };
}
