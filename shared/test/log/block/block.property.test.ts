/**
 * Properties of blocks over random runs of events (seeded fast-check; a failure prints its
 * seed, replay it with FC_SEED=<seed>): every field of every event comes back exactly, for
 * runs of every shape the log can hold; bytes cut off anywhere or with any bit flipped are
 * refused with a code, never decoded into other events.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { DocEvent, EventKind, EventMeta } from '../../../src/log/event.js';
import { eventKinds } from '../../../src/log/event.js';
import type { Component, Op } from '../../../src/op/op.js';
import { OpBuilder } from '../../../src/op/op.js';
import { encodeBlock, decodeBlock, encodeCheckpointBlock, decodeCheckpointBlock } from '../../../src/log/block/index.js';
import type { Checkpoint } from '../../../src/log/checkpoint.js';
import { crc32 } from '../../../src/log/block/envelope.js';
import { unwrap } from '../../../src/result.js';
import { seed } from '../../op/arbitraries.js';
import { logArb } from '../log-arbitraries.js';

const SEED = 1313;

/** Text with the awkward cases: astral pairs, lone halves of both kinds, quotes, NUL, U+FFFD. */
const unitArb = fc.constantFrom('a', 'Z', ' ', '\n', 'é', '€', '😀', '𝄞', '\ud83d', '\ude00', '"', '\\', '\u0000', '\ufffd', '\u2028');
const textArb = (min: number, max: number) => fc.string({ unit: unitArb, minLength: min, maxLength: max });

/** Any canonical op: empty, one site, several sites, long deletes. */
const opArb: fc.Arbitrary<Op> = fc
  .array(
    fc.oneof(
      fc.record({ k: fc.constant('r' as const), n: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 1 << 30 })) }),
      fc.record({ k: fc.constant('i' as const), s: textArb(1, 6) }),
      fc.record({ k: fc.constant('d' as const), s: fc.oneof({ weight: 4, arbitrary: textArb(1, 4) }, { weight: 1, arbitrary: textArb(200, 2000) }) }),
    ),
    { maxLength: 6 },
  )
  .map((parts) => {
    const b = new OpBuilder();
    for (const p of parts) {
      if (p.k === 'r') b.retain(p.n);
      else if (p.k === 'i') b.insert(p.s);
      else b.delete(p.s);
    }
    // Neighbouring retains merge; keep the sum within the op codec's limit.
    const op = (b.done() as Component[]).map((c) => (typeof c === 'number' ? Math.min(c, 1 << 30) : c));
    while (op.length > 0 && typeof op[op.length - 1] === 'number') op.pop();
    return op;
  });

const metaValueArb = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -1e6, max: 1e6 }),
  fc.double(),
  fc.constantFrom(0, -0, 2 ** 53 - 1, -(2 ** 53) + 1, 1732790000000, 0.1, 1e300, -5e-324),
  textArb(0, 8),
);
const metaKeyArb = fc.oneof(fc.constantFrom('step', 'target', 'label', 'version', 't', '__proto__', 'constructor', '', '0', '😀'), textArb(0, 4));
const metaArb: fc.Arbitrary<EventMeta | undefined> = fc.option(fc.dictionary(metaKeyArb, metaValueArb, { maxKeys: 16, noNullPrototype: true }), { nil: undefined, freq: 2 });

const clientArb = fc.oneof(fc.constantFrom('k3v9x2m8q1', 'x7', '', 'import', '😀', 'a\ud800b', 'load-c0-1'), textArb(1, 10));
const authorArb = fc.oneof(fc.constantFrom('Ann', 'Bob #k3f9x2', '', 'import', 'zoë', '\udc00'), textArb(0, 10));

interface Step {
  client: number;
  author: number;
  csJump: number | null;
  behind: number;
  dt: number;
  kind: EventKind;
  op: Op;
  meta: EventMeta | undefined;
  ownKey: number | null;
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  client: fc.nat({ max: 7 }),
  author: fc.nat({ max: 7 }),
  csJump: fc.option(fc.oneof(fc.nat({ max: 1000 }), fc.constantFrom(1, 2 ** 51, 2 ** 53 - 1)), { freq: 5 }),
  behind: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 40 }) }),
  dt: fc.oneof(fc.constant(0), fc.integer({ min: -5000, max: 5000 }), fc.constantFrom(0.5, -1e15, 1e16, -0)),
  kind: fc.constantFrom(...eventKinds),
  op: opArb,
  meta: metaArb,
  ownKey: fc.option(fc.nat({ max: 10 }), { freq: 2 }),
});

/**
 * A run of events with every field shape: up to 8 clients and authors (mixed freely, so a
 * client may change author), clientSeqs that mostly count up and sometimes jump (up to 2^53 - 1),
 * bases behind, times that go backwards or are fractional, ops of every shape, meta of every
 * allowed type including own id keys (`meta.step`).
 */
const runArb: fc.Arbitrary<DocEvent[]> = fc
  .record({
    first: fc.oneof(fc.constant(1), fc.nat({ max: 1e6 }), fc.constant(2 ** 40)),
    t0: fc.oneof(fc.constant(0), fc.constant(1732790000000), fc.integer({ min: -1e12, max: 1e13 })),
    clients: fc.array(clientArb, { minLength: 8, maxLength: 8 }),
    authors: fc.array(authorArb, { minLength: 8, maxLength: 8 }),
    steps: fc.array(stepArb, { maxLength: 60 }),
  })
  .map(({ first, t0, clients, authors, steps }) => {
    const clientSeq = new Map<string, number>();
    let time = t0;
    return steps.map((s, i): DocEvent => {
      const client = clients[s.client];
      const prev = clientSeq.get(client) ?? 0;
      const next = prev + (s.csJump ?? 1);
      const cs = next > Number.MAX_SAFE_INTEGER ? (s.csJump ?? 1) : next;
      clientSeq.set(client, cs);
      const seq = first + i;
      time = Object.is(s.dt, -0) ? -0 : time + s.dt;
      let meta = s.meta;
      if (s.ownKey !== null) meta = { ...(meta ?? {}), step: `${Math.max(0, cs - s.ownKey)}@${client}` };
      const e: DocEvent = {
        id: { client, clientSeq: cs },
        seq,
        base: Math.max(0, seq - 1 - s.behind),
        author: authors[s.author],
        time,
        op: s.op,
        kind: s.kind,
      };
      return meta === undefined ? e : { ...e, meta };
    });
  });

function code(r: { ok: boolean; error?: { code: string } }): string {
  return r.ok ? 'ok' : (r.error as { code: string }).code;
}

describe('event blocks, property', () => {
  it('encode then decode gives back every field of every event, exactly (S1, L6)', () => {
    fc.assert(
      fc.property(runArb, (run) => {
        const back = unwrap(decodeBlock(encodeBlock(run)));
        expect(back).toStrictEqual(run);
        // -0 and lone surrogates survive too (toStrictEqual already compares with Object.is).
        for (let i = 0; i < run.length; i++) {
          expect(Object.is(back[i].time, run[i].time)).toBe(true);
          expect(Object.keys(back[i].meta ?? {})).toStrictEqual(Object.keys(run[i].meta ?? {}));
        }
      }),
      { seed: seed(SEED), numRuns: 400 },
    );
  });

  it('round-trips logs that replay: traces and several authors, at any cut (L4, L6)', () => {
    fc.assert(
      fc.property(logArb(200), fc.nat(), (log, cut) => {
        const at = log.length === 0 ? 0 : cut % log.length;
        for (const run of [log, log.slice(at)]) expect(unwrap(decodeBlock(encodeBlock(run)))).toStrictEqual(run);
      }),
      { seed: seed(SEED + 1), numRuns: 150 },
    );
  });

  it('refuses every truncation of a block with block-truncated (S1)', () => {
    fc.assert(
      fc.property(runArb, (run) => {
        const bytes = encodeBlock(run);
        for (let len = 0; len < bytes.length; len++) expect(code(decodeBlock(bytes.subarray(0, len)))).toBe('block-truncated');
      }),
      { seed: seed(SEED + 2), numRuns: 60 },
    );
  });

  it('refuses a block with flipped bits, with a code, never as other events (S1)', () => {
    fc.assert(
      fc.property(runArb, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 7 })), { minLength: 1, maxLength: 3 }), (run, flips) => {
        const bytes = encodeBlock(run);
        const bad = bytes.slice();
        for (const [at, bit] of flips) bad[at % bad.length] ^= 1 << bit;
        const r = decodeBlock(bad);
        if (bad.every((b, i) => b === bytes[i])) return; // flips that cancel out
        expect(['block-checksum', 'block-truncated', 'block-malformed', 'block-version']).toContain(code(r));
      }),
      { seed: seed(SEED + 3), numRuns: 500 },
    );
  });

  it('past the checksum, damaged columns decode to a coded error or to a well-formed run, never a throw (S1)', () => {
    // The checksum is recomputed after the damage, so this reaches the decoder's own checks:
    // what it returns must be a value either way, and a run it accepts must be one that
    // encodeBlock accepts (contiguous, canonical ops, known kinds), even if not the original.
    fc.assert(
      fc.property(runArb, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 7 })), { minLength: 1, maxLength: 3 }), (run, flips) => {
        const bytes = encodeBlock(run);
        const bad = bytes.slice();
        const end = bad.length - 4;
        for (const [at, bit] of flips) bad[2 + (at % (end - 2))] ^= 1 << bit;
        const sum = crc32(bad, 0, end);
        bad.set([sum & 0xff, (sum >>> 8) & 0xff, (sum >>> 16) & 0xff, sum >>> 24], end);
        const r = decodeBlock(bad);
        if (r.ok) encodeBlock(r.value);
        else expect(['block-truncated', 'block-malformed']).toContain(r.error.code);
      }),
      { seed: seed(SEED + 7), numRuns: 500 },
    );
  });

  it('refuses a non-contiguous run or an ill-formed event as the caller’s bug, by throwing', () => {
    fc.assert(
      fc.property(runArb.filter((r) => r.length >= 2), fc.nat(), (run, k) => {
        const i = 1 + (k % (run.length - 1));
        const gap = run.map((e, j) => (j === i ? { ...e, seq: e.seq + 1 } : e));
        expect(() => encodeBlock(gap)).toThrow(/contiguous/);
        const badOp = run.map((e, j) => (j === i ? { ...e, op: [3] } : e));
        expect(() => encodeBlock(badOp)).toThrow(/op/);
      }),
      { seed: seed(SEED + 4), numRuns: 100 },
    );
  });
});

const checkpointArb: fc.Arbitrary<Checkpoint> = fc
  .record({
    docId: fc.oneof(fc.constantFrom('3f2a9c', ''), textArb(1, 6)),
    seq: fc.oneof(fc.nat(), fc.constant(2 ** 53 - 1)),
    pieces: fc.array(fc.record({ author: authorArb, text: textArb(1, 30) }), { maxLength: 20 }),
  })
  .map(({ docId, seq, pieces }) => {
    const authorship: { author: string; length: number }[] = [];
    for (const p of pieces) {
      const last = authorship[authorship.length - 1];
      if (last !== undefined && last.author === p.author) last.length += p.text.length;
      else authorship.push({ author: p.author, length: p.text.length });
    }
    return { docId, seq, text: pieces.map((p) => p.text).join(''), authorship };
  });

describe('checkpoint blocks, property', () => {
  it('encode then decode gives back the checkpoint exactly (L5, S1)', () => {
    fc.assert(
      fc.property(checkpointArb, (cp) => {
        expect(unwrap(decodeCheckpointBlock(encodeCheckpointBlock(cp)))).toStrictEqual(cp);
      }),
      { seed: seed(SEED + 5), numRuns: 300 },
    );
  });

  it('refuses every truncation and any flipped bit with a code (S1)', () => {
    fc.assert(
      fc.property(checkpointArb, fc.nat(), fc.nat({ max: 7 }), (cp, at, bit) => {
        const bytes = encodeCheckpointBlock(cp);
        for (let len = 0; len < bytes.length; len++) expect(code(decodeCheckpointBlock(bytes.subarray(0, len)))).toBe('block-truncated');
        const bad = bytes.slice();
        bad[at % bad.length] ^= 1 << bit;
        expect(['block-checksum', 'block-truncated', 'block-malformed', 'block-version']).toContain(code(decodeCheckpointBlock(bad)));
      }),
      { seed: seed(SEED + 6), numRuns: 100 },
    );
  });
});
