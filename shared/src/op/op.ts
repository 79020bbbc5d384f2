/**
 * A text operation: one pass over the document, left to right, in UTF-16 code units
 * (what the DOM, CodeMirror and `String.prototype.slice` count).
 *
 * An op is a list of components:
 *   - a positive integer `n`: keep the next n units;
 *   - a non-empty string `s`: insert s here;
 *   - `{ d: s }` with s non-empty: delete the next s.length units, which must read s.
 *
 * The text of a delete travels with it, so every op can be inverted from itself alone
 * (docs/spec.md L6), a log can be replayed backwards, and a peer cannot make the server
 * delete something other than what it saw without the mismatch being caught.
 *
 * Ops are sparse: after the last component the rest of the document is kept, so a
 * keystroke at position 90,000 is `[90000, "x"]`, whatever the document length.
 *
 * Canonical form, which every function here produces and which makes ops comparable
 * with deep equality: no empty component, no two neighbours of the same kind, no
 * trailing retain, and where a delete and an insert meet with nothing kept between
 * them, the insert comes first (so a replacement is `[pos, "new", { d: "old" }]`). The format leaves room for formatting: a component
 * can later grow attributes (`{ r: n, a }`, `{ i: s, a }`) without changing these.
 */

/** Delete exactly this text at the current position. */
export interface Delete {
  readonly d: string;
}

/** Retain (positive integer), insert (non-empty string) or delete. */
export type Component = number | string | Delete;

/** A canonical text operation; see the essay above. Immutable once built. */
export type Op = readonly Component[];

export const isRetain = (c: Component): c is number => typeof c === 'number';
export const isInsert = (c: Component): c is string => typeof c === 'string';
export const isDelete = (c: Component): c is Delete => typeof c === 'object';

/** Input units a component consumes (retain and delete) */
export function inputLen(c: Component): number {
  return typeof c === 'number' ? c : typeof c === 'string' ? 0 : c.d.length;
}

/** Output units a component produces (retain and insert) */
export function outputLen(c: Component): number {
  return typeof c === 'number' ? c : typeof c === 'string' ? c.length : 0;
}

/**
 * Builds canonical ops by appending pieces; merges neighbours and moves an insert in
 * front of a delete it follows (both sit at the same place, the order only matters
 * for comparing ops and for ties, see transform.ts).
 */
export class OpBuilder {
  private readonly out: Component[] = [];

  retain(n: number): this {
    if (n <= 0) return this;
    const out = this.out;
    const last = out.length - 1;
    if (last >= 0 && typeof out[last] === 'number') out[last] = (out[last] as number) + n;
    else out.push(n);
    return this;
  }

  insert(s: string): this {
    if (s.length === 0) return this;
    const out = this.out;
    const last = out.length - 1;
    const l = last >= 0 ? out[last] : undefined;
    if (typeof l === 'string') {
      out[last] = l + s;
    } else if (typeof l === 'object') {
      // Canonical order: insert before delete. Merge with an insert in front of the delete.
      const b = last >= 1 ? out[last - 1] : undefined;
      if (typeof b === 'string') out[last - 1] = b + s;
      else out.splice(last, 0, s);
    } else {
      out.push(s);
    }
    return this;
  }

  delete(s: string): this {
    if (s.length === 0) return this;
    const out = this.out;
    const last = out.length - 1;
    const l = last >= 0 ? out[last] : undefined;
    if (typeof l === 'object') out[last] = { d: l.d + s };
    else out.push({ d: s });
    return this;
  }

  push(c: Component): this {
    if (typeof c === 'number') return this.retain(c);
    if (typeof c === 'string') return this.insert(c);
    return this.delete(c.d);
  }

  /** The canonical op; the builder must not be used afterwards. */
  done(): Op {
    const out = this.out;
    if (out.length > 0 && typeof out[out.length - 1] === 'number') out.pop();
    return out;
  }
}

/** Canonical form of any list of components (zero-length ones are dropped). */
export function normalize(components: readonly Component[]): Op {
  const b = new OpBuilder();
  for (const c of components) b.push(c);
  return b.done();
}

/** The shortest document the op can apply to: units retained plus units deleted. */
export function minDocLength(op: Op): number {
  let n = 0;
  for (const c of op) n += inputLen(c);
  return n;
}

/** How much the op changes a document's length. */
export function lengthDelta(op: Op): number {
  let n = 0;
  for (const c of op) {
    if (typeof c === 'string') n += c.length;
    else if (typeof c === 'object') n -= c.d.length;
  }
  return n;
}

/** The op that undoes `op`: inserts become deletes of the same text and back (L6). */
export function invert(op: Op): Op {
  const b = new OpBuilder();
  for (const c of op) {
    if (typeof c === 'number') b.retain(c);
    else if (typeof c === 'string') b.delete(c);
    else b.insert(c.d);
  }
  return b.done();
}

/** An op that changes nothing. */
export function isNoop(op: Op): boolean {
  return op.length === 0;
}

/** `[pos, delCount, ins]` as in the traces, with the deleted text read from the document. */
export function opFromSplice(pos: number, deleted: string, inserted: string): Op {
  return new OpBuilder().retain(pos).delete(deleted).insert(inserted).done();
}

/** Structural equality of canonical ops. */
export function opsEqual(a: Op, b: Op): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (typeof x !== typeof y) return false;
    if (typeof x === 'object') {
      if (x.d !== (y as Delete).d) return false;
    } else if (x !== y) return false;
  }
  return true;
}

/**
 * Walks an op in pieces. `take(n, by)` returns the next piece, cut so that it uses at
 * most n units of input (`by = 'input'`: inserts come whole, they use none) or of
 * output (`by = 'output'`: deletes come whole). Transform walks by input, compose by
 * output; both are single linear passes.
 */
export class OpCursor {
  private i = 0;
  private offset = 0;

  constructor(private readonly op: Op) {}

  get done(): boolean {
    return this.i >= this.op.length;
  }

  /** The kind of the next piece without taking it; `retain` past the end (implicit keep). */
  peekKind(): 'retain' | 'insert' | 'delete' {
    const c = this.op[this.i];
    if (c === undefined || typeof c === 'number') return 'retain';
    return typeof c === 'string' ? 'insert' : 'delete';
  }

  take(n: number, by: 'input' | 'output'): Component {
    const c = this.op[this.i];
    if (c === undefined) return n; // the implicit trailing retain
    if (typeof c === 'number') {
      const left = c - this.offset;
      if (left <= n) {
        this.i++;
        this.offset = 0;
        return left;
      }
      this.offset += n;
      return n;
    }
    if (typeof c === 'string') {
      if (by === 'input') return this.rest(c);
      return this.cutString(c, n) as string;
    }
    if (by === 'output') return { d: this.rest(c.d) };
    return { d: this.cutString(c.d, n) };
  }

  private rest(s: string): string {
    const piece = this.offset === 0 ? s : s.slice(this.offset);
    this.i++;
    this.offset = 0;
    return piece;
  }

  private cutString(s: string, n: number): string {
    const left = s.length - this.offset;
    if (left <= n) return this.rest(s);
    const piece = s.slice(this.offset, this.offset + n);
    this.offset += n;
    return piece;
  }
}
