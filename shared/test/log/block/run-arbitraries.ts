/**
 * Random runs of events with every field shape a block must keep (seeded by the caller's
 * fc.assert): the generators of the block codec's property tests (block.property.test.ts,
 * columns.property.test.ts).
 */
import fc from 'fast-check';
import type { DocEvent, EventKind, EventMeta } from '../../../src/log/event.js';
import { eventKinds } from '../../../src/log/event.js';
import type { Component, Op } from '../../../src/op/op.js';
import { OpBuilder } from '../../../src/op/op.js';

/** Text with the awkward cases: astral pairs, lone halves of both kinds, quotes, NUL, U+FFFD. */
const unitArb = fc.constantFrom('a', 'Z', ' ', '\n', 'é', '€', '😀', '𝄞', '\ud83d', '\ude00', '"', '\\', '\u0000', '\ufffd', '\u2028');
export const textArb = (min: number, max: number) => fc.string({ unit: unitArb, minLength: min, maxLength: max });

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
export const authorArb = fc.oneof(fc.constantFrom('Ann', 'Bob #k3f9x2', '', 'import', 'zoë', '\udc00'), textArb(0, 10));

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
export const runArb: fc.Arbitrary<DocEvent[]> = fc
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
