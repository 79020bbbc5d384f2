/**
 * The history view's redraw plan (text-view.ts): after any sequence of versions, small
 * edits and far jumps alike, the lines it keeps plus the lines it rebuilds are exactly the
 * new text cut at its '\n's, each character with its author (T1: the view shows exactly
 * the text at the version, coloured by who wrote it).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { AuthorRun } from '../../../shared/src/index.js';
import { EMPTY_VIEW, planRedraw, splitLines, type Line, type ViewState } from '../../src/history/text-view.js';
import { seed } from '../../../shared/test/op/arbitraries.js';

/** A document as characters with authors. */
type Doc = { ch: string; by: string }[];

const charArb = fc.record({ ch: fc.constantFrom('a', 'b', '\n', 'é'), by: fc.constantFrom('x', 'y', 'z') });
const docArb: fc.Arbitrary<Doc> = fc.array(charArb, { maxLength: 30 });

/** An edit of a document: splice, or re-author a span, or a whole new document (far jump). */
const stepArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('splice' as const), at: fc.nat(), del: fc.nat({ max: 5 }), ins: fc.array(charArb, { maxLength: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('author' as const), at: fc.nat(), n: fc.nat({ max: 6 }), by: fc.constantFrom('x', 'y', 'z') }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('jump' as const), doc: docArb }) },
);

function apply(d: Doc, s: Step): Doc {
  if (s.k === 'jump') return s.doc;
  const at = s.at % (d.length + 1);
  if (s.k === 'splice') return [...d.slice(0, at), ...s.ins, ...d.slice(at + s.del)];
  return d.map((c, i) => (i >= at && i < at + s.n ? { ch: c.ch, by: s.by } : c));
}
type Step = { k: 'splice'; at: number; del: number; ins: Doc } | { k: 'author'; at: number; n: number; by: string } | { k: 'jump'; doc: Doc };

function textOf(d: Doc): string {
  return d.map((c) => c.ch).join('');
}

function runsOf(d: Doc): AuthorRun[] {
  const out: AuthorRun[] = [];
  for (const c of d) {
    const last = out[out.length - 1];
    if (last !== undefined && last.author === c.by) out[out.length - 1] = { author: c.by, length: last.length + 1 };
    else out.push({ author: c.by, length: 1 });
  }
  return out;
}

describe('history view redraw', () => {
  it('kept lines plus rebuilt lines are exactly the new text, line by line, with every character\'s author (T1)', () => {
    fc.assert(
      fc.property(docArb, fc.array(stepArb as fc.Arbitrary<Step>, { minLength: 1, maxLength: 25 }), (first, steps) => {
        let state: ViewState = EMPTY_VIEW;
        let shown: Line[] = [];
        let d = first;
        for (let k = 0; k <= steps.length; k++) {
          if (k > 0) d = apply(d, steps[k - 1]);
          const text = textOf(d);
          const runs = runsOf(d);
          const plan = planRedraw(state, text, runs);
          if (plan !== null) {
            expect(plan.i0).toBeLessThanOrEqual(plan.i1);
            // A kept line must be identical to the new line it stands for, in order.
            let last = -1;
            plan.reuse.forEach((k, j) => {
              if (k < 0) return;
              expect(k).toBeGreaterThan(last);
              expect(k).toBeGreaterThanOrEqual(plan.i0);
              expect(k).toBeLessThan(plan.i1);
              expect(shown[k], `kept line ${k} for ${j}`).toEqual(plan.lines[j]);
              last = k;
            });
            const middle = plan.lines.map((l, j) => (plan.reuse[j] >= 0 ? shown[plan.reuse[j]] : l));
            shown = [...shown.slice(0, plan.i0), ...middle, ...shown.slice(plan.i1)];
            state = { text, runs, lines: shown, starts: plan.starts };
          } else {
            expect(text, 'no plan only when nothing changed').toBe(state.text);
            expect(runs).toEqual(state.runs);
            state = { ...state, text, runs };
          }
          // The lines are the text cut after each '\n', each line's runs give each character's author.
          expect(shown.map((l) => l.text)).toEqual(splitLines(text, runs).map((l) => l.text));
          expect(shown.map((l) => l.text).join('')).toBe(text);
          let at = 0;
          for (let i = 0; i < shown.length; i++) {
            expect(state.starts[i], `start of line ${i}`).toBe(at);
            let off = 0;
            for (const [author, n] of shown[i].runs) {
              for (let j = 0; j < n; j++) expect(author, `author at ${at + off + j}`).toBe(d[at + off + j].by);
              off += n;
            }
            expect(off, `runs cover line ${i}`).toBe(shown[i].text.length);
            at += shown[i].text.length;
          }
          expect(state.starts.length).toBe(shown.length);
        }
      }),
      { seed: seed(0x7e47), numRuns: 400 },
    );
  });

  it('two keystrokes far apart between two frames rebuild only their two lines', () => {
    const text = Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join('');
    const first = planRedraw(EMPTY_VIEW, text, [{ author: 'x', length: text.length }])!;
    const state: ViewState = { text, runs: [{ author: 'x', length: text.length }], lines: first.lines, starts: first.starts };
    const a = text.indexOf('line 10\n') + 4;
    const b = text.indexOf('line 900\n') + 4;
    const next = text.slice(0, a) + '!' + text.slice(a, b) + '?' + text.slice(b);
    const plan = planRedraw(state, next, [{ author: 'x', length: next.length }])!;
    expect(plan.i0).toBe(10);
    expect(plan.i1).toBe(901);
    expect(plan.reuse.filter((k) => k < 0).length).toBe(2);
    expect(plan.lines[0].text).toBe('line! 10\n');
    expect(plan.lines[890].text).toBe('line? 900\n');
  });

  it('a keystroke in the middle of a long document rebuilds only its line', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}\n`);
    const text = lines.join('');
    const before = planRedraw(EMPTY_VIEW, text, [{ author: 'x', length: text.length }])!;
    const state: ViewState = { text, runs: [{ author: 'x', length: text.length }], lines: before.lines, starts: before.starts };
    const at = text.indexOf('line 500') + 4;
    const next = text.slice(0, at) + '!' + text.slice(at);
    const plan = planRedraw(state, next, [
      { author: 'x', length: at },
      { author: 'y', length: 1 },
      { author: 'x', length: text.length - at },
    ])!;
    expect(plan.i0).toBe(500);
    expect(plan.i1).toBe(501);
    expect(plan.lines.map((l) => l.text)).toEqual(['line! 500\n']);
    expect(plan.lines[0].runs).toEqual([
      ['x', 4],
      ['y', 1],
      ['x', 5],
    ]);
  });
});
