/**
 * Blocks, by example: a run of events and a checkpoint come back exactly from their bytes,
 * and bytes that are not a block of this version (cut off, damaged, another version or type)
 * are refused with a code, never decoded into other events (S1).
 */
import { describe, it, expect } from 'vitest';
import type { DocEvent } from '../../../src/log/event.js';
import type { Checkpoint } from '../../../src/log/checkpoint.js';
import { traceToEvents } from '../../../src/log/replay.js';
import {
  BLOCK_VERSION,
  encodeBlock,
  decodeBlock,
  encodeCheckpointBlock,
  decodeCheckpointBlock,
} from '../../../src/log/block/index.js';
import { unwrap } from '../../../src/result.js';

const typed: DocEvent[] = traceToEvents(
  [
    [0, 0, 'Hello'],
    [5, 0, ' world'],
    [10, 1, ''],
    [0, 5, 'Howdy'],
    [3, 0, '😀'],
  ],
  { author: 'ann', client: 'c-ann', times: [1732790000000, 1732790000120, 1732790000300, 1732790000301, 1732790000301] },
);

const mixed: DocEvent[] = [
  { id: { client: 'x7', clientSeq: 3 }, seq: 41, base: 40, author: 'Bob #k3', time: 1732790000123, op: [5, { d: 'a' }], kind: 'edit' },
  {
    id: { client: 'k3', clientSeq: 57 },
    seq: 42,
    base: 38,
    author: 'Ann',
    time: 1732790000100,
    op: ['ab', 4, 'c', { d: 'xyz' }],
    kind: 'undo',
    meta: { target: '12@k3', t: 1732790000000, n: -2.5, ok: true, no: false, none: null, neg: -0 },
  },
  { id: { client: 'x7', clientSeq: 4 }, seq: 43, base: 42, author: 'Bob #k3', time: 1732790000100, op: [], kind: 'restore', meta: {} },
  { id: { client: 'x7', clientSeq: 9 }, seq: 44, base: 0, author: 'Bob #k3', time: 0, op: [{ d: '\ud83d' }], kind: 'redo' },
];

describe('event blocks', () => {
  it('gives back every field of every event, deleted text included (S1, L6)', () => {
    for (const run of [typed, mixed, []]) {
      const bytes = encodeBlock(run);
      expect(bytes[0]).toBe(BLOCK_VERSION);
      const back = unwrap(decodeBlock(bytes));
      expect(back).toStrictEqual(run);
    }
    expect(Object.is(unwrap(decodeBlock(encodeBlock(mixed)))[1].meta?.neg, -0)).toBe(true);
  });

  it('keeps a lone surrogate in an op exactly, never a replacement character (S1)', () => {
    const back = unwrap(decodeBlock(encodeBlock(mixed)));
    expect(back[3].op).toStrictEqual([{ d: '\ud83d' }]);
  });

  it('is a few bytes a keystroke for one typist', () => {
    const patches: [number, number, string][] = [];
    for (let i = 0; i < 1000; i++) patches.push([i, 0, 'abcdefghij'[i % 10]]);
    const run = traceToEvents(patches, { times: patches.map((_, i) => 1732790000000 + 150 * i) });
    const bytes = encodeBlock(run);
    expect(bytes.length).toBeLessThan(200);
    expect(unwrap(decodeBlock(bytes))).toStrictEqual(run);
  });

  it('refuses a run whose seqs are not contiguous, as a bug of the caller', () => {
    expect(() => encodeBlock([mixed[0], mixed[2]])).toThrow(/contiguous/);
  });

  it('refuses a cut-off block at every length with block-truncated (S1)', () => {
    const bytes = encodeBlock(mixed);
    for (let len = 0; len < bytes.length; len++) {
      const r = decodeBlock(bytes.subarray(0, len));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('block-truncated');
    }
  });

  it('refuses another version, a checkpoint, trailing bytes and a flipped bit, each with its code (S1)', () => {
    const bytes = encodeBlock(mixed);
    const code = (b: Uint8Array) => {
      const r = decodeBlock(b);
      return r.ok ? 'ok' : r.error.code;
    };
    const other = bytes.slice();
    other[0] = BLOCK_VERSION + 1;
    expect(code(other)).toBe('block-version');
    expect(code(encodeCheckpointBlock({ docId: 'd', seq: 0, text: '', authorship: [] }))).toBe('block-malformed');
    expect(code(new Uint8Array([...bytes, 0]))).toBe('block-malformed');
    const flipped = bytes.slice();
    flipped[bytes.length >> 1] ^= 4;
    expect(code(flipped)).toBe('block-checksum');
  });
});

describe('checkpoint blocks', () => {
  const cp: Checkpoint = {
    docId: '3f2a9c',
    seq: 1000,
    text: 'Hello 😀 world\ud83d!',
    authorship: [
      { author: 'ann', length: 6 },
      { author: '3f2a9c', length: 3 },
      { author: 'ann', length: 7 },
    ],
  };

  it('gives back text and authorship exactly (L5)', () => {
    const bytes = encodeCheckpointBlock(cp);
    expect(bytes[0]).toBe(BLOCK_VERSION);
    expect(unwrap(decodeCheckpointBlock(bytes))).toStrictEqual(cp);
    const empty: Checkpoint = { docId: '', seq: 0, text: '', authorship: [] };
    expect(unwrap(decodeCheckpointBlock(encodeCheckpointBlock(empty)))).toStrictEqual(empty);
  });

  it('refuses a cut-off or damaged checkpoint block with a code (S1)', () => {
    const bytes = encodeCheckpointBlock(cp);
    for (let len = 0; len < bytes.length; len++) {
      const r = decodeCheckpointBlock(bytes.subarray(0, len));
      expect(r.ok ? 'ok' : r.error.code).toBe('block-truncated');
    }
    const flipped = bytes.slice();
    flipped[bytes.length - 6] ^= 1;
    const r = decodeCheckpointBlock(flipped);
    expect(r.ok ? 'ok' : r.error.code).toBe('block-checksum');
    const events = decodeCheckpointBlock(encodeBlock(mixed));
    expect(events.ok ? 'ok' : events.error.code).toBe('block-malformed');
  });

  it('refuses runs that do not cover the text, as a bug of the caller', () => {
    expect(() => encodeCheckpointBlock({ ...cp, text: cp.text + 'x' })).toThrow(/cover/);
  });
});
