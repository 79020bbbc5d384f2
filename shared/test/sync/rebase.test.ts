/**
 * The optimised rebase (lazy shifts, runs crossed in one step) must be exactly the
 * plain grid of pairwise transforms: the server and clients rely on computing the same
 * forms however the work was grouped.
 */
import { describe, it, expect } from 'vitest';
import { rebase, rebasePending } from '../../src/sync/rebase.js';
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
      expect({ seed, pending: rebasePending(pending, remote) }).toEqual({ seed, pending: want.pending });
      // One pending op (the sequencer's common case has its own path), over the whole run.
      if (pending.length > 0) expect({ seed, one: rebasePending(pending.slice(0, 1), remote) }).toEqual({ seed, one: naive(pending.slice(0, 1), remote).pending });
      // And the result converges (TP1 over sequences).
      const a = [...remote, ...got.pending].reduce((d, op) => unwrap(applyToString(d, op)), doc);
      const b = [...pending, ...got.remote].reduce((d, op) => unwrap(applyToString(d, op)), doc);
      expect({ seed, text: a }).toEqual({ seed, text: b });
    }
  });

  it('equals the plain grid when many ops meet at a few positions (a crowd typing at one spot; 300 seeded cases) (E3)', () => {
    // Pure inserts, replacements (insert then delete), deletes and inserts-then-more at
    // the same few positions: every kind of tie the cheap cells of rebase.ts decide.
    const crowd = (rnd: Random, doc: string, n: number): Op[] => {
      const rope = Rope.from(doc);
      const spots = [0, rnd.int(doc.length + 1), rnd.int(doc.length + 1)];
      const ops: Op[] = [];
      for (let i = 0; i < n; i++) {
        const at = Math.min(spots[rnd.int(spots.length)], rope.length);
        const next = rope.slice(at, at + 1 + rnd.int(2));
        const kind = rnd.int(5);
        const lead: Op = at > 0 ? [at] : [];
        let op: Op;
        if (kind <= 1 || next === '') op = [...lead, rnd.text(1 + rnd.int(2))];
        else if (kind === 2) op = [...lead, { d: next }];
        else if (kind === 3) op = [...lead, rnd.text(1), { d: next }];
        else op = [...lead, rnd.text(1), next.length, rnd.text(1)];
        rope.applyTrusted(op, 0);
        ops.push(op);
      }
      return ops;
    };
    for (let seed = 1; seed <= 300; seed++) {
      const rnd = new Random(seed);
      let doc = '';
      for (let i = 0; i < rnd.int(20); i++) doc += rnd.text(3);
      const pending = crowd(rnd, doc, 1 + rnd.int(80));
      const remote = crowd(rnd, doc, 1 + rnd.int(80));
      const got = rebase(pending, remote);
      const want = naive(pending, remote);
      expect({ seed, ...got }).toEqual({ seed, ...want });
      expect({ seed, pending: rebasePending(pending, remote) }).toEqual({ seed, pending: want.pending });
      for (const p of pending.slice(0, 8)) expect({ seed, one: rebasePending([p], remote) }).toEqual({ seed, one: naive([p], remote).pending });
    }
  });
});
