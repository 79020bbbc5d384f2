/**
 * The room's cached blocks (block-cache.ts): what it builds welcomes and history pages from
 * must decode to exactly the events and checkpoints of the log, cached or not.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_CHUNK, decodeBlock, decodeCheckpointBlock, encodeBlock, encodeCheckpointBlock, type Checkpoint, type DocEvent } from '../../shared/src/index';
import { BlockCache, type BlockSource } from '../src/block-cache';

function ev(seq: number, text = 'x'): DocEvent {
  return { id: { client: 'c', clientSeq: seq }, seq, base: seq - 1, author: 'Ann "the" \u2028 <b>', time: 1_700_000_000_000 + seq, op: seq === 1 ? [text] : [seq - 1, text], kind: 'edit' };
}
const evs = (from: number, to: number, text?: string) => Array.from({ length: to - from }, (_, i) => ev(from + i + 1, text));
const cp = (seq: number): Checkpoint => ({ docId: 'd', seq, text: `text at ${seq}`.padEnd(20, '.'), authorship: [{ author: 'Ann', length: 20 }] });

/** A log of `n` events with a checkpoint every chunk, counting its reads. */
function source(n: number) {
  const log = evs(0, n);
  const reads: [number, number][] = [];
  const cpReads: number[] = [];
  const s: BlockSource = {
    range(from, to) {
      reads.push([from, to]);
      return log.slice(from, to);
    },
    checkpointAtOrBefore(at) {
      cpReads.push(at);
      return at >= PAGE_CHUNK ? cp(Math.floor(at / PAGE_CHUNK) * PAGE_CHUNK) : null;
    },
  };
  return { log, reads, cpReads, s };
}
const decoded = (blocks: Uint8Array[]) => blocks.flatMap((b) => {
  const r = decodeBlock(b);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
});

describe('BlockCache', () => {
  it('gives blocks that decode to exactly the log for any range, split at chunks, each chunk encoded once (R11)', () => {
    const { log, reads, s } = source(3500);
    const c = new BlockCache(s);
    c.reset(3500);
    for (const [a, b] of [[0, 3500], [0, 1], [999, 1001], [1000, 2000], [1500, 3499], [3499, 3500], [7, 7]] as const) {
      const blocks = c.runs(a, b);
      expect(blocks.length).toBe(a === b ? 0 : Math.floor((b - 1) / PAGE_CHUNK) - Math.floor(a / PAGE_CHUNK) + 1);
      expect(decoded(blocks)).toEqual(log.slice(a, b));
    }
    const before = reads.length;
    c.runs(0, 3000);
    expect(reads.length).toBe(before); // three whole chunks, all kept
    expect(c.run(1000, 2000)).toEqual(encodeBlock(log.slice(1000, 2000)));
    expect(() => c.run(999, 1001)).toThrow(RangeError);
    expect(() => c.run(5, 5)).toThrow(RangeError);
  });

  it('encodes the newest events without a store read, and starts them over after a gap (R11)', () => {
    const { log, reads, s } = source(2600);
    const c = new BlockCache(s);
    c.reset(0);
    c.push(log.slice(0, 2000));
    c.push(log.slice(2000, 2600));
    expect(c.head).toBe(2600);
    expect(decoded(c.runs(1000, 2600))).toEqual(log.slice(1000, 2600));
    expect(reads).toEqual([]);
    expect(decoded(c.runs(0, 10))).toEqual(log.slice(0, 10)); // dropped from memory: read
    expect(reads).toEqual([[0, 10]]);
    c.push(evs(2700, 2705));
    expect(c.head).toBe(2705);
  });

  it('prices what it sends: events and checkpoints cost their blocks\' bytes (P9)', () => {
    const { s, cpReads } = source(3000);
    const c = new BlockCache(s);
    c.reset(3000);
    expect(c.events(0, 1000)).toBe(c.run(0, 1000).length);
    const block = c.checkpointBlock(2000);
    expect(decodeCheckpointBlock(block)).toEqual({ ok: true, value: cp(2000) });
    expect(c.checkpoint(2000)).toBe(block.length);
    expect(cpReads).toEqual([2000]); // kept after the first read
    expect(() => c.checkpointBlock(2500)).toThrow(/no checkpoint at 2500/);
    c.keepCheckpoint(cp(3000));
    expect(decodeCheckpointBlock(c.checkpointBlock(3000))).toEqual({ ok: true, value: cp(3000) });
    expect(cpReads).toEqual([2000, 2500]); // a kept checkpoint is not read
  });

  it('warms what the head completed: whole chunks of the newest events and kept checkpoints, without a store read (R11)', () => {
    const { log, reads, cpReads, s } = source(2500);
    const c = new BlockCache(s);
    c.reset(0);
    expect(c.cold).toBe(false);
    c.push(log.slice(0, 999));
    expect(c.cold).toBe(false); // no whole chunk yet
    c.push(log.slice(999, 2500));
    c.keepCheckpoint(cp(2000));
    expect(c.cold).toBe(true);
    c.warm();
    expect(c.cold).toBe(false);
    reads.length = 0;
    expect(decoded(c.runs(1000, 2000))).toEqual(log.slice(1000, 2000));
    expect(decodeCheckpointBlock(c.checkpointBlock(2000))).toEqual({ ok: true, value: cp(2000) });
    expect(reads).toEqual([]);
    expect(cpReads).toEqual([]);
  });

  it('sends a store\'s block of exactly a chunk, and its stored checkpoint, as the stored bytes; anything else is encoded (R26, R11)', () => {
    const { log, reads, cpReads, s } = source(3500);
    // The store keeps blocks of 1,000 from seq 1 up to 2000, then one of 2001-2500 (an idle seal), then rows.
    const kept = [encodeBlock(log.slice(0, 1000)), encodeBlock(log.slice(1000, 2000)), encodeBlock(log.slice(2000, 2500))];
    const spans = [[1, 1000], [1001, 2000], [2001, 2500]];
    const cpKept = new Map([[2000, encodeCheckpointBlock(cp(2000))]]);
    const asked: [number, number][] = [];
    const stored: BlockSource = {
      ...s,
      storedBlocks(from, to) {
        asked.push([from, to]);
        return spans.flatMap(([first, last], i) => (first > from && last <= to ? [{ first, last, data: kept[i] }] : []));
      },
      storedCheckpoint: (seq) => cpKept.get(seq) ?? null,
    };
    const c = new BlockCache(stored);
    c.reset(3500);
    const blocks = c.runs(0, 3500);
    expect(blocks[0]).toBe(kept[0]); // the very bytes, not an equal copy
    expect(blocks[1]).toBe(kept[1]);
    expect(decoded(blocks)).toEqual(log); // event for event, whatever was stored and whatever encoded
    expect(reads).toEqual([[2000, 3000], [3000, 3500]]); // the stored chunks were not read as events
    expect(c.run(1500, 2000)).not.toBe(kept[1]); // a part of a chunk is encoded
    expect(decoded([c.run(1500, 2000)])).toEqual(log.slice(1500, 2000));
    expect(c.checkpointBlock(2000)).toBe(cpKept.get(2000));
    expect(cpReads).toEqual([]);
    expect(() => c.checkpointBlock(3000)).toThrow(/no checkpoint at 3000/);
    // A damaged stored block throws from the store (R26): the page fails, nothing is sent.
    const broken = new BlockCache({ ...s, storedBlocks: () => { throw new Error('corrupt event: block-checksum'); } });
    broken.reset(3500);
    expect(() => broken.runs(0, 1000)).toThrow(/block-checksum/);
  });

  it('keeps about maxBytes, dropping the least recently used chunks first', () => {
    const { log, reads, s } = source(10_000);
    const one = encodeBlock(log.slice(0, 1000)).length;
    const c = new BlockCache(s, one * 3.5);
    c.reset(10_000);
    c.runs(0, 5000);
    reads.length = 0;
    c.runs(4000, 5000); // the newest: kept
    expect(reads).toEqual([]);
    c.runs(0, 1000); // the oldest: dropped
    expect(reads).toEqual([[0, 1000]]);
  });
});
