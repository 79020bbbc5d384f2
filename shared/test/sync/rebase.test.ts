/**
 * The optimised rebase (lazy shifts, runs crossed in one step) must be exactly the
 * plain grid of pairwise transforms: the server and clients rely on computing the same
 * forms however the work was grouped.
 */
import { describe, it, expect } from 'vitest';
import { rebase } from '../../src/sync/rebase.js';
import { transform } from '../../src/op/transform.js';
import type { Op } from '../../src/op/op.js';
import { Rope } from '../../src/text/rope.js';
import { Random } from '../sim/random.js';
import { randomEdit } from '../sim/fuzz.js';
import { applyToString } from '../../src/op/apply.js';
import { unwrap } from '../../src/result.js';

function naive(pending: readonly Op[], remote: readonly Op[]): { pending: Op[]; remote: Op[] } {
  const ps = pending.slice();
  const xs: Op[] = [];
  for (let x of remote) {
    for (let i = 0; i < ps.length; i++) {
      const p = ps[i];
      ps[i] = transform(p, x, 'left');
      x = transform(x, p, 'right');
    }
    xs.push(x);
  }
  return { pending: ps, remote: xs };
}

/** A sequence of edits on `doc`, clustered like typing (runs near a cursor, some jumps). */
function typing(rnd: Random, doc: string, n: number): Op[] {
  const rope = Rope.from(doc);
  const ops: Op[] = [];
  let cursor = rnd.int(doc.length + 1);
  for (let i = 0; i < n; i++) {
    let op: Op;
    if (rnd.chance(0.8)) {
      cursor = Math.min(Math.max(0, cursor + rnd.int(5) - 2), rope.length);
      op = rnd.chance(0.8) || cursor === rope.length ? [cursor, rnd.text(2)].filter((c) => c !== 0) as Op : [cursor, { d: rope.slice(cursor, cursor + 1) }].filter((c) => c !== 0) as Op;
    } else {
      op = randomEdit(rnd, rope);
      cursor = rnd.int(rope.length + 1);
    }
    rope.applyTrusted(op, 0);
    ops.push(op);
  }
  return ops;
}

describe('rebase', () => {
  it('equals the plain grid of pairwise transforms (300 seeded cases, up to 300 × 60 ops) (E3)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rnd = new Random(seed);
      let doc = '';
      for (let i = 0; i < rnd.int(200); i++) doc += rnd.text(3);
      const pending = typing(rnd, doc, rnd.int(300));
      const remote = typing(rnd, doc, rnd.int(60));
      const got = rebase(pending, remote);
      const want = naive(pending, remote);
      expect({ seed, ...got }).toEqual({ seed, ...want });
      // And the result converges (TP1 over sequences).
      const a = [...remote, ...got.pending].reduce((d, op) => unwrap(applyToString(d, op)), doc);
      const b = [...pending, ...got.remote].reduce((d, op) => unwrap(applyToString(d, op)), doc);
      expect({ seed, text: a }).toEqual({ seed, text: b });
    }
  });
});
