/**
 * Op summaries (op-summary.ts): what they say of an op, and that a run of them grows and
 * is viewed without losing anything. That revertEvents gives the same op with them is
 * checked on every revert of the undo property tests (undo.test.ts).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Op } from '../../src/op/op.js';
import { EMPTY_OP_START, OpSummaries, summarizeInto } from '../../src/history/op-summary.js';

function one(op: Op): [number, number, number] {
  const s = new Int32Array(1);
  const e = new Int32Array(1);
  const d = new Int32Array(1);
  summarizeInto(op, 0, s, e, d);
  return [s[0], e[0], d[0]];
}

const SEED = Number(process.env.FC_SEED ?? 424242);

describe('op summaries', () => {
  it('give the leading retain, where the last component ends in the text before, and the length change', () => {
    expect(one([5, 'ab'])).toEqual([5, 5, 2]);
    expect(one([5, { d: 'xyz' }])).toEqual([5, 8, -3]);
    expect(one(['ab', 3, { d: 'q' }, 'zz'])).toEqual([0, 4, 3]);
    expect(one([{ d: 'abc' }])).toEqual([0, 3, -3]);
    expect(one([])).toEqual([EMPTY_OP_START, 0, 0]);
  });

  it('equal a direct computation for random ops, and survive growing and viewing', () => {
    const comp = fc.oneof(fc.nat({ max: 1000 }), fc.string({ minLength: 1, maxLength: 5 }), fc.string({ minLength: 1, maxLength: 5 }).map((t) => ({ d: t })));
    fc.assert(
      fc.property(fc.array(fc.array(comp, { maxLength: 6 }), { maxLength: 3000 }), fc.nat(), fc.nat(), (ops, x, y) => {
        const all = OpSummaries.of([]);
        for (const op of ops) all.push({ op: op as Op });
        expect(all.length).toBe(ops.length);
        const a = ops.length === 0 ? 0 : x % ops.length;
        const b = ops.length === 0 ? 0 : a + (y % (ops.length - a + 1));
        const v = all.view(a, b);
        expect(v.length).toBe(b - a);
        for (let i = 0; i < v.length; i++) {
          const op = ops[a + i] as Op;
          let end = 0;
          let delta = 0;
          for (const c of op) {
            if (typeof c === 'number') end += c;
            else if (typeof c === 'string') delta += c.length;
            else {
              end += c.d.length;
              delta -= c.d.length;
            }
          }
          const start = op.length === 0 ? EMPTY_OP_START : typeof op[0] === 'number' ? op[0] : 0;
          expect([v.start[i], v.end[i], v.delta[i]]).toEqual([start, op.length === 0 ? 0 : end, delta]);
        }
      }),
      { seed: SEED, numRuns: 60 },
    );
  });

  it('clamps a view to what it holds, and flags undos and redos', () => {
    const s = OpSummaries.of([{ op: [1, 'a'] }, { op: [2, 'b'], kind: 'undo' }, { op: [3], kind: 'redo' }, { op: [4], kind: 'restore' }]);
    expect(s.view(1, 10).length).toBe(3);
    expect(s.view(5, 10).length).toBe(0);
    expect(s.view(1, 10).start[0]).toBe(2);
    expect([...s.view(0, 4).revert]).toEqual([0, 1, 1, 0]);
  });
});
