/**
 * Checkpoints (encode/decode, L5) and replay: a checkpoint is only a cache of the fold,
 * so the state from any checkpoint plus the rest of the log must be the state from the
 * whole log, text and authorship both.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  type Checkpoint,
  CHECKPOINT_VERSION,
  checkpointOf,
  ropeFromCheckpoint,
  encodeCheckpoint,
  decodeCheckpoint,
} from '../../src/log/checkpoint.js';
import { replay, traceToEvents } from '../../src/log/replay.js';
import type { DocEvent } from '../../src/log/event.js';
import type { AuthorRun } from '../../src/text/authorship.js';
import { invert } from '../../src/op/op.js';
import { Rope } from '../../src/text/rope.js';
import { unwrap, type Result } from '../../src/result.js';
import { NaiveDoc } from '../text/model.js';
import { seed } from '../op/arbitraries.js';
import { logArb, multiAuthorLogArb, patchesArb } from './log-arbitraries.js';

/** Text by several authors: pieces with an author each, neighbours merged into runs. */
const authoredTextArb = fc
  .array(
    fc.record({
      author: fc.constantFrom('ann', 'bob', '', 'zoë', '🦊', 'a"b\\c'),
      text: fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '\n', '"', '\\', 'é', '😀', '\u2028', '\ud83d'), minLength: 1, maxLength: 10 }),
    }),
    { maxLength: 12 },
  )
  .map((pieces) => {
    const authorship: AuthorRun[] = [];
    for (const { author, text } of pieces) {
      const last = authorship[authorship.length - 1];
      if (last !== undefined && last.author === author) authorship[authorship.length - 1] = { author, length: last.length + text.length };
      else authorship.push({ author, length: text.length });
    }
    return { text: pieces.map((p) => p.text).join(''), authorship };
  });

const checkpointArb: fc.Arbitrary<Checkpoint> = fc
  .tuple(fc.string({ maxLength: 12 }), fc.nat({ max: 1_000_000 }), authoredTextArb)
  .map(([docId, seq, { text, authorship }]) => ({ docId, seq, text, authorship }));

function expectError(r: Result<unknown>, code: string, messagePart?: RegExp): void {
  expect(r.ok, `expected ${code}, got ok`).toBe(false);
  if (r.ok) return;
  expect(r.error.code).toBe(code);
  if (messagePart !== undefined) expect(r.error.message).toMatch(messagePart);
}

/** A valid encoded checkpoint as an object, to be broken one field at a time. */
const valid = () => ({ v: 1, docId: 'd', seq: 3, text: 'abcde', authors: ['ann', 'bob'], runs: [0, 2, 1, 3] });

describe('checkpoint encoding', () => {
  it('decode(encode(cp)) deep-equals cp for random multi-author texts (non-BMP, quotes, lone surrogates)', () => {
    const SEED = 0xc4e1;
    fc.assert(
      fc.property(checkpointArb, (cp) => {
        const encoded = encodeCheckpoint(cp);
        expect(JSON.parse(encoded).v).toBe(CHECKPOINT_VERSION);
        expect(unwrap(decodeCheckpoint(encoded))).toEqual(cp);
      }),
      { seed: seed(SEED), numRuns: 500 },
    );
  });

  it('a rope survives checkpointOf → encode → decode → ropeFromCheckpoint with its text and authorship', () => {
    const SEED = 0xc4e2;
    fc.assert(
      fc.property(authoredTextArb, ({ text, authorship }) => {
        const rope = Rope.fromRuns(text, authorship);
        const back = ropeFromCheckpoint(unwrap(decodeCheckpoint(encodeCheckpoint(checkpointOf('doc', 7, rope)))));
        expect(back.toString()).toBe(text);
        expect(back.authorship()).toEqual(authorship);
      }),
      { seed: seed(SEED), numRuns: 500 },
    );
  });

  it('round trips the empty document', () => {
    const cp: Checkpoint = { docId: 'empty', seq: 0, text: '', authorship: [] };
    expect(unwrap(decodeCheckpoint(encodeCheckpoint(cp)))).toEqual(cp);
    const rope = ropeFromCheckpoint(cp);
    expect(rope.length).toBe(0);
    expect(rope.authorship()).toEqual([]);
    expect(checkpointOf('empty', 0, Rope.empty())).toEqual(cp);
  });

  it('round trips non-BMP characters, with runs counted in UTF-16 units', () => {
    const cp: Checkpoint = {
      docId: 'emoji',
      seq: 2,
      text: '😀a🦊',
      authorship: [
        { author: 'ann', length: 3 },
        { author: '🦊', length: 2 },
      ],
    };
    const encoded = encodeCheckpoint(cp);
    expect(JSON.parse(encoded)).toEqual({ v: 1, docId: 'emoji', seq: 2, text: '😀a🦊', authors: ['ann', '🦊'], runs: [0, 3, 1, 2] });
    expect(unwrap(decodeCheckpoint(encoded))).toEqual(cp);
  });

  describe('decode rejects malformed input', () => {
    const malformed: Array<[string, string, RegExp?]> = [
      ['not JSON', '{"v":1,', /not JSON/],
      ['an empty string', '', /not JSON/],
      ['JSON null', 'null', /not an object/],
      ['a JSON number', '42', /not an object/],
      ['runs covering less than the text', JSON.stringify({ ...valid(), runs: [0, 2, 1, 2] }), /cover 4 units but the text has 5/],
      ['runs covering more than the text', JSON.stringify({ ...valid(), runs: [0, 2, 1, 4] }), /cover 6/],
      ['no runs for a non-empty text', JSON.stringify({ ...valid(), runs: [] }), /cover 0/],
      ['an author index past the table', JSON.stringify({ ...valid(), runs: [0, 2, 2, 3] }), /run 1: bad author index/],
      ['a negative author index', JSON.stringify({ ...valid(), runs: [-1, 2, 1, 3] }), /run 0: bad author index/],
      ['a fractional author index', JSON.stringify({ ...valid(), runs: [0.5, 2, 1, 3] }), /run 0: bad author index/],
      ['an author index as a string', JSON.stringify({ ...valid(), runs: ['0', 2, 1, 3] }), /run 0: bad author index/],
      ['a negative length', JSON.stringify({ ...valid(), runs: [0, 7, 1, -2] }), /run 1: bad length/],
      ['a zero length', JSON.stringify({ ...valid(), runs: [0, 0, 1, 5] }), /run 0: bad length/],
      ['a fractional length', JSON.stringify({ ...valid(), runs: [0, 2.5, 1, 2.5] }), /run 0: bad length/],
      ['runs of odd length', JSON.stringify({ ...valid(), runs: [0, 2, 1] }), /pairs/],
      ['authors that are not strings', JSON.stringify({ ...valid(), authors: ['ann', 3] }), /authors/],
      ['a text that is not a string', JSON.stringify({ ...valid(), text: 5 }), /text/],
      ['a docId that is not a string', JSON.stringify({ ...valid(), docId: 1 }), /docId/],
      ['a negative seq', JSON.stringify({ ...valid(), seq: -1 }), /seq/],
      ['a fractional seq', JSON.stringify({ ...valid(), seq: 1.5 }), /seq/],
    ];
    for (const [name, input, message] of malformed) {
      it(`checkpoint-malformed: ${name}`, () => {
        expectError(decodeCheckpoint(input), 'checkpoint-malformed', message);
      });
    }

    it('checkpoint-version for v: 2 (R5)', () => {
      expectError(decodeCheckpoint(JSON.stringify({ ...valid(), v: 2 })), 'checkpoint-version', /version 2/);
    });

    it('the valid checkpoint the cases above break does decode', () => {
      expect(unwrap(decodeCheckpoint(JSON.stringify(valid())))).toEqual({
        docId: 'd',
        seq: 3,
        text: 'abcde',
        authorship: [
          { author: 'ann', length: 2 },
          { author: 'bob', length: 3 },
        ],
      });
    });
  });
});

/** The reference state: the log applied to the naive model, independent of the rope. */
function naiveState(events: readonly DocEvent[]): NaiveDoc {
  const doc = new NaiveDoc();
  for (const e of events) doc.apply(e.op, e.author);
  return doc;
}

describe('replay from a checkpoint (L5)', () => {
  it('replay(checkpoint at c, events c..v) has the same text and authorship as replay(null, events 0..v) (L5)', () => {
    const SEED = 0x15;
    fc.assert(
      fc.property(
        logArb(60).chain((events) =>
          fc
            .nat({ max: events.length })
            .chain((v) => fc.tuple(fc.constant(events), fc.constant(v), fc.nat({ max: v }), fc.boolean())),
        ),
        ([events, v, c, stored]) => {
          const full = replay(null, events.slice(0, v));
          let cp = checkpointOf('doc', c, replay(null, events.slice(0, c)));
          // Half the time, the checkpoint goes through storage (encode/decode) first.
          if (stored) cp = unwrap(decodeCheckpoint(encodeCheckpoint(cp)));
          const fromCp = replay(cp, events.slice(c, v));
          expect(fromCp.toString()).toBe(full.toString());
          expect(fromCp.authorship()).toEqual(full.authorship());
          // And both are the fold as the naive model computes it.
          const model = naiveState(events.slice(0, v));
          expect(full.toString()).toBe(model.text);
          expect(full.authorship()).toEqual(model.authorship());
        },
      ),
      { seed: seed(SEED), numRuns: 400 },
    );
  });

  it('holds for every checkpoint seq c ≤ v of a multi-author log (L5)', () => {
    const SEED = 0x1505;
    fc.assert(
      fc.property(multiAuthorLogArb(40), (events) => {
        const v = events.length;
        const full = replay(null, events);
        const want = { text: full.toString(), authorship: full.authorship() };
        for (let c = 0; c <= v; c++) {
          const cp = checkpointOf('doc', c, replay(null, events.slice(0, c)));
          const fromCp = replay(cp, events.slice(c));
          expect({ text: fromCp.toString(), authorship: fromCp.authorship() }, `checkpoint at ${c} of ${v}`).toEqual(want);
        }
      }),
      { seed: seed(SEED), numRuns: 100 },
    );
  });

  it('traceToEvents makes invertible events (L6): undoing them all in reverse gives the empty document', () => {
    const SEED = 0x16;
    fc.assert(
      fc.property(patchesArb(60), (patches) => {
        const events = traceToEvents(patches);
        const rope = replay(null, events);
        for (let i = events.length - 1; i >= 0; i--) {
          const r = rope.apply(invert(events[i].op), 'undo');
          expect(r.ok, r.ok ? '' : r.error.message).toBe(true);
        }
        expect(rope.length).toBe(0);
      }),
      { seed: seed(SEED), numRuns: 300 },
    );
  });

  it('replay throws on a gap in seqs, on events out of order, and on events that do not continue the checkpoint (L1)', () => {
    const events = traceToEvents([
      [0, 0, 'abc'],
      [1, 1, 'X'],
      [3, 0, 'd'],
      [0, 2, ''],
    ]);
    expect(replay(null, events).toString()).toBe('cd');
    const gap = [events[0], events[2], events[3]];
    expect(() => replay(null, gap)).toThrow(/expected seq 2, got 3/);
    expect(() => replay(null, [events[1], events[0]])).toThrow(/expected seq 1, got 2/);
    expect(() => replay(null, [events[0], events[0]])).toThrow(/expected seq 2, got 1/);
    const cp = checkpointOf('doc', 2, replay(null, events.slice(0, 2)));
    expect(() => replay(cp, events.slice(3))).toThrow(/expected seq 3, got 4/);
    expect(() => replay(cp, events.slice(1))).toThrow(/expected seq 3, got 2/);
    expect(replay(cp, events.slice(2)).toString()).toBe('cd');
  });
});
