/**
 * The op codec (the only door from untrusted JSON into `Op`) and the validity check
 * on apply: bad input gets a coded error that says where, and changes nothing (S1).
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { type Op, normalize } from '../../src/op/op.js';
import { decodeOp, encodeOp, type OpLimits } from '../../src/op/codec.js';
import { checkOp, applyToString } from '../../src/op/apply.js';
import { Rope } from '../../src/text/rope.js';
import type { Result } from '../../src/result.js';
import { docArb, opArb, seed } from './arbitraries.js';

const wire = (op: Op): unknown => JSON.parse(JSON.stringify(encodeOp(op)));

function expectError(r: Result<unknown>, code: string, messagePart?: string | RegExp): void {
  expect(r.ok, `expected ${code}, got ok`).toBe(false);
  if (r.ok) return;
  expect(r.error.code).toBe(code);
  if (messagePart !== undefined) expect(r.error.message).toMatch(messagePart);
}

describe('decodeOp round trip', () => {
  it('decodeOp(JSON of encodeOp(op)) deep-equals op for random canonical ops', () => {
    const SEED = 0xc0de1;
    fc.assert(
      fc.property(
        docArb.chain((doc) => opArb(doc)),
        (op) => {
          const r = decodeOp(wire(op));
          expect(r.ok).toBe(true);
          if (r.ok) expect(r.value).toEqual(op);
        },
      ),
      { seed: seed(SEED), numRuns: 1000 },
    );
  });

  it('round trips non-BMP text and a surrogate pair split across a delete and a retain', () => {
    const op: Op = [1, '😀x', { d: '\ud83d' }, 1, { d: '€😀' }];
    const r = decodeOp(wire(op));
    expect(r).toEqual({ ok: true, value: op });
  });

  it('never throws on arbitrary JSON, and whatever it accepts is canonical (E1, S1)', () => {
    const SEED = 0xc0de2;
    const component = fc.oneof(
      fc.integer({ min: -3, max: 5 }),
      fc.constantFrom(0.5, Number.NaN, Infinity, -0),
      fc.string({ maxLength: 3 }),
      fc.record({ d: fc.oneof(fc.string({ maxLength: 3 }), fc.integer()) }),
      fc.constant(null),
      fc.jsonValue({ maxDepth: 2 }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.array(component, { maxLength: 6 }), fc.jsonValue({ maxDepth: 3 })), (json) => {
        const r = decodeOp(json);
        if (r.ok) expect(normalize(r.value)).toEqual(r.value);
        else expect(r.error.code).toBe('op-malformed');
      }),
      { seed: seed(SEED), numRuns: 2000 },
    );
  });
});

describe('decodeOp rejects malformed ops with op-malformed and says where (E1)', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['an empty string insert', [3, ''], /component 1/],
    ['a zero retain', [0, 'a'], /component 0/],
    ['a negative retain', ['a', -2, 'b'], /component 1/],
    ['a fractional retain', [1.5, 'a'], /component 0/],
    ['a NaN retain', [Number.NaN, 'a'], /component 0/],
    ['an infinite retain', [Infinity, 'a'], /component 0/],
    ['an empty delete {d: ""}', [2, { d: '' }], /component 1/],
    ['a delete whose text is a number {d: 1}', [{ d: 1 }], /component 0/],
    ['a delete with an extra key', [1, { d: 'x', extra: 1 }], /component 1/],
    ['a delete without d', [{ x: 'a' }], /component 0/],
    ['null', [1, null], /component 1/],
    ['a nested array', [1, ['a']], /component 1/],
    ['a boolean', [true], /component 0/],
    ['two retains in a row', [1, 2, 'a'], /component 1/],
    ['two inserts in a row', ['a', 'b'], /component 1/],
    ['two deletes in a row', [{ d: 'a' }, { d: 'b' }], /component 1/],
    ['a delete before an insert', [2, { d: 'x' }, 'a'], /component 2/],
    ['a trailing retain', ['a', 3], /component 1/],
    ['a lone retain', [7], /component 0/],
  ];
  for (const [name, json, where] of cases) {
    it(`rejects ${name}`, () => {
      expectError(decodeOp(json), 'op-malformed', where);
    });
  }

  it('rejects a non-array', () => {
    for (const json of [null, undefined, 3, 'abc', { d: 'x' }, { 0: 1, length: 1 }]) {
      expectError(decodeOp(json), 'op-malformed', /array/);
    }
  });

  it('rejects too many components (small OpLimits), and accepts exactly the limit', () => {
    const limits: OpLimits = { maxComponents: 4, maxRetain: 100 };
    expect(decodeOp([1, 'a', 1, 'b'], limits).ok).toBe(true);
    expectError(decodeOp([1, 'a', 1, 'b', { d: 'c' }], limits), 'op-malformed', /at most 4 components/);
  });

  it('rejects a retain above maxRetain', () => {
    const limits: OpLimits = { maxComponents: 10, maxRetain: 100 };
    expect(decodeOp([100, 'a'], limits).ok).toBe(true);
    expectError(decodeOp([101, 'a'], limits), 'op-malformed', /component 0/);
  });

  it('accepts the empty op (a no-op)', () => {
    expect(decodeOp([])).toEqual({ ok: true, value: [] });
  });
});

describe('ops that do not fit the document (S1, E1)', () => {
  const doc = 'hello 😀 world';
  const read = (a: number, b: number) => doc.slice(a, b);

  const outOfRange: Array<[string, Op]> = [
    ['retains past the end', [doc.length + 1, 'x']],
    ['inserts past the end', [doc.length + 3, 'x']],
    ['deletes past the end', [doc.length - 2, { d: 'ld!' }]],
    ['deletes from past the end', [doc.length, { d: 'x' }]],
  ];
  const mismatch: Array<[string, Op]> = [
    ['deletes text that is not there', [6, { d: 'X' }]],
    ['deletes half of the right text', [0, { d: 'help' }]],
    ['deletes the wrong half of a surrogate pair', [6, { d: '\ude00' }]],
    ['the second delete does not match', [{ d: 'h' }, 2, { d: 'l' }, 1, { d: 'x' }]],
  ];

  for (const [name, op] of outOfRange) {
    it(`checkOp and applyToString: op-out-of-range when the op ${name}`, () => {
      expectError(checkOp(op, doc.length, read), 'op-out-of-range', new RegExp(`is ${doc.length} long`));
      expectError(applyToString(doc, op), 'op-out-of-range');
    });
  }
  for (const [name, op] of mismatch) {
    it(`checkOp and applyToString: op-delete-mismatch when the op ${name}`, () => {
      expectError(checkOp(op, doc.length, read), 'op-delete-mismatch');
      expectError(applyToString(doc, op), 'op-delete-mismatch');
    });
  }

  it('retaining exactly to the end fits', () => {
    expect(checkOp([doc.length, 'x'], doc.length, read).ok).toBe(true);
    expect(checkOp([doc.length - 5, { d: 'world' }], doc.length, read).ok).toBe(true);
  });

  it('Rope.apply rejects each bad op and leaves the rope unchanged (text and authorship)', () => {
    const rope = Rope.fromRuns(doc, [
      { author: 'ann', length: 6 },
      { author: 'bob', length: 3 },
      { author: 'ann', length: doc.length - 9 },
    ]);
    const text = rope.toString();
    const authorship = rope.authorship();
    for (const [, op] of outOfRange) {
      expectError(rope.apply(op, 'mallory'), 'op-out-of-range');
      expect(rope.toString()).toBe(text);
      expect(rope.authorship()).toEqual(authorship);
    }
    for (const [, op] of mismatch) {
      expectError(rope.apply(op, 'mallory'), 'op-delete-mismatch');
      expect(rope.toString()).toBe(text);
      expect(rope.authorship()).toEqual(authorship);
    }
    // A good op still applies afterwards.
    expect(rope.apply([6, { d: '😀' }], 'bob').ok).toBe(true);
    expect(rope.toString()).toBe('hello  world');
  });

  it('Rope.apply rejects ops that do not fit a random document, and changes nothing (property)', () => {
    const SEED = 0xc0de3;
    fc.assert(
      fc.property(
        docArb.chain((d) => fc.tuple(fc.constant(d), opArb(d), fc.nat({ max: 4 }), fc.boolean())),
        ([d, op, extra, mismatchIt]) => {
          // Make the op not fit: either reach further than the document, or change a deleted char.
          let bad: Op;
          if (mismatchIt && op.some((c) => typeof c === 'object')) {
            bad = op.map((c) => (typeof c === 'object' ? { d: `#${c.d.slice(1)}` } : c));
          } else {
            const reach = op.reduce<number>((n, c) => n + (typeof c === 'string' ? 0 : typeof c === 'number' ? c : c.d.length), 0);
            bad = normalize([...op, d.length - reach + 1 + extra, 'x']);
          }
          const rope = Rope.from(d, 'ann');
          const r = rope.apply(bad, 'mallory');
          expect(r.ok).toBe(false);
          if (!r.ok) expect(['op-out-of-range', 'op-delete-mismatch']).toContain(r.error.code);
          expect(rope.toString()).toBe(d);
          expect(rope.authorship()).toEqual(d.length > 0 ? [{ author: 'ann', length: d.length }] : []);
          expect(applyToString(d, bad).ok).toBe(false);
        },
      ),
      { seed: seed(SEED), numRuns: 1000 },
    );
  });
});
