/**
 * Applying an op to a plain string: the reference semantics that the rope and the
 * tests are checked against, and the validity check shared by every apply.
 */
import type { Op } from './op.js';
import { type Result, ok, err } from '../result.js';

export type ApplyErrorCode = 'op-out-of-range' | 'op-delete-mismatch';

/**
 * Checks `op` against a document without changing it. `read(start, end)` returns the
 * document's text in that range (a string slice or a rope slice).
 */
export function checkOp(
  op: Op,
  docLength: number,
  read: (start: number, end: number) => string,
): Result<null> {
  let pos = 0;
  for (let i = 0; i < op.length; i++) {
    const c = op[i];
    if (typeof c === 'number') {
      pos += c;
      if (pos > docLength) return outOfRange(pos, docLength);
    } else if (typeof c === 'object') {
      const end = pos + c.d.length;
      if (end > docLength) return outOfRange(end, docLength);
      if (read(pos, end) !== c.d) {
        return err(
          'op-delete-mismatch',
          `the op deletes ${JSON.stringify(clip(c.d))} at ${pos}, but the document has ${JSON.stringify(clip(read(pos, end)))} there`,
        );
      }
      pos = end;
    }
  }
  return ok(null);
}

function outOfRange(reach: number, docLength: number) {
  return err('op-out-of-range', `the op reaches position ${reach}, but the document is ${docLength} long`);
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** The reference apply: the new string, or why the op does not fit `doc`. */
export function applyToString(doc: string, op: Op): Result<string> {
  const checked = checkOp(op, doc.length, (a, b) => doc.slice(a, b));
  if (!checked.ok) return checked;
  const parts: string[] = [];
  let pos = 0;
  for (const c of op) {
    if (typeof c === 'number') {
      parts.push(doc.slice(pos, pos + c));
      pos += c;
    } else if (typeof c === 'string') {
      parts.push(c);
    } else {
      pos += c.d.length;
    }
  }
  parts.push(doc.slice(pos));
  return ok(parts.join(''));
}
