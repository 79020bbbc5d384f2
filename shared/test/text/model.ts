/**
 * The naive reference for the rope: a plain string and one author name per UTF-16
 * unit. Obviously right and slow; the rope and everything built on it (checkpoints,
 * replay, the history index) are checked against it.
 */
import type { Op } from '../../src/op/op.js';
import type { AuthorRun } from '../../src/text/authorship.js';

export class NaiveDoc {
  text: string;
  who: string[];

  constructor(text = '', author = '') {
    this.text = text;
    this.who = new Array<string>(text.length).fill(author);
  }

  get length(): number {
    return this.text.length;
  }

  insert(pos: number, s: string, author: string): void {
    if (pos < 0 || pos > this.text.length) throw new RangeError(`model insert at ${pos} outside 0..${this.text.length}`);
    this.text = this.text.slice(0, pos) + s + this.text.slice(pos);
    const added = new Array<string>(s.length).fill(author);
    if (s.length <= 1024) this.who.splice(pos, 0, ...added);
    else this.who = this.who.slice(0, pos).concat(added, this.who.slice(pos));
  }

  delete(pos: number, n: number): void {
    if (pos < 0 || pos + n > this.text.length) throw new RangeError(`model delete ${pos}+${n} outside 0..${this.text.length}`);
    this.text = this.text.slice(0, pos) + this.text.slice(pos + n);
    this.who.splice(pos, n);
  }

  /** Applies an op that must fit (throws otherwise): inserts by `author`, deletes checked. */
  apply(op: Op, author: string): void {
    let pos = 0;
    for (const c of op) {
      if (typeof c === 'number') pos += c;
      else if (typeof c === 'string') {
        this.insert(pos, c, author);
        pos += c.length;
      } else {
        if (this.text.slice(pos, pos + c.d.length) !== c.d) {
          throw new Error(`model: op deletes ${JSON.stringify(c.d)} at ${pos}, text there is ${JSON.stringify(this.text.slice(pos, pos + c.d.length))}`);
        }
        this.delete(pos, c.d.length);
      }
    }
    if (pos > this.text.length) throw new RangeError(`model: op reaches ${pos}, document is ${this.text.length}`);
  }

  /** `slice` with the rope's semantics: clamped to the document, empty when end <= start. */
  slice(start: number, end: number): string {
    start = Math.max(0, start);
    end = Math.min(this.text.length, end);
    return end <= start ? '' : this.text.slice(start, end);
  }

  authorship(): AuthorRun[] {
    return this.authorshipRange(0, this.text.length);
  }

  authorshipRange(start: number, end: number): AuthorRun[] {
    return runsOf(this.who, Math.max(0, start), Math.min(this.who.length, end));
  }

  clone(): NaiveDoc {
    const c = new NaiveDoc();
    c.text = this.text;
    c.who = this.who.slice();
    return c;
  }
}

/** Merged runs of a per-unit author array over [start, end). */
export function runsOf(who: readonly string[], start = 0, end = who.length): AuthorRun[] {
  const out: AuthorRun[] = [];
  let i = start;
  while (i < end) {
    let j = i + 1;
    while (j < end && who[j] === who[i]) j++;
    out.push({ author: who[i], length: j - i });
    i = j;
  }
  return out;
}

/**
 * Whether two run lists are equal, fast (vitest's deep equality is slow on thousands of
 * runs); on a difference, a message showing the first differing run and its neighbours.
 */
export function runsDiff(got: readonly AuthorRun[], want: readonly AuthorRun[]): string | null {
  const n = Math.max(got.length, want.length);
  for (let i = 0; i < n; i++) {
    const g = got[i];
    const w = want[i];
    if (g === undefined || w === undefined || g.author !== w.author || g.length !== w.length) {
      const around = (rs: readonly AuthorRun[]) => JSON.stringify(rs.slice(Math.max(0, i - 2), i + 3));
      return `runs differ at run ${i} (of ${got.length} vs ${want.length}): got ${around(got)}, want ${around(want)}`;
    }
  }
  return null;
}
