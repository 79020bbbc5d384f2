/**
 * The document text: a B-tree of string leaves, each leaf also holding who wrote each
 * of its characters (flat author runs, see authorship.ts).
 *
 * Why this shape. Replaying a keystroke log is millions of tiny edits at positions
 * that move slowly: a B-tree gives O(log n) edits at any size (10 MB and up), and a
 * cursor cache (the last leaf touched and where it starts) lets a run of nearby
 * keystrokes skip the descent entirely, so the common case costs one short string
 * splice plus a walk up three or four parents to fix lengths. Leaves are small
 * (LEAF_MAX units) so the splice stays cheap; inner nodes hold up to NODE_MAX children.
 *
 * Every node knows its parent, so an edit fixes lengths bottom-up without a path stack;
 * the price is that structural changes (split, removal) invalidate the cursor cache.
 * Leaves that become empty are removed; small leaves are not merged, which costs a
 * little space after heavy deletion and keeps deletes simple.
 */
import { type FlatRuns, type AuthorRun, runsInsert, runsDelete, runsSplit, runsAppend, pushRun } from './authorship.js';
import { type Op } from '../op/op.js';
import { checkOp } from '../op/apply.js';
import { type Result, ok } from '../result.js';

const LEAF_MAX = 256;
const LEAF_FILL = 192; // how full bulk-built and split leaves are
const NODE_MAX = 32;

interface Leaf {
  readonly leaf: true;
  text: string;
  runs: FlatRuns;
  len: number;
  parent: Inner | null;
}

interface Inner {
  readonly leaf: false;
  children: Node[];
  len: number;
  parent: Inner | null;
}

type Node = Leaf | Inner;

function newLeaf(text: string, runs: FlatRuns): Leaf {
  return { leaf: true, text, runs, len: text.length, parent: null };
}

function newInner(children: Node[]): Inner {
  const n: Inner = { leaf: false, children, len: 0, parent: null };
  for (const c of children) {
    c.parent = n;
    n.len += c.len;
  }
  return n;
}

/** The text of a document plus its authorship, editable in O(log n). */
export class Rope {
  private root: Inner;
  private readonly authors: string[] = [];
  private readonly authorIds = new Map<string, number>();
  // Cursor cache: the last leaf touched and the position where it starts.
  private cLeaf: Leaf | null = null;
  private cStart = 0;

  private constructor(root: Inner) {
    this.root = root;
  }

  static empty(): Rope {
    return new Rope(newInner([]));
  }

  /** A rope holding `text`, all of it by `author`. */
  static from(text: string, author = ''): Rope {
    return Rope.fromRuns(text, text.length > 0 ? [{ author, length: text.length }] : []);
  }

  /** A rope from text and runs that cover it exactly (checked by the caller, e.g. checkpoint decode). */
  static fromRuns(text: string, runs: readonly AuthorRun[]): Rope {
    const rope = Rope.empty();
    const flat: FlatRuns = [];
    for (const r of runs) runsAppend(flat, [rope.authorId(r.author), r.length]);
    rope.root = buildTree(text, flat);
    return rope;
  }

  get length(): number {
    return this.root.len;
  }

  /** The small integer this rope uses for `author` (interned on first use). */
  authorId(author: string): number {
    let id = this.authorIds.get(author);
    if (id === undefined) {
      id = this.authors.length;
      this.authors.push(author);
      this.authorIds.set(author, id);
    }
    return id;
  }

  toString(): string {
    const parts: string[] = [];
    this.eachLeaf((l) => {
      parts.push(l.text);
    });
    return parts.join('');
  }

  /** The text in [start, end), clamped to the document. */
  slice(start: number, end: number): string {
    start = Math.max(0, start);
    end = Math.min(this.length, end);
    if (end <= start) return '';
    const parts: string[] = [];
    this.eachLeaf((l, pos) => {
      parts.push(l.text.slice(Math.max(0, start - pos), Math.min(l.len, end - pos)));
      return pos + l.len < end;
    }, start);
    return parts.join('');
  }

  /** Who wrote each character, as merged runs covering the whole text. */
  authorship(): AuthorRun[] {
    const out: AuthorRun[] = [];
    this.eachLeaf((l) => {
      for (let i = 0; i < l.runs.length; i += 2) pushRun(out, this.authors[l.runs[i]], l.runs[i + 1]);
    });
    return out;
  }

  /** Applies an untrusted op: checks it first, so a bad op changes nothing. */
  apply(op: Op, author: string): Result<null> {
    const checked = checkOp(op, this.length, (a, b) => this.slice(a, b));
    if (!checked.ok) return checked;
    this.applyTrusted(op, this.authorId(author));
    return ok(null);
  }

  /** Applies an op known to fit (from the log, or already checked). */
  applyTrusted(op: Op, authorId: number): void {
    let pos = 0;
    for (let i = 0; i < op.length; i++) {
      const c = op[i];
      if (typeof c === 'number') pos += c;
      else if (typeof c === 'string') {
        this.insert(pos, c, authorId);
        pos += c.length;
      } else this.delete(pos, c.d.length);
    }
  }

  insert(pos: number, text: string, authorId: number): void {
    const n = text.length;
    if (n === 0) return;
    if (pos < 0 || pos > this.root.len) throw new RangeError(`insert at ${pos} outside 0..${this.root.len}`);
    const leaf = this.findLeaf(pos, true);
    const off = pos - this.cStart;
    if (leaf.len + n <= LEAF_MAX) {
      const t = leaf.text;
      leaf.text = off === t.length ? t + text : t.slice(0, off) + text + t.slice(off);
      runsInsert(leaf.runs, off, n, authorId);
      leaf.len += n;
      for (let p: Inner | null = leaf.parent; p !== null; p = p.parent) p.len += n;
      return;
    }
    // Too big for one leaf: rebuild this leaf's content as several leaves.
    const tail = runsSplit(leaf.runs, off);
    const runs = leaf.runs;
    runsAppend(runs, [authorId, n]);
    runsAppend(runs, tail);
    const all = leaf.text.slice(0, off) + text + leaf.text.slice(off);
    this.replaceLeaf(leaf, chopLeaves(all, runs));
  }

  delete(pos: number, n: number): void {
    if (n <= 0) return;
    if (pos < 0 || pos + n > this.root.len) throw new RangeError(`delete ${pos}+${n} outside 0..${this.root.len}`);
    while (n > 0) {
      const leaf = this.findLeaf(pos, false);
      const off = pos - this.cStart;
      const k = Math.min(n, leaf.len - off);
      const t = leaf.text;
      leaf.text = t.slice(0, off) + t.slice(off + k);
      runsDelete(leaf.runs, off, k);
      leaf.len -= k;
      for (let p: Inner | null = leaf.parent; p !== null; p = p.parent) p.len -= k;
      if (leaf.len === 0) this.removeLeaf(leaf);
      n -= k;
    }
  }

  /** Who wrote each character in [start, end). */
  authorshipRange(start: number, end: number): AuthorRun[] {
    const out: AuthorRun[] = [];
    if (end <= start) return out;
    this.eachLeaf((l, pos) => {
      let acc = pos;
      for (let i = 0; i < l.runs.length; i += 2) {
        const a = Math.max(acc, start);
        const b = Math.min(acc + l.runs[i + 1], end);
        if (b > a) pushRun(out, this.authors[l.runs[i]], b - a);
        acc += l.runs[i + 1];
      }
      return pos + l.len < end;
    }, start);
    return out;
  }

  /**
   * Applies a trusted op and returns what `revert` needs to take it back exactly,
   * authorship of the deleted text included.
   */
  applyRevertible(op: Op, authorId: number): AuthorRun[][] {
    const deleted: AuthorRun[][] = [];
    let pos = 0;
    for (const c of op) {
      if (typeof c === 'number') pos += c;
      else if (typeof c === 'string') {
        this.insert(pos, c, authorId);
        pos += c.length;
      } else {
        deleted.push(this.authorshipRange(pos, pos + c.d.length));
        this.delete(pos, c.d.length);
      }
    }
    return deleted;
  }

  /** Takes back `applyRevertible(op)`, which must be the last change made. */
  revert(op: Op, deleted: AuthorRun[][]): void {
    let pos = 0;
    let k = 0;
    for (const c of op) {
      if (typeof c === 'number') pos += c;
      else if (typeof c === 'string') this.delete(pos, c.length);
      else {
        let off = 0;
        for (const r of deleted[k++]) {
          this.insert(pos, c.d.slice(off, off + r.length), this.authorId(r.author));
          pos += r.length;
          off += r.length;
        }
      }
    }
  }

  /** An independent copy (leaf strings are shared, they are immutable). */
  clone(): Rope {
    const copy = new Rope(cloneNode(this.root) as Inner);
    for (const a of this.authors) copy.authorId(a);
    return copy;
  }

  /** The author index → name table (indices as used by `applyTrusted`). */
  authorName(id: number): string {
    return this.authors[id];
  }

  /**
   * Finds the leaf holding `pos` and sets the cursor cache to it. With `atEnd`, a
   * position on a leaf boundary belongs to the leaf before it (typing appends);
   * otherwise to the leaf after it (deleting starts there).
   */
  private findLeaf(pos: number, atEnd: boolean): Leaf {
    const c = this.cLeaf;
    if (c !== null) {
      const rel = pos - this.cStart;
      if (rel >= 0 && (atEnd ? rel <= c.len : rel < c.len)) return c;
    }
    let node: Node = this.root;
    let start = 0;
    while (!node.leaf) {
      const kids: Node[] = node.children;
      if (kids.length === 0) {
        // Empty document: give it its first leaf.
        const l = newLeaf('', []);
        l.parent = node;
        kids.push(l);
        this.cLeaf = l;
        this.cStart = 0;
        return l;
      }
      let i = 0;
      for (; i < kids.length - 1; i++) {
        const len = kids[i].len;
        if (atEnd ? pos - start <= len : pos - start < len) break;
        start += len;
      }
      node = kids[i];
    }
    this.cLeaf = node;
    this.cStart = start;
    return node;
  }

  private replaceLeaf(leaf: Leaf, leaves: Leaf[]): void {
    this.cLeaf = null;
    const parent = leaf.parent as Inner;
    const i = parent.children.indexOf(leaf);
    parent.children.splice(i, 1, ...leaves);
    let delta = -leaf.len;
    for (const l of leaves) {
      l.parent = parent;
      delta += l.len;
    }
    for (let p: Inner | null = parent; p !== null; p = p.parent) p.len += delta;
    this.fixOverflow(parent);
  }

  /** Splits inner nodes that grew past NODE_MAX, up to a new root if needed. */
  private fixOverflow(node: Inner): void {
    while (node.children.length > NODE_MAX) {
      const groups: Node[][] = [];
      const per = Math.ceil(node.children.length / Math.ceil(node.children.length / NODE_MAX));
      for (let i = 0; i < node.children.length; i += per) groups.push(node.children.slice(i, i + per));
      const parts = groups.map(newInner);
      const parent = node.parent;
      if (parent === null) {
        this.root = newInner(parts);
        node = this.root;
        continue;
      }
      const i = parent.children.indexOf(node);
      parent.children.splice(i, 1, ...parts);
      for (const p of parts) p.parent = parent;
      node = parent;
    }
  }

  private removeLeaf(leaf: Leaf): void {
    this.cLeaf = null;
    let node: Node = leaf;
    let parent = node.parent;
    while (parent !== null) {
      parent.children.splice(parent.children.indexOf(node), 1);
      if (parent.children.length > 0 || parent.parent === null) break;
      node = parent;
      parent = node.parent;
    }
    // Collapse a root with a single inner child so depth tracks size.
    while (this.root.children.length === 1 && !this.root.children[0].leaf) {
      const only = this.root.children[0] as Inner;
      only.parent = null;
      this.root = only;
    }
  }

  /**
   * Calls `f(leaf, start)` on each leaf in order, from the one holding `from` (or the
   * first); stops when `f` returns false.
   */
  private eachLeaf(f: (l: Leaf, start: number) => boolean | void, from = 0): void {
    const walk = (node: Inner, start: number): boolean => {
      for (const c of node.children) {
        const end = start + c.len;
        if (end > from || from === 0) {
          if (c.leaf) {
            if (f(c, start) === false) return false;
          } else if (!walk(c, start)) return false;
        }
        start = end;
      }
      return true;
    };
    walk(this.root, 0);
  }
}

/** Cuts text and its runs into leaves of about LEAF_FILL units. */
function chopLeaves(text: string, runs: FlatRuns): Leaf[] {
  const leaves: Leaf[] = [];
  let rest = runs;
  for (let i = 0; i < text.length; i += LEAF_FILL) {
    const piece = text.slice(i, i + LEAF_FILL);
    const after = runsSplit(rest, piece.length);
    leaves.push(newLeaf(piece, rest));
    rest = after;
  }
  return leaves;
}

function buildTree(text: string, runs: FlatRuns): Inner {
  let level: Node[] = chopLeaves(text, runs);
  while (level.length > NODE_MAX) {
    const next: Node[] = [];
    for (let i = 0; i < level.length; i += NODE_MAX) next.push(newInner(level.slice(i, i + NODE_MAX)));
    level = next;
  }
  return newInner(level);
}

function cloneNode(n: Node): Node {
  if (n.leaf) return newLeaf(n.text, n.runs.slice());
  return newInner(n.children.map(cloneNode));
}
