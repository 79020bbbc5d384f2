/** fast-check generators for logs: sequences of DocEvents whose ops fit one after the other. */
import fc from 'fast-check';
import { type Op, OpBuilder, opFromSplice } from '../../src/op/op.js';
import type { DocEvent, EventKind } from '../../src/log/event.js';
import { eventKinds } from '../../src/log/event.js';
import { traceToEvents, type Patch } from '../../src/log/replay.js';

const textArb = fc.string({ unit: fc.constantFrom('a', 'b', 'c', ' ', '\n', 'é', '😀'), minLength: 0, maxLength: 8 });

/** Where and what, as numbers to be fitted to the document when the log is built. */
const intentArb = fc.record({ at: fc.nat(), del: fc.nat({ max: 6 }), ins: textArb });

/**
 * Random trace patches `[pos, deleteCount, inserted]` that fit one after the other (as
 * traceToEvents wants them). Mostly inserts, so the document grows.
 */
export function patchesArb(maxLength: number, minLength = 0): fc.Arbitrary<Patch[]> {
  return fc.array(fc.tuple(intentArb, fc.nat({ max: 9 })), { minLength, maxLength, size: 'max' }).map((steps) => {
    const patches: Patch[] = [];
    let len = 0;
    for (const [{ at, del, ins }, r] of steps) {
      const pos = at % (len + 1);
      const d = r < 3 ? Math.min(del, len - pos) : 0;
      const i = d === 0 && ins.length === 0 ? 'x' : ins;
      patches.push([pos, d, i]);
      len += i.length - d;
    }
    return patches;
  });
}

/** A single-author log made from random trace patches, as imported traces are. */
export function traceLogArb(maxLength: number, minLength = 0): fc.Arbitrary<DocEvent[]> {
  return patchesArb(maxLength, minLength).map((patches) => traceToEvents(patches, { author: 'tracer', client: 'trace' }));
}

const AUTHORS = ['ann', 'bob', 'cy', '', '😀-dana'];

/**
 * A log written by several authors: splices and two-site ops (a retain between them),
 * each event by a random author with a random kind. Built on a plain string, so the
 * deleted text in each op is what the document has there.
 */
export function multiAuthorLogArb(maxLength: number, minLength = 0): fc.Arbitrary<DocEvent[]> {
  const stepArb = fc.record({
    author: fc.constantFrom(...AUTHORS),
    kind: fc.constantFrom<EventKind>(...eventKinds),
    first: intentArb,
    second: fc.option(intentArb, { freq: 3 }),
  });
  return fc.array(stepArb, { minLength, maxLength, size: 'max' }).map((steps) => {
    const events: DocEvent[] = [];
    const clientSeq = new Map<string, number>();
    let doc = '';
    for (const { author, kind, first, second } of steps) {
      let op: Op;
      if (second === null) {
        const pos = first.at % (doc.length + 1);
        const del = Math.min(first.del, doc.length - pos);
        op = opFromSplice(pos, doc.slice(pos, pos + del), first.ins);
      } else {
        // Two sites: [p1, ins1, {d1}, gap, ins2, {d2}].
        const p1 = first.at % (doc.length + 1);
        const d1 = Math.min(first.del, doc.length - p1);
        const p2 = p1 + d1 + (second.at % (doc.length - p1 - d1 + 1));
        const d2 = Math.min(second.del, doc.length - p2);
        op = new OpBuilder()
          .retain(p1)
          .insert(first.ins)
          .delete(doc.slice(p1, p1 + d1))
          .retain(p2 - p1 - d1)
          .insert(second.ins)
          .delete(doc.slice(p2, p2 + d2))
          .done();
      }
      // Apply to the plain string (the reference semantics, independent of the rope).
      let pos = 0;
      let next = '';
      for (const c of op) {
        if (typeof c === 'number') {
          next += doc.slice(pos, pos + c);
          pos += c;
        } else if (typeof c === 'string') next += c;
        else pos += c.d.length;
      }
      doc = next + doc.slice(pos);
      const n = (clientSeq.get(author) ?? 0) + 1;
      clientSeq.set(author, n);
      const seq = events.length + 1;
      events.push({ id: { client: `c-${author}`, clientSeq: n }, seq, base: seq - 1, author, time: 1000 * seq, op, kind });
    }
    return events;
  });
}

/** Either kind of log, with lengths spread over minLength..maxLength (not fast-check's small default). */
export function logArb(maxLength: number, minLength = 0): fc.Arbitrary<DocEvent[]> {
  return fc.oneof(traceLogArb(maxLength, minLength), multiAuthorLogArb(maxLength, minLength));
}
