/**
 * Properties of the op algebra: apply, invert, transform, compose, transformPosition.
 * Every property is seeded (see `seed` in arbitraries.ts: FC_SEED overrides it); a
 * failure prints fast-check's seed and path.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { type Op, invert, normalize, opFromSplice } from '../../src/op/op.js';
import { transform, transformPosition, type Side } from '../../src/op/transform.js';
import { compose, composeAll } from '../../src/op/compose.js';
import { applyToString } from '../../src/op/apply.js';
import { unwrap } from '../../src/result.js';
import { docArb, opArb, seqArb, applyAll, seed } from './arbitraries.js';

const RUNS = 2000;

const apply = (doc: string, op: Op): string => unwrap(applyToString(doc, op));

/** A document and two ops made on it concurrently. */
const pairArb = docArb.chain((doc) => fc.tuple(fc.constant(doc), opArb(doc), opArb(doc)));

/** A document and a sequence of 2..5 ops, each applying to the output of the one before. */
const seqOf2to5 = fc
  .tuple(docArb, fc.integer({ min: 2, max: 5 }))
  .chain(([doc, n]) => seqArb(doc, n).map((ops) => ({ doc, ops })));

const sideArb = fc.constantFrom<Side>('left', 'right');

/** The position of the single insert in an op of the form `[k, s]` or `[s]`. */
function insertPosition(op: Op): number {
  if (op.length === 1 && typeof op[0] === 'string') return 0;
  if (op.length === 2 && typeof op[0] === 'number' && typeof op[1] === 'string') return op[0];
  throw new Error(`not a lone insert: ${JSON.stringify(op)}`);
}

describe('op algebra properties', () => {
  it('apply then apply(invert) is the identity (L6)', () => {
    const SEED = 0x1601;
    fc.assert(
      fc.property(
        docArb.chain((doc) => fc.tuple(fc.constant(doc), opArb(doc))),
        ([doc, op]) => {
          const after = apply(doc, op);
          expect(apply(after, invert(op))).toBe(doc);
        },
      ),
      { seed: seed(SEED), numRuns: RUNS },
    );
  });

  it('invert(invert(op)) equals op, and invert is canonical', () => {
    const SEED = 0x1602;
    fc.assert(
      fc.property(
        docArb.chain((doc) => opArb(doc)),
        (op) => {
          const inv = invert(op);
          expect(normalize(inv)).toEqual(inv);
          expect(invert(inv)).toEqual(op);
        },
      ),
      { seed: seed(SEED), numRuns: RUNS },
    );
  });

  it('TP1: both transform orders converge (b after a on the right, a after b on the left) (L4)', () => {
    const SEED = 0x1603;
    fc.assert(
      fc.property(pairArb, ([doc, a, b]) => {
        const viaA = apply(apply(doc, a), transform(b, a, 'right'));
        const viaB = apply(apply(doc, b), transform(a, b, 'left'));
        expect(viaA).toBe(viaB);
      }),
      { seed: seed(SEED), numRuns: RUNS },
    );
  });

  it('TP1 with sides swapped: b after a on the left, a after b on the right (L4)', () => {
    const SEED = 0x1604;
    fc.assert(
      fc.property(pairArb, ([doc, a, b]) => {
        const viaA = apply(apply(doc, a), transform(b, a, 'left'));
        const viaB = apply(apply(doc, b), transform(a, b, 'right'));
        expect(viaA).toBe(viaB);
      }),
      { seed: seed(SEED), numRuns: RUNS },
    );
  });

  it('compose (folded pairwise) equals applying the ops in sequence', () => {
    const SEED = 0x1605;
    fc.assert(
      fc.property(seqOf2to5, ({ doc, ops }) => {
        const folded = ops.reduce((acc, op) => compose(acc, op));
        expect(apply(doc, folded)).toBe(applyAll(doc, ops));
      }),
      { seed: seed(SEED), numRuns: RUNS },
    );
  });

  it('composeAll equals applying the ops in sequence, and equals the left fold', () => {
    const SEED = 0x1606;
    fc.assert(
      fc.property(seqOf2to5, ({ doc, ops }) => {
        const all = composeAll(ops);
        expect(apply(doc, all)).toBe(applyAll(doc, ops));
        expect(all).toEqual(ops.reduce((acc, op) => compose(acc, op)));
      }),
      { seed: seed(SEED), numRuns: RUNS },
    );
  });

  it('transform results are canonical: normalize(x) deep-equals x', () => {
    const SEED = 0x1607;
    fc.assert(
      fc.property(pairArb, sideArb, ([, a, b], side) => {
        const x = transform(a, b, side);
        expect(normalize(x)).toEqual(x);
      }),
      { seed: seed(SEED), numRuns: RUNS },
    );
  });

  it('compose results are canonical: normalize(x) deep-equals x', () => {
    const SEED = 0x1608;
    fc.assert(
      fc.property(seqOf2to5, ({ ops }) => {
        const x = compose(ops[0], ops[1]);
        expect(normalize(x)).toEqual(x);
        const all = composeAll(ops);
        expect(normalize(all)).toEqual(all);
      }),
      { seed: seed(SEED), numRuns: RUNS },
    );
  });

  it('transform with an empty op is the identity (either way round)', () => {
    const SEED = 0x1609;
    fc.assert(
      fc.property(
        docArb.chain((doc) => opArb(doc)),
        sideArb,
        (op, side) => {
          expect(transform(op, [], side)).toEqual(op);
          expect(transform([], op, side)).toEqual([]);
        },
      ),
      { seed: seed(SEED), numRuns: RUNS },
    );
  });

  it('transformPosition agrees with transforming an insert at that position (assoc > 0 is the right side, assoc < 0 the left)', () => {
    const SEED = 0x160a;
    fc.assert(
      fc.property(
        docArb.chain((doc) => fc.tuple(fc.constant(doc), opArb(doc), fc.nat({ max: doc.length }))),
        ([doc, op, pos]) => {
          // '#' is outside every alphabet the arbitraries use, so it is easy to find.
          const ins = normalize([pos, '#']);
          const right = transform(ins, op, 'right');
          const left = transform(ins, op, 'left');
          expect(transformPosition(pos, op, 1)).toBe(insertPosition(right));
          expect(transformPosition(pos, op)).toBe(insertPosition(right));
          expect(transformPosition(pos, op, -1)).toBe(insertPosition(left));
          // And that is where the '#' really lands.
          const landed = apply(apply(doc, op), right);
          expect(landed.indexOf('#')).toBe(transformPosition(pos, op, 1));
        },
      ),
      { seed: seed(SEED), numRuns: RUNS },
    );
  });

  it('opFromSplice produces the op applyToString expects for a splice', () => {
    const SEED = 0x160b;
    fc.assert(
      fc.property(
        docArb.chain((doc) =>
          fc
            .nat({ max: doc.length })
            .chain((pos) =>
              fc.tuple(
                fc.constant(doc),
                fc.constant(pos),
                fc.nat({ max: doc.length - pos }),
                fc.string({ unit: fc.constantFrom('1', '2', '😀'), maxLength: 3 }),
              ),
            ),
        ),
        ([doc, pos, del, ins]) => {
          const op = opFromSplice(pos, doc.slice(pos, pos + del), ins);
          expect(normalize(op)).toEqual(op);
          expect(apply(doc, op)).toBe(doc.slice(0, pos) + ins + doc.slice(pos + del));
        },
      ),
      { seed: seed(SEED), numRuns: RUNS },
    );
  });
});

describe('transform tie-breaks (examples)', () => {
  it("two inserts at the same position: the 'left' op's text comes first", () => {
    const doc = 'abc';
    const a: Op = [1, 'X'];
    const b: Op = [1, 'Y'];
    expect(transform(a, b, 'left')).toEqual([1, 'X']);
    expect(transform(b, a, 'right')).toEqual([2, 'Y']);
    expect(apply(apply(doc, b), transform(a, b, 'left'))).toBe('aXYbc');
    expect(apply(apply(doc, a), transform(b, a, 'right'))).toBe('aXYbc');
    // With the sides the other way round, b's text comes first.
    expect(apply(apply(doc, b), transform(a, b, 'right'))).toBe('aYXbc');
    expect(apply(apply(doc, a), transform(b, a, 'left'))).toBe('aYXbc');
  });

  it('an insert inside a concurrently deleted range survives, and the delete goes around it', () => {
    const doc = 'abcdef';
    const ins: Op = [2, 'X'];
    const del: Op = [1, { d: 'bcde' }];
    expect(transform(ins, del, 'left')).toEqual([1, 'X']);
    expect(transform(del, ins, 'right')).toEqual([1, { d: 'b' }, 1, { d: 'cde' }]);
    expect(apply(apply(doc, del), transform(ins, del, 'left'))).toBe('aXf');
    expect(apply(apply(doc, ins), transform(del, ins, 'right'))).toBe('aXf');
  });

  it('overlapping deletes delete the union once', () => {
    const doc = 'abcdef';
    const a: Op = [1, { d: 'bcd' }];
    const b: Op = [2, { d: 'cde' }];
    expect(transform(a, b, 'left')).toEqual([1, { d: 'b' }]);
    expect(transform(b, a, 'right')).toEqual([1, { d: 'e' }]);
    expect(apply(apply(doc, b), transform(a, b, 'left'))).toBe('af');
    expect(apply(apply(doc, a), transform(b, a, 'right'))).toBe('af');
    // The same delete on both sides: nothing is left to do after the other.
    expect(transform(a, a, 'left')).toEqual([]);
  });

  it('transforming over a composition is not the same as step by step (why sync/rebase.ts stays sequential) (E3)', () => {
    // Documented NON-property. x1 inserts "111" at 1, x2 then deletes the "b" at 0. In the
    // composition the insert and the delete sit at the same position 0, so p's insert at 0
    // now ties with "111" and, being on the right, goes after it; step by step p's insert
    // is before x1's (no tie), and x2's delete does not move it past anything.
    const doc = 'bcab';
    const p: Op = ['1'];
    const x1: Op = [1, '111'];
    const x2: Op = [{ d: 'b' }];
    const composed = compose(x1, x2);
    expect(composed).toEqual(['111', { d: 'b' }]);
    const overComposition = transform(p, composed, 'right');
    const stepByStep = transform(transform(p, x1, 'right'), x2, 'right');
    expect(overComposition).toEqual([3, '1']);
    expect(stepByStep).toEqual(['1']);
    // With a distinguishable insert the two answers are different documents.
    const base = applyAll(doc, [x1, x2]);
    expect(base).toBe('111cab');
    expect(apply(base, transform(['Z'], composed, 'right'))).toBe('111Zcab');
    expect(apply(base, transform(transform(['Z'], x1, 'right'), x2, 'right'))).toBe('Z111cab');
  });
});
