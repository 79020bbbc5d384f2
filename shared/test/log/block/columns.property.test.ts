/**
 * Properties of the columnar decoded form (EventColumns, decodeColumns) over random runs
 * (seeded fast-check; a failure prints its seed, replay it with FC_SEED=<seed>): the columns
 * hold exactly the events the block was made of, field by field, one event on demand or all of
 * them; folding them gives the rope that replaying the events gives; damaged blocks are refused
 * with the same codes as decodeBlock.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { DocEvent } from '../../../src/log/event.js';
import { eventKinds } from '../../../src/log/event.js';
import { encodeBlock, decodeBlock, decodeColumns, EventColumns, OpShape } from '../../../src/log/block/index.js';
import { crc32 } from '../../../src/log/block/envelope.js';
import { replayColumnsInto, replayInto } from '../../../src/log/replay.js';
import { Rope } from '../../../src/text/rope.js';
import { unwrap } from '../../../src/result.js';
import { seed } from '../../op/arbitraries.js';
import { logArb } from '../log-arbitraries.js';
import { runArb } from './run-arbitraries.js';

const SEED = 1414;

function code(r: { ok: boolean; error?: { code: string } }): string {
  return r.ok ? 'ok' : (r.error as { code: string }).code;
}

/** Checks every column of `cols` against `run`, field by field, without building events. */
function expectColumnsHold(cols: EventColumns, run: readonly DocEvent[]): void {
  expect(cols.length).toBe(run.length);
  if (run.length > 0) expect(cols.firstSeq).toBe(run[0].seq);
  expect(cols.endSeq).toBe(cols.firstSeq + run.length);
  for (let i = 0; i < run.length; i++) {
    const e = run[i];
    expect(cols.clientOf(i)).toBe(e.id.client);
    expect(Object.is(cols.clientSeq[i], e.id.clientSeq)).toBe(true);
    expect(cols.firstSeq + i).toBe(e.seq);
    expect(cols.base[i]).toBe(e.base);
    expect(cols.authorOf(i)).toBe(e.author);
    expect(Object.is(cols.time[i], e.time)).toBe(true);
    expect(cols.kindOf(i)).toBe(e.kind);
    expect(eventKinds[cols.kind[i]]).toBe(e.kind);
    expect(cols.meta.get(i)).toStrictEqual(e.meta);
    // The op, from its shape, position and text slices.
    const inserted = e.op.filter((c): c is string => typeof c === 'string').join('');
    const deleted = e.op.map((c) => (typeof c === 'object' ? c.d : '')).join('');
    expect(cols.insertedOf(i)).toBe(inserted);
    expect(cols.deletedOf(i)).toBe(deleted);
    expect(cols.opOf(i)).toStrictEqual(e.op);
    const s = cols.shape[i];
    if (s === OpShape.General) expect(cols.generalOps.get(i)).toStrictEqual(e.op);
    else {
      expect(cols.generalOps.has(i)).toBe(false);
      if (s === OpShape.Empty) expect(e.op).toStrictEqual([]);
      else expect(cols.pos[i]).toBe(typeof e.op[0] === 'number' ? e.op[0] : 0);
    }
  }
}

describe('event columns, property', () => {
  it('the columns hold every field of every event, and eventAt / toEvents give the events back exactly (B2, B3, B4)', () => {
    fc.assert(
      fc.property(runArb, fc.nat(), (run, k) => {
        const bytes = encodeBlock(run);
        const cols = unwrap(decodeColumns(bytes));
        expectColumnsHold(cols, run);
        expect(cols.toEvents()).toStrictEqual(run);
        expect(unwrap(decodeBlock(bytes))).toStrictEqual(run);
        // Same key order as the input (JSON of the events is the same text).
        expect(JSON.stringify(cols.toEvents())).toBe(JSON.stringify(run));
        if (run.length > 0) {
          const i = k % run.length;
          expect(cols.eventAt(i)).toStrictEqual(run[i]);
          expect(Object.keys(cols.eventAt(i).meta ?? {})).toStrictEqual(Object.keys(run[i].meta ?? {}));
          const j = Math.min(run.length, i + 1 + (k % 7));
          expect(cols.slice(i, j)).toStrictEqual(run.slice(i, j));
        }
        expect(() => cols.eventAt(run.length)).toThrow(RangeError);
      }),
      { seed: seed(SEED), numRuns: 400 },
    );
  });

  it('folding the columns gives the rope replaying the events gives, from any start (L4, B4)', () => {
    fc.assert(
      fc.property(logArb(200), fc.nat(), (log, cut) => {
        const at = log.length === 0 ? 0 : cut % (log.length + 1);
        // The log from `at`, as a block: replayed onto the text at `at`, both ways.
        const before = Rope.empty();
        replayInto(before, 0, log.slice(0, at));
        const byEvents = before.clone();
        replayInto(byEvents, at, log.slice(at));
        const byColumns = before.clone();
        const cols = unwrap(decodeColumns(encodeBlock(log.slice(at))));
        replayColumnsInto(byColumns, at, cols);
        expect(byColumns.toString()).toBe(byEvents.toString());
        expect(byColumns.authorship()).toStrictEqual(byEvents.authorship());
        // A part of the run: events start .. end - 1.
        if (cols.length > 0) {
          const end = cut % (cols.length + 1);
          const part = before.clone();
          replayColumnsInto(part, at, cols, 0, end);
          const want = before.clone();
          replayInto(want, at, log.slice(at, at + end));
          expect(part.toString()).toBe(want.toString());
        }
      }),
      { seed: seed(SEED + 1), numRuns: 150 },
    );
  });

  it('refuses to fold columns that do not continue the rope (L1)', () => {
    const log = fc.sample(logArb(20, 3), { seed: SEED + 2, numRuns: 1 })[0];
    const cols = unwrap(decodeColumns(encodeBlock(log.slice(1))));
    expect(() => replayColumnsInto(Rope.empty(), 0, cols)).toThrow(/expected seq 1, got 2/);
    expect(() => replayColumnsInto(Rope.empty(), 0, cols, 0, cols.length + 1)).toThrow(RangeError);
  });

  it('refuses every truncation and any flipped bit with a code, like decodeBlock (S1, B2)', () => {
    fc.assert(
      fc.property(runArb, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 7 })), { minLength: 1, maxLength: 3 }), (run, flips) => {
        const bytes = encodeBlock(run);
        for (let len = 0; len < bytes.length; len++) expect(code(decodeColumns(bytes.subarray(0, len)))).toBe('block-truncated');
        const bad = bytes.slice();
        for (const [at, bit] of flips) bad[at % bad.length] ^= 1 << bit;
        if (bad.every((b, i) => b === bytes[i])) return; // flips that cancel out
        const r = decodeColumns(bad);
        expect(['block-checksum', 'block-truncated', 'block-malformed', 'block-version']).toContain(code(r));
        expect(code(decodeBlock(bad))).toBe(code(r));
      }),
      { seed: seed(SEED + 3), numRuns: 200 },
    );
  });

  it('past the checksum, damaged columns give a coded error or a well-formed run, never a throw (S1, B2)', () => {
    fc.assert(
      fc.property(runArb, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 7 })), { minLength: 1, maxLength: 3 }), (run, flips) => {
        const bytes = encodeBlock(run);
        const bad = bytes.slice();
        const end = bad.length - 4;
        for (const [at, bit] of flips) bad[2 + (at % (end - 2))] ^= 1 << bit;
        const sum = crc32(bad, 0, end);
        bad.set([sum & 0xff, (sum >>> 8) & 0xff, (sum >>> 16) & 0xff, sum >>> 24], end);
        const r = decodeColumns(bad);
        if (r.ok) {
          // What it accepted is a run encodeBlock accepts, and the columns say what it is.
          const events = r.value.toEvents();
          expect(unwrap(decodeColumns(encodeBlock(events))).toEvents()).toStrictEqual(events);
          expectColumnsHold(r.value, events);
        } else expect(['block-truncated', 'block-malformed']).toContain(r.error.code);
      }),
      { seed: seed(SEED + 4), numRuns: 500 },
    );
  });
});
