/**
 * The history panel's ops: restore turns any text into any other with one op; compare
 * marks exactly what changed between two versions (its `same` + `del` parts are the older
 * text, its `same` + `ins` parts the newer one), each change with the author of the event
 * that made it.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyToString, replay, traceToEvents } from '../../../shared/src/index.js';
import { restoreOp } from '../../src/history/history-actions.js';
import { compareVersions } from '../../src/history/compare.js';
import { seed } from '../../../shared/test/op/arbitraries.js';
import { logArb } from '../../../shared/test/log/log-arbitraries.js';

const textArb = fc.string({ unit: fc.constantFrom('a', 'b', '\n', 'é', '😀'), maxLength: 20 });

describe('restoreOp', () => {
  it('applied to the current text it gives the restored version, as one delete and one insert at most (T1)', () => {
    fc.assert(
      fc.property(textArb, textArb, (current, target) => {
        const op = restoreOp(current, target);
        if (current === target) {
          expect(op).toBeNull();
          return;
        }
        const r = applyToString(current, op!);
        expect(r.ok && r.value).toBe(target);
        expect(op!.filter((c) => typeof c !== 'number').length).toBeLessThanOrEqual(2);
        // It never cuts a surrogate pair: its inserted and deleted texts are well-formed.
        for (const c of op!) {
          const t = typeof c === 'string' ? c : typeof c === 'object' ? c.d : '';
          expect(t.isWellFormed(), JSON.stringify(c)).toBe(true);
        }
      }),
      { seed: seed(0x4e57), numRuns: 500 },
    );
  });
});

describe('compareVersions', () => {
  it('same + del is the text at a, same + ins the text at b; inserts and deletes carry the authors of the events that made them (H6)', () => {
    fc.assert(
      fc.property(
        logArb(60).chain((events) => fc.tuple(fc.constant(events), fc.nat({ max: events.length }), fc.nat({ max: events.length }))),
        ([events, x, y]) => {
          const a = Math.min(x, y);
          const b = Math.max(x, y);
          const at = replay(null, events.slice(0, a));
          const segs = compareVersions(at.toString(), at.authorship(), events.slice(a, b));
          const older = segs.filter((s) => s.kind !== 'ins').map((s) => s.text).join('');
          const newer = segs.filter((s) => s.kind !== 'del').map((s) => s.text).join('');
          expect(older).toBe(at.toString());
          const atB = replay(null, events.slice(0, b));
          expect(newer).toBe(atB.toString());
          // The newer text's authors: 'same' keeps who wrote it, 'ins' is by the inserting event's author.
          const authors = segs.filter((s) => s.kind !== 'del').flatMap((s) => Array.from({ length: s.text.length }, () => s.author));
          const want = atB.authorship().flatMap((r) => Array.from({ length: r.length }, () => r.author));
          expect(authors).toEqual(want);
          const between = new Set(events.slice(a, b).map((e) => e.author));
          for (const s of segs) if (s.kind !== 'same') expect(between.has(s.author), `${s.kind} by ${s.author}`).toBe(true);
        },
      ),
      { seed: seed(0xc0de), numRuns: 300 },
    );
  });

  it('text written and removed between the two versions is not marked (H6)', () => {
    const events = traceToEvents([
      [0, 0, 'keep'],
      [4, 0, ' tmp'],
      [4, 4, ''],
      [0, 1, 'K'],
    ]);
    const at = replay(null, events.slice(0, 1));
    const segs = compareVersions(at.toString(), at.authorship(), events.slice(1));
    // (The op inserts before it deletes: canonical op order.)
    expect(segs.map((s) => [s.kind, s.text])).toEqual([
      ['ins', 'K'],
      ['del', 'k'],
      ['same', 'eep'],
    ]);
  });
});
