/**
 * The rope against the naive model (text.ts: a string and one author per unit) over long
 * seeded random edit sequences: typing near a moving cursor, far jumps, multi-KB pastes
 * that split leaves, range deletes across many leaves, replacing, deleting everything.
 * The rope's text and authorship are what replay, checkpoints (L5) and the history view
 * (T1) are made of, so every later promise rests on this.
 *
 * Seeds: each sequence is `Random(base + i)` with `base` fixed per test (FC_SEED
 * overrides it); a failure names the seed and the step.
 */
import { describe, it, expect } from 'vitest';
import { Random } from '../sim/random.js';
import { Rope } from '../../src/text/rope.js';
import { type Op, OpBuilder } from '../../src/op/op.js';
import { NaiveDoc, runsDiff } from './model.js';
import type { AuthorRun } from '../../src/text/authorship.js';
import { seed } from '../op/arbitraries.js';

const AUTHORS = ['ann', 'bob', 'cy', ''];

/** Text for a paste: words and newlines, now and then a non-BMP character. */
function pasteText(rnd: Random, n: number): string {
  const parts: string[] = [];
  let len = 0;
  while (len < n) {
    const w = rnd.chance(0.1) ? '\n' : `${rnd.text(8)} `;
    parts.push(w);
    len += w.length;
  }
  return parts.join('').slice(0, n);
}

/** How often (out of 1) the rare edits happen; the rest of the last 14 % are two-site ops. */
const SMALL = { paste: 0.006, rangeDelete: 0.012, deleteAll: 0.003 };
const BIG = { paste: 0.025, rangeDelete: 0.015, deleteAll: 0.002 };

/** One random edit against `doc`, as an op, moving the simulated cursor. */
class Editor {
  cursor = 0;
  author = 'ann';
  /** `big`: paste more and delete everything less, so documents reach 100 K units. */
  constructor(
    private readonly rnd: Random,
    private readonly big = false,
  ) {}

  next(doc: NaiveDoc): { op: Op; at: number } {
    const rnd = this.rnd;
    const len = doc.length;
    this.cursor = Math.min(this.cursor, len);
    if (rnd.chance(0.03)) this.author = rnd.pick(AUTHORS);
    const r = rnd.next();
    const b = new OpBuilder();
    const c = this.cursor;
    if (len === 0 || r < 0.45) {
      // Typing: one unit, sometimes a surrogate pair or a newline.
      const ch = rnd.chance(0.03) ? '😀' : rnd.chance(0.05) ? '\n' : String.fromCharCode(97 + rnd.int(26));
      this.cursor = c + ch.length;
      return { op: b.retain(c).insert(ch).done(), at: c };
    }
    if (r < 0.6 && c > 0) {
      // Backspace.
      this.cursor = c - 1;
      return { op: b.retain(c - 1).delete(doc.text.slice(c - 1, c)).done(), at: c - 1 };
    }
    if (r < 0.68 && c < len) {
      // Forward delete of a few units.
      const n = 1 + rnd.int(Math.min(5, len - c));
      return { op: b.retain(c).delete(doc.text.slice(c, c + n)).done(), at: c };
    }
    if (r < 0.76) {
      // Arrow keys: a short cursor move, then type.
      this.cursor = Math.max(0, Math.min(len, c + rnd.int(41) - 20));
      return { op: b.retain(this.cursor).insert(rnd.text(2)).done(), at: this.cursor };
    }
    if (r < 0.82) {
      // A far jump (click somewhere), then type.
      this.cursor = rnd.int(len + 1);
      return { op: b.retain(this.cursor).insert(rnd.text(3)).done(), at: this.cursor };
    }
    if (r < 0.86 && c < len) {
      // Replace a selection near the cursor.
      const n = 1 + rnd.int(Math.min(30, len - c));
      return { op: b.retain(c).insert(rnd.text(6)).delete(doc.text.slice(c, c + n)).done(), at: c };
    }
    const rates = this.big ? BIG : SMALL;
    let u = r - 0.86;
    if (u < rates.paste) {
      // A multi-KB paste: bigger than a leaf, so leaves split.
      const s = pasteText(rnd, 1000 + rnd.int(7000));
      this.cursor = c + s.length;
      return { op: b.retain(c).insert(s).done(), at: c };
    }
    u -= rates.paste;
    if (u < rates.rangeDelete) {
      // A range delete spanning many leaves.
      const start = rnd.int(len);
      const n = 1 + rnd.int(Math.min(len - start, 3000 + rnd.int(20000)));
      this.cursor = start;
      return { op: b.retain(start).delete(doc.text.slice(start, start + n)).done(), at: start };
    }
    u -= rates.rangeDelete;
    if (u < rates.deleteAll) {
      // Select all, delete.
      this.cursor = 0;
      return { op: b.delete(doc.text).done(), at: 0 };
    }
    // Two sites in one op (e.g. a find-and-replace of two matches).
    const p1 = rnd.int(len + 1);
    const p2 = p1 + rnd.int(len - p1 + 1);
    const n2 = Math.min(len - p2, rnd.int(10));
    b.retain(p1).insert(rnd.text(3)).retain(p2 - p1).delete(doc.text.slice(p2, p2 + n2)).insert(rnd.text(2));
    return { op: b.done(), at: p1 };
  }
}

function expectRuns(got: readonly AuthorRun[], want: readonly AuthorRun[], where: string): void {
  const diff = runsDiff(got, want);
  expect(diff, `${where}: ${diff}`).toBeNull();
}

function fullCheck(rope: Rope, doc: NaiveDoc, rnd: Random, where: string): void {
  expect(rope.length, where).toBe(doc.length);
  expect(rope.toString() === doc.text, `${where}: toString differs from the model`).toBe(true);
  expectRuns(rope.authorship(), doc.authorship(), where);
  const len = doc.length;
  for (let k = 0; k < 6; k++) {
    const a = rnd.int(len + 1);
    const z = a + rnd.int(len - a + 1);
    expect(rope.slice(a, z) === doc.slice(a, z), `${where}: slice(${a}, ${z})`).toBe(true);
    expectRuns(rope.authorshipRange(a, z), doc.authorshipRange(a, z), `${where}: authorshipRange(${a}, ${z})`);
  }
  // Clamped and empty slices.
  const a = rnd.int(len + 1);
  expect(rope.slice(a - 50, a + 50), `${where}: clamped slice`).toBe(doc.slice(a - 50, a + 50));
  expect(rope.slice(a, a - 1), `${where}: reversed slice`).toBe('');
  expect(rope.authorshipRange(a, a), `${where}: empty authorshipRange`).toEqual([]);
}

/** Applies `op` to the rope by one of its three doors, chosen at random. */
function applyToRope(rope: Rope, op: Op, author: string, rnd: Random, where: string): void {
  const r = rnd.next();
  if (r < 0.5) {
    const res = rope.apply(op, author);
    expect(res.ok, `${where}: ${res.ok ? '' : res.error.message}`).toBe(true);
  } else if (r < 0.8) {
    rope.applyTrusted(op, rope.authorId(author));
  } else {
    // The primitive edits, as the op walks them.
    let pos = 0;
    for (const c of op) {
      if (typeof c === 'number') pos += c;
      else if (typeof c === 'string') {
        rope.insert(pos, c, rope.authorId(author));
        pos += c.length;
      } else rope.delete(pos, c.d.length);
    }
  }
}

interface Hooks {
  /** Called every `every` steps with the live rope and model; may return a replacement rope. */
  every: number;
  at(rope: Rope, doc: NaiveDoc, rnd: Random, where: string): Rope | void;
}

function runSequence(s: number, steps: number, checkEvery: number, big: boolean, hooks?: Hooks): { maxLen: number; meanLen: number } {
  const rnd = new Random(s);
  const editor = new Editor(rnd, big);
  let rope = rnd.chance(0.5) ? Rope.empty() : Rope.from(pasteText(rnd, rnd.int(5000)), 'seed');
  const doc = new NaiveDoc(rope.toString(), 'seed');
  let maxLen = 0;
  let sumLen = 0;
  for (let step = 0; step < steps; step++) {
    const where = `seed ${s}, step ${step}`;
    const { op, at } = editor.next(doc);
    applyToRope(rope, op, editor.author, rnd, where);
    doc.apply(op, editor.author);
    maxLen = Math.max(maxLen, doc.length);
    sumLen += doc.length;
    // Cheap checks every step: the length and the text around the edit (expect only on a
    // difference: vitest's expect costs more than the comparison).
    if (rope.length !== doc.length) expect(rope.length, where).toBe(doc.length);
    const near = rope.slice(at - 20, at + 20);
    if (near !== doc.slice(at - 20, at + 20)) expect(near, where).toBe(doc.slice(at - 20, at + 20));
    if (step % checkEvery === checkEvery - 1) fullCheck(rope, doc, rnd, where);
    if (hooks !== undefined && step % hooks.every === hooks.every - 1) rope = hooks.at(rope, doc, rnd, where) ?? rope;
  }
  fullCheck(rope, doc, rnd, `seed ${s}, end`);
  return { maxLen, meanLen: sumLen / steps };
}

describe('Rope against the naive model', () => {
  it('matches the model over 50 random sequences of 2,000 edits (length, toString, slice, authorship, authorshipRange)', () => {
    const SEED = seed(0x20be_0000);
    let maxLen = 0;
    let sumMean = 0;
    for (let i = 0; i < 50; i++) {
      const r = runSequence(SEED + i, 2000, 40, i % 10 === 0);
      maxLen = Math.max(maxLen, r.maxLen);
      sumMean += r.meanLen;
    }
    console.log(`rope model: longest document ${maxLen} units, mean ${(sumMean / 50).toFixed(0)}`);
    // The sequences must reach sizes where leaves and inner nodes split (1,024 and 32 × 1,024).
    expect(maxLen).toBeGreaterThan(40_000);
  });

  it('clone() is independent: edits to either side do not show in the other', () => {
    const SEED = seed(0x20be_1000);
    for (let i = 0; i < 10; i++) {
      let saved: { rope: Rope; doc: NaiveDoc } | null = null;
      runSequence(SEED + i, 1000, 100, i === 0, {
        every: 97,
        at(rope, doc, rnd, where) {
          // The clone taken last time still shows the text of that time, after ~100 edits here.
          if (saved !== null) fullCheck(saved.rope, saved.doc, rnd, `${where}: older clone`);
          const copy = rope.clone();
          const copyDoc = doc.clone();
          fullCheck(copy, copyDoc, rnd, `${where}: fresh clone`);
          // Edit the clone; the original must not change.
          const editor = new Editor(rnd);
          for (let k = 0; k < 20; k++) {
            const { op } = editor.next(copyDoc);
            applyToRope(copy, op, 'cloner', rnd, where);
            copyDoc.apply(op, 'cloner');
          }
          fullCheck(copy, copyDoc, rnd, `${where}: edited clone`);
          fullCheck(rope, doc, rnd, `${where}: original after editing the clone`);
          saved = { rope: copy, doc: copyDoc };
        },
      });
    }
  });

  it('Rope.fromRuns(toString(), authorship()) round-trips, and the rebuilt rope keeps editing like the model', () => {
    const SEED = seed(0x20be_2000);
    for (let i = 0; i < 10; i++) {
      runSequence(SEED + i, 1000, 100, i === 0, {
        every: 50,
        at(rope, doc, rnd, where) {
          const runs = rope.authorship();
          const rebuilt = Rope.fromRuns(rope.toString(), runs);
          expectRuns(rebuilt.authorship(), runs, where);
          fullCheck(rebuilt, doc, rnd, `${where}: rebuilt`);
          return rebuilt; // go on editing the rebuilt tree
        },
      });
    }
  });

  it('applyRevertible then revert restores text and authorship exactly', () => {
    const SEED = seed(0x20be_3000);
    for (let i = 0; i < 10; i++) {
      runSequence(SEED + i, 1000, 100, i === 0, {
        every: 11,
        at(rope, doc, rnd, where) {
          const before = doc.clone();
          const after = doc.clone();
          const { op } = new Editor(rnd).next(after);
          after.apply(op, 'undoer');
          const deleted = rope.applyRevertible(op, rope.authorId('undoer'));
          expect(rope.toString() === after.text, `${where}: applyRevertible text`).toBe(true);
          expectRuns(rope.authorship(), after.authorship(), `${where}: applyRevertible authorship`);
          rope.revert(op, deleted);
          fullCheck(rope, before, rnd, `${where}: reverted ${JSON.stringify(op).slice(0, 200)}`);
        },
      });
    }
  });

  it('revert restores the authorship of deleted text written by several authors', () => {
    const rope = Rope.fromRuns('aaabbbccc', [
      { author: 'ann', length: 3 },
      { author: 'bob', length: 3 },
      { author: 'cy', length: 3 },
    ]);
    const op: Op = [1, 'X', { d: 'aabbbc' }, 1, { d: 'c' }];
    const deleted = rope.applyRevertible(op, rope.authorId('dan'));
    expect(rope.toString()).toBe('aXc');
    rope.revert(op, deleted);
    expect(rope.toString()).toBe('aaabbbccc');
    expect(rope.authorship()).toEqual([
      { author: 'ann', length: 3 },
      { author: 'bob', length: 3 },
      { author: 'cy', length: 3 },
    ]);
  });
});

describe('Rope at scale', () => {
  it('100,000 single-unit edits on a 10 MB rope: right result, under 2 s', () => {
    const SEED = seed(0x20be_4000);
    const rnd = new Random(SEED);
    const SIZE = 10 * 1024 * 1024;
    // 10 MB of text from a 64 KB random block, varied per copy so slices are not periodic.
    const block = pasteText(rnd, 1 << 16);
    const copies: string[] = [];
    for (let i = 0; copies.length * block.length < SIZE; i++) copies.push(String.fromCharCode(65 + (i % 26)) + block.slice(1));
    const initial = copies.join('').slice(0, SIZE);
    const rope = Rope.from(initial, 'seed');
    const ids = ['ann', 'bob', 'cy'].map((a) => rope.authorId(a));

    // The edits, generated first so the timed loop is the rope alone: bursts of typing and
    // backspacing near a random place, then a jump.
    const N = 100_000;
    const kind = new Uint8Array(N); // 0 insert, 1 delete
    const where = new Float64Array(N);
    const who = new Uint8Array(N);
    const chars = new Uint16Array(N);
    let len = initial.length;
    let pos = rnd.int(len);
    for (let i = 0; i < N; i++) {
      if (rnd.chance(0.02)) pos = rnd.int(len + 1);
      const del = len > 0 && pos > 0 && rnd.chance(0.3);
      if (del) {
        pos -= 1; // backspace
        kind[i] = 1;
        len--;
      } else {
        kind[i] = 0;
        chars[i] = 97 + rnd.int(26);
        who[i] = rnd.int(3);
        len++;
      }
      where[i] = pos;
      if (!del) pos += 1;
    }

    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      if (kind[i] === 0) rope.insert(where[i], String.fromCharCode(chars[i]), ids[who[i]]);
      else rope.delete(where[i], 1);
    }
    const ms = performance.now() - t0;
    console.log(`rope scale: ${N} single-unit edits on a ${(SIZE / 1048576).toFixed(0)} MB rope took ${ms.toFixed(0)} ms (seed ${SEED})`);

    // The reference: the same edits replayed once on plain strings cut into chunks of a few
    // KB (text and, in a parallel string, one author code per unit), so each splice is small.
    const CH = 4096;
    const textChunks: string[] = [];
    const whoChunks: string[] = [];
    for (let i = 0; i < initial.length; i += CH) {
      textChunks.push(initial.slice(i, i + CH));
      whoChunks.push('s'.repeat(Math.min(CH, initial.length - i)));
    }
    const codes = ['0', '1', '2'];
    for (let i = 0; i < N; i++) {
      let p = where[i];
      let c = 0;
      // Find the chunk; an insert at a chunk's end goes into that chunk.
      while (kind[i] === 0 ? p > textChunks[c].length : p >= textChunks[c].length) {
        p -= textChunks[c].length;
        c++;
      }
      const t = textChunks[c];
      const w = whoChunks[c];
      if (kind[i] === 0) {
        textChunks[c] = t.slice(0, p) + String.fromCharCode(chars[i]) + t.slice(p);
        whoChunks[c] = w.slice(0, p) + codes[who[i]] + w.slice(p);
      } else {
        textChunks[c] = t.slice(0, p) + t.slice(p + 1);
        whoChunks[c] = w.slice(0, p) + w.slice(p + 1);
      }
    }
    const expected = textChunks.join('');
    expect(rope.length).toBe(expected.length);
    expect(rope.toString() === expected, 'final text differs from the chunked replay').toBe(true);
    // Authorship, compared as the same one-code-per-unit string.
    const names: Record<string, string> = { seed: 's', ann: '0', bob: '1', cy: '2' };
    const got = rope
      .authorship()
      .map((r) => names[r.author].repeat(r.length))
      .join('');
    expect(got === whoChunks.join(''), 'final authorship differs from the chunked replay').toBe(true);

    expect(ms).toBeLessThan(2000);
  });
});
