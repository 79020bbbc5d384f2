/**
 * Properties of blocks over random runs of events (seeded fast-check; a failure prints its
 * seed, replay it with FC_SEED=<seed>): every field of every event comes back exactly, for
 * runs of every shape the log can hold; bytes cut off anywhere or with any bit flipped are
 * refused with a code, never decoded into other events.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { encodeBlock, decodeBlock, encodeCheckpointBlock, decodeCheckpointBlock } from '../../../src/log/block/index.js';
import type { Checkpoint } from '../../../src/log/checkpoint.js';
import { crc32 } from '../../../src/log/block/envelope.js';
import { unwrap } from '../../../src/result.js';
import { seed } from '../../op/arbitraries.js';
import { logArb } from '../log-arbitraries.js';
import { authorArb, runArb, textArb } from './run-arbitraries.js';

const SEED = 1313;

function code(r: { ok: boolean; error?: { code: string } }): string {
  return r.ok ? 'ok' : (r.error as { code: string }).code;
}

describe('event blocks, property', () => {
  it('encode then decode gives back every field of every event, exactly (S1, L6, B3)', () => {
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

  it('decodes the same run whatever the deflate level it was written at, 0 (stored) included (B5)', () => {
    fc.assert(
      fc.property(runArb, fc.constantFrom(0, 1, 6, 9) as fc.Arbitrary<0 | 1 | 6 | 9>, (run, level) => {
        const bytes = encodeBlock(run, { level });
        expect(unwrap(decodeBlock(bytes))).toStrictEqual(run);
        // Level 0 stores text and columns as they are; any other level deflates only what gets smaller.
        if (level === 0 && run.length > 0) expect(bytes.length).toBeGreaterThanOrEqual(encodeBlock(run).length);
      }),
      { seed: seed(SEED + 7), numRuns: 300 },
    );
  });

  it('round-trips logs that replay: traces and several authors, at any cut (L4, L6, B3)', () => {
    fc.assert(
      fc.property(logArb(200), fc.nat(), (log, cut) => {
        const at = log.length === 0 ? 0 : cut % log.length;
        for (const run of [log, log.slice(at)]) expect(unwrap(decodeBlock(encodeBlock(run)))).toStrictEqual(run);
      }),
      { seed: seed(SEED + 1), numRuns: 150 },
    );
  });

  it('refuses every truncation of a block with block-truncated (S1, B2)', () => {
    fc.assert(
      fc.property(runArb, (run) => {
        const bytes = encodeBlock(run);
        for (let len = 0; len < bytes.length; len++) expect(code(decodeBlock(bytes.subarray(0, len)))).toBe('block-truncated');
      }),
      { seed: seed(SEED + 2), numRuns: 60 },
    );
  });

  it('refuses a block with flipped bits, with a code, never as other events (S1, B2)', () => {
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

  it('past the checksum, damaged columns decode to a coded error or to a well-formed run, never a throw (S1, B2)', () => {
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

  it('refuses a non-contiguous run or an ill-formed event as the caller’s bug, by throwing (B1)', () => {
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
  it('encode then decode gives back the checkpoint exactly (L5, S1, B2)', () => {
    fc.assert(
      fc.property(checkpointArb, (cp) => {
        expect(unwrap(decodeCheckpointBlock(encodeCheckpointBlock(cp)))).toStrictEqual(cp);
      }),
      { seed: seed(SEED + 5), numRuns: 300 },
    );
  });

  it('refuses every truncation and any flipped bit with a code (S1, B2)', () => {
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
