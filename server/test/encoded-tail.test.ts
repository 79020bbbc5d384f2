/**
 * The room's kept JSON of its newest events (encoded-tail.ts): what it splices into
 * welcomes and history pages must be exactly what encoding the events would give.
 */
import { describe, expect, it } from 'vitest';
import type { Checkpoint, DocEvent } from '../../shared/src/index';
import { EncodedTail } from '../src/encoded-tail';

function ev(seq: number, text = 'x'): DocEvent {
  return { id: { client: 'c', clientSeq: seq }, seq, base: seq - 1, author: 'Ann "the" \u2028 <b>', time: 1_700_000_000_000 + seq, op: [seq - 1, text], kind: 'edit' };
}
const evs = (from: number, to: number, text?: string) => Array.from({ length: to - from }, (_, i) => ev(from + i + 1, text));

describe('EncodedTail', () => {
  it('joins exactly what JSON.stringify writes for any range it covers (R11)', () => {
    const t = new EncodedTail(100);
    t.reset(10);
    const all = evs(10, 60);
    const texts = t.push(all.slice(0, 25));
    expect(texts).toEqual(all.slice(0, 25).map((e) => JSON.stringify(e)));
    t.push(all.slice(25));
    expect(t.head).toBe(60);
    for (const [a, b] of [[10, 60], [10, 11], [33, 47], [59, 60], [60, 60]] as const) {
      expect(t.covers(a, b)).toBe(true);
      expect(`[${t.join(a, b)}]`).toBe(JSON.stringify(all.slice(a - 10, b - 10)));
    }
    expect(t.covers(9, 20)).toBe(false);
    expect(t.covers(20, 61)).toBe(false);
    expect(() => t.join(9, 20)).toThrow(RangeError);
  });

  it('reads what it does not hold, and gives [] for an empty range', () => {
    const t = new EncodedTail(10);
    t.reset(0);
    t.push(evs(0, 30)); // keeps 21..30
    const reads: [number, number][] = [];
    const read = (a: number, b: number) => {
      reads.push([a, b]);
      return evs(a, b);
    };
    expect(t.eventsJson(20, 30, read)).toBe(JSON.stringify(evs(20, 30)));
    expect(reads).toEqual([]);
    expect(t.eventsJson(5, 30, read)).toBe(JSON.stringify(evs(5, 30)));
    expect(reads).toEqual([[5, 30]]);
    expect(t.eventsJson(7, 7, read)).toBe('[]');
  });

  it('keeps at most maxEvents and about maxChars, dropping the oldest', () => {
    const t = new EncodedTail(5, 1_000_000);
    t.reset(0);
    t.push(evs(0, 3000));
    expect(t.covers(2995, 3000)).toBe(true);
    expect(t.covers(2994, 3000)).toBe(false);
    expect(`[${t.join(2995, 3000)}]`).toBe(JSON.stringify(evs(2995, 3000)));

    const big = new EncodedTail(1000, 5_000);
    big.reset(0);
    big.push(evs(0, 3, 'y'.repeat(2_000)));
    expect(big.covers(1, 3)).toBe(true);
    expect(big.covers(0, 3)).toBe(false); // three of ~2 kB each are over 5 kB
    big.push(evs(3, 4, 'z'.repeat(50_000)));
    expect(big.covers(3, 4)).toBe(true); // the newest always stays, however large
    expect(big.covers(2, 4)).toBe(false);
  });

  it('starts over when events do not continue it (after a reload)', () => {
    const t = new EncodedTail();
    t.reset(0);
    t.push(evs(0, 10));
    t.push(evs(20, 25));
    expect(t.covers(20, 25)).toBe(true);
    expect(t.covers(9, 25)).toBe(false);
    expect(t.head).toBe(25);
  });

  it('keeps the newest few checkpoints as JSON', () => {
    const t = new EncodedTail(100, 1000, 2);
    const cp = (seq: number): Checkpoint => ({ docId: 'd', seq, text: `text at ${seq}`, authorship: [{ author: 'Ann', length: 10 }] });
    expect(t.keepCheckpoint(cp(1000))).toBe(JSON.stringify(cp(1000)));
    t.keepCheckpoint(cp(2000));
    t.keepCheckpoint(cp(3000));
    expect(t.checkpointText(1000)).toBeUndefined();
    expect(JSON.parse(t.checkpointText(3000)!)).toEqual(cp(3000));
    t.reset(0);
    expect(t.checkpointText(3000)).toBeUndefined();
  });
});
