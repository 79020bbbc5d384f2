/**
 * The LogStore contract (server/src/store/log-store.ts): one suite that every store
 * passes, run by memory.test.ts and sqlite.test.ts. `make` returns a fresh, empty store
 * for each test; the suite closes it.
 *
 * What is a caller's bug rather than an expected failure is part of the contract too:
 * seqs that do not continue the head (L1), an id appended twice (L3) and a checkpoint
 * beyond the head throw, and store nothing.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import type { LogStore } from '../../src/store/log-store.js';
import {
  type Checkpoint,
  type CheckpointRetention,
  keptCheckpoints,
  type DocEvent,
  type EventKind,
  type EventMeta,
  type Op,
  Rope,
  checkpointOf,
  replay,
  traceToEvents,
  decodeBlock,
  decodeCheckpointBlock,
} from '../../../shared/src/index.js';

/** An event at `seq` inserting `text` at the start (valid on any document). */
export function ev(seq: number, more: Partial<Omit<DocEvent, 'seq'>> & { text?: string } = {}): DocEvent {
  const { text, ...rest } = more;
  return {
    id: { client: 'c1', clientSeq: seq },
    seq,
    base: seq - 1,
    author: 'ann',
    time: 1_700_000_000_000 + seq,
    op: [text ?? `e${seq} `],
    kind: 'edit',
    ...rest,
  };
}

/** Events seqs from + 1 … from + n. */
export function evs(from: number, n: number, more: (seq: number) => Partial<Omit<DocEvent, 'seq'>> = () => ({})): DocEvent[] {
  return Array.from({ length: n }, (_, i) => ev(from + i + 1, more(from + i + 1)));
}

/** `xs` shuffled by a seeded LCG (Fisher-Yates), so a failure names its order. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let x = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function seqs(events: readonly DocEvent[]): number[] {
  return events.map((e) => e.seq);
}

/** A checkpoint of the document made by `events` (all of them). */
function cpAt(docId: string, events: readonly DocEvent[]): Checkpoint {
  return checkpointOf(docId, events.length, replay(null, events));
}

/** What the suite may ask of a store it makes; nothing: the store's defaults. */
export interface ContractStoreOptions {
  checkpointRetention?: CheckpointRetention;
}

export function logStoreContract(name: string, make: (options?: ContractStoreOptions) => LogStore): void {
  describe(`LogStore contract: ${name}`, () => {
    let s: LogStore;
    beforeEach(() => {
      s = make();
    });
    afterEach(() => {
      s.close();
    });

    it('an unknown document is empty: head 0, no events, ids, checkpoints or listing', () => {
      expect(s.head('nope')).toBe(0);
      expect(s.range('nope', 0, 100)).toEqual([]);
      expect(s.seqOf('nope', { client: 'c1', clientSeq: 1 })).toBeUndefined();
      expect(s.lastClientSeq('nope', 'c1')).toBe(0);
      expect(s.checkpointAtOrBefore('nope', 100)).toBeNull();
      expect(s.checkpointSeqs('nope', 0, 100)).toEqual([]);
      expect(s.listDocuments()).toEqual([]);
    });

    it('append continues the head; seqs run 1, 2, 3, … without a gap (L1); documents are separate', () => {
      expect(s.append('a', 0, evs(0, 3))).toEqual({ ok: true, value: null });
      expect(s.head('a')).toBe(3);
      expect(s.append('a', 3, evs(3, 2)).ok).toBe(true);
      expect(s.append('a', 5, [ev(6)]).ok).toBe(true);
      expect(s.head('a')).toBe(6);
      expect(seqs(s.range('a', 0, 6))).toEqual([1, 2, 3, 4, 5, 6]);
      expect(s.append('b', 0, evs(0, 2)).ok).toBe(true);
      expect(s.head('b')).toBe(2);
      expect(s.head('a')).toBe(6);
      expect(seqs(s.range('b', 0, 100))).toEqual([1, 2]);
    });

    it('head-mismatch refuses, names the document and both heads, and stores nothing (R1)', () => {
      const first = s.append('a', 1, [ev(2)]);
      expect(first.ok).toBe(false);
      if (!first.ok) {
        expect(first.error.code).toBe('head-mismatch');
        expect(first.error.message).toContain('"a"');
      }
      expect(s.head('a')).toBe(0);
      expect(s.listDocuments()).toEqual([]);

      s.append('a', 0, evs(0, 3));
      for (const stale of [0, 2, 4]) {
        const r = s.append('a', stale, evs(stale, 2, (q) => ({ id: { client: 'c2', clientSeq: q } })));
        expect(r.ok).toBe(false);
        if (!r.ok) {
          expect(r.error.code).toBe('head-mismatch');
          expect(r.error.message).toMatch(new RegExp(`${stale}.*3`));
        }
      }
      expect(s.head('a')).toBe(3);
      expect(s.range('a', 0, 10)).toEqual(evs(0, 3));
      expect(s.seqOf('a', { client: 'c2', clientSeq: 4 })).toBeUndefined();
      expect(s.lastClientSeq('a', 'c2')).toBe(0);
    });

    it('an empty append checks the head, stores nothing and lists nothing', () => {
      expect(s.append('a', 0, []).ok).toBe(true);
      expect(s.head('a')).toBe(0);
      expect(s.listDocuments()).toEqual([]);
      const r = s.append('a', 1, []);
      expect(!r.ok && r.error.code).toBe('head-mismatch');
      expect(s.appendMany([]).ok).toBe(true);
    });

    it('caller bugs throw and store nothing: seqs that do not continue the head (L1), an id appended twice (L3, R1)', () => {
      s.append('a', 0, evs(0, 2));
      expect(() => s.append('a', 2, [ev(4)])).toThrow(/\(seq 4\): expected seq 3/);
      expect(() => s.append('a', 2, [ev(3), ev(3, { id: { client: 'c1', clientSeq: 99 } })])).toThrow(/L1/);
      // The id c1:2 is already at seq 2.
      expect(() => s.append('a', 2, [ev(3, { id: { client: 'c2', clientSeq: 1 } }), ev(4, { id: { client: 'c1', clientSeq: 2 } })])).toThrow(
        /L3/,
      );
      // Twice in one call.
      expect(() => s.append('a', 2, [ev(3, { id: { client: 'c3', clientSeq: 1 } }), ev(4, { id: { client: 'c3', clientSeq: 1 } })])).toThrow(
        /L3/,
      );
      expect(s.head('a')).toBe(2);
      expect(s.range('a', 0, 10)).toEqual(evs(0, 2));
      expect(s.seqOf('a', { client: 'c2', clientSeq: 1 })).toBeUndefined();
      expect(s.lastClientSeq('a', 'c3')).toBe(0);
      // The same id in another document is another event.
      expect(s.append('b', 0, evs(0, 2)).ok).toBe(true);
    });

    it('malformed events are caller bugs: thrown, naming the problem, and nothing of the call is stored (R1)', () => {
      s.append('a', 0, evs(0, 1));
      const cases: [Partial<DocEvent> | Record<string, unknown>, RegExp][] = [
        [{ op: [3] }, /op: .*must not end with a retain/],
        [{ op: ['a', 'b'] }, /op: .*two inserts in a row/],
        [{ op: 'abc' as unknown as Op }, /op: an op must be an array/],
        [{ kind: 'explode' as EventKind }, /unknown kind "explode"/],
        [{ base: 3 }, /base must be an integer from 0 to seq - 1/],
        [{ base: -1 }, /base/],
        [{ id: { client: 'c1', clientSeq: 0 } }, /clientSeq must be an integer ≥ 1/],
        [{ id: { client: 'c\ud800', clientSeq: 5 } }, /id.client .*lone surrogates/],
        [{ author: 'bad\udc00' }, /author .*lone surrogates/],
        [{ author: 7 as unknown as string }, /author/],
        [{ time: Number.NaN }, /time must be a finite number/],
        [{ meta: [1] as unknown as EventMeta }, /meta must be an object/],
        [{ meta: { x: { y: 1 } } as unknown as EventMeta }, /meta.x must be/],
        [{ meta: { x: Infinity } }, /meta.x must be/],
      ];
      for (const [more, message] of cases) {
        expect(() => s.append('a', 1, [ev(2), { ...ev(3), ...more } as DocEvent]), JSON.stringify(more)).toThrow(message);
      }
      expect(() => s.append('\ud800', 0, [ev(1)])).toThrow(/lone surrogate/);
      expect(s.head('a')).toBe(1);
      expect(s.range('a', 0, 10)).toEqual(evs(0, 1));
    });

    it('appendMany stores entries for several documents together; one bad entry stores nothing of any (R2)', () => {
      s.append('a', 0, evs(0, 2));
      // c's expected head is wrong: a and b stay as they were.
      const bad = s.appendMany([
        { docId: 'a', expectedHead: 2, events: evs(2, 2) },
        { docId: 'b', expectedHead: 0, events: evs(0, 3) },
        { docId: 'c', expectedHead: 1, events: [ev(2)] },
      ]);
      expect(!bad.ok && bad.error.code).toBe('head-mismatch');
      expect(!bad.ok && bad.error.message).toContain('"c"');
      expect(s.head('a')).toBe(2);
      expect(s.head('b')).toBe(0);
      expect(s.range('b', 0, 10)).toEqual([]);
      expect(s.listDocuments().map((d) => d.docId)).toEqual(['a']);
      // A caller bug in the last entry: thrown, and still nothing stored.
      expect(() =>
        s.appendMany([
          { docId: 'b', expectedHead: 0, events: evs(0, 3) },
          { docId: 'a', expectedHead: 2, events: [ev(4)] },
        ]),
      ).toThrow(/L1/);
      expect(s.head('b')).toBe(0);
      // Entries apply in order: a later entry for the same document continues an earlier one.
      const good = s.appendMany([
        { docId: 'a', expectedHead: 2, events: evs(2, 2) },
        { docId: 'b', expectedHead: 0, events: evs(0, 3) },
        { docId: 'a', expectedHead: 4, events: [ev(5)] },
      ]);
      expect(good.ok).toBe(true);
      expect(seqs(s.range('a', 0, 10))).toEqual([1, 2, 3, 4, 5]);
      expect(seqs(s.range('b', 0, 10))).toEqual([1, 2, 3]);
      // …and one that does not continue it refuses the whole call.
      const stale = s.appendMany([
        { docId: 'b', expectedHead: 3, events: [ev(4)] },
        { docId: 'a', expectedHead: 5, events: [ev(6)] },
        { docId: 'a', expectedHead: 5, events: [ev(6, { id: { client: 'c9', clientSeq: 1 } })] },
      ]);
      expect(!stale.ok && stale.error.code).toBe('head-mismatch');
      expect(s.head('a')).toBe(5);
      expect(s.head('b')).toBe(3);
    });

    it('range returns from < seq ≤ to, clipped to the log; empty and reversed ranges are empty', () => {
      s.append('a', 0, evs(0, 10));
      expect(seqs(s.range('a', 0, 10))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(seqs(s.range('a', 3, 5))).toEqual([4, 5]);
      expect(seqs(s.range('a', 8, 100))).toEqual([9, 10]);
      expect(seqs(s.range('a', 0, Number.MAX_SAFE_INTEGER))).toHaveLength(10);
      expect(seqs(s.range('a', -5, 2))).toEqual([1, 2]);
      expect(seqs(s.range('a', 9, 10))).toEqual([10]);
      expect(s.range('a', 5, 5)).toEqual([]);
      expect(s.range('a', 7, 3)).toEqual([]);
      expect(s.range('a', 10, 20)).toEqual([]);
      expect(s.range('a', 0, 0)).toEqual([]);
      expect(s.range('b', 0, 10)).toEqual([]);
    });

    it('a long log of interleaved clients, appended in uneven batches: every range, every id, every duplicate refused (L1, L3)', () => {
      // Long enough that a block store seals most of it; every (from, to) pair crosses or
      // touches whatever boundaries the store has between its sealed and unsealed parts.
      const clients = ['p', 'q', 'r'];
      const next = new Map<string, number>();
      const log = evs(0, 41, (q) => {
        const client = clients[(q * 7) % 5 === 0 ? 2 : q % 2];
        const clientSeq = (next.get(client) ?? 0) + 1;
        next.set(client, clientSeq);
        return { id: { client, clientSeq }, author: client, ...(q % 4 === 0 ? { meta: { q, odd: false } } : {}) };
      });
      for (let at = 0, n = 1; at < log.length; at += n, n = (n % 7) + 2) {
        expect(s.append('a', at, log.slice(at, at + n)).ok).toBe(true);
      }
      s.append('b', 0, evs(0, 3));
      expect(s.head('a')).toBe(41);
      for (let from = -1; from <= 43; from++) {
        for (let to = from; to <= 43; to++) {
          expect(s.range('a', from, to), `range ${from}, ${to}`).toEqual(log.slice(Math.max(0, from), Math.max(0, Math.min(41, to))));
        }
      }
      for (const e of log) expect(s.seqOf('a', e.id)).toBe(e.seq);
      for (const c of clients) {
        expect(s.lastClientSeq('a', c)).toBe(next.get(c));
        expect(s.seqOf('a', { client: c, clientSeq: next.get(c)! + 1 })).toBeUndefined();
      }
      // Any id of the log, old or new, appended again is refused and nothing is stored (L3).
      for (const old of [log[0], log[5], log[20], log[39], log[40]]) {
        expect(() => s.append('a', 41, [ev(42, { id: { client: 'fresh', clientSeq: 1 } }), ev(43, { id: old.id })]), String(old.seq)).toThrow(/L3/);
      }
      expect(s.head('a')).toBe(41);
      expect(s.seqOf('a', { client: 'fresh', clientSeq: 1 })).toBeUndefined();
      // A new clientSeq of an old client goes on.
      expect(s.append('a', 41, [ev(42, { id: { client: 'p', clientSeq: next.get('p')! + 1 } })]).ok).toBe(true);
      expect(s.seqOf('a', { client: 'p', clientSeq: next.get('p')! + 1 })).toBe(42);
      expect(s.range('a', 39, 42).map((e) => e.seq)).toEqual([40, 41, 42]);
      expect(s.range('b', 0, 10)).toEqual(evs(0, 3));
    });

    it('seqOf and lastClientSeq answer per document and client (L3)', () => {
      // Two clients interleaved in a, one of them also in b.
      s.append('a', 0, [
        ev(1, { id: { client: 'x', clientSeq: 1 } }),
        ev(2, { id: { client: 'y', clientSeq: 1 } }),
        ev(3, { id: { client: 'x', clientSeq: 2 } }),
      ]);
      s.append('a', 3, [ev(4, { id: { client: 'y', clientSeq: 2 } }), ev(5, { id: { client: 'y', clientSeq: 3 } })]);
      s.append('b', 0, [ev(1, { id: { client: 'x', clientSeq: 7 } })]);
      expect(s.seqOf('a', { client: 'x', clientSeq: 1 })).toBe(1);
      expect(s.seqOf('a', { client: 'y', clientSeq: 1 })).toBe(2);
      expect(s.seqOf('a', { client: 'x', clientSeq: 2 })).toBe(3);
      expect(s.seqOf('a', { client: 'y', clientSeq: 3 })).toBe(5);
      expect(s.seqOf('a', { client: 'x', clientSeq: 3 })).toBeUndefined();
      expect(s.seqOf('a', { client: 'x', clientSeq: 7 })).toBeUndefined();
      expect(s.seqOf('b', { client: 'x', clientSeq: 7 })).toBe(1);
      expect(s.seqOf('a', { client: 'z', clientSeq: 1 })).toBeUndefined();
      expect(s.lastClientSeq('a', 'x')).toBe(2);
      expect(s.lastClientSeq('a', 'y')).toBe(3);
      expect(s.lastClientSeq('b', 'x')).toBe(7);
      expect(s.lastClientSeq('b', 'y')).toBe(0);
      expect(s.lastClientSeq('a', 'z')).toBe(0);
    });

    it('checkpoints: put, replace at the same seq, atOrBefore, checkpointSeqs; per document', () => {
      const log = evs(0, 9, (q) => ({ author: q % 2 ? 'ann' : 'bob' }));
      s.append('a', 0, log);
      s.append('b', 0, evs(0, 9));
      const cp3 = cpAt('a', log.slice(0, 3));
      const cp6 = cpAt('a', log.slice(0, 6));
      expect(s.putCheckpoint(cp3)).toEqual({ ok: true, value: null });
      expect(s.putCheckpoint(cp6).ok).toBe(true);
      expect(s.putCheckpoint(checkpointOf('a', 0, Rope.empty())).ok).toBe(true);
      expect(s.putCheckpoint(cpAt('b', evs(0, 5))).ok).toBe(true);

      expect(s.checkpointAtOrBefore('a', 0)?.seq).toBe(0);
      expect(s.checkpointAtOrBefore('a', 2)).toEqual({ docId: 'a', seq: 0, text: '', authorship: [] });
      expect(s.checkpointAtOrBefore('a', 3)).toEqual(cp3);
      expect(s.checkpointAtOrBefore('a', 5)).toEqual(cp3);
      expect(s.checkpointAtOrBefore('a', 6)).toEqual(cp6);
      expect(s.checkpointAtOrBefore('a', 1000)).toEqual(cp6);
      expect(s.checkpointAtOrBefore('a', -1)).toBeNull();
      expect(s.checkpointAtOrBefore('b', 4)).toBeNull();
      expect(s.checkpointAtOrBefore('b', 9)?.seq).toBe(5);
      expect(cp6.authorship.length).toBeGreaterThan(1); // several authors survive the round trip

      expect(s.checkpointSeqs('a', 0, 100)).toEqual([0, 3, 6]);
      expect(s.checkpointSeqs('a', 3, 6)).toEqual([3, 6]);
      expect(s.checkpointSeqs('a', 1, 5)).toEqual([3]);
      expect(s.checkpointSeqs('a', 7, 9)).toEqual([]);
      expect(s.checkpointSeqs('a', 6, 3)).toEqual([]);
      expect(s.checkpointSeqs('b', 0, 100)).toEqual([5]);

      // A second checkpoint at seq 3 replaces the first (same state, other author naming here).
      const again: Checkpoint = { docId: 'a', seq: 3, text: cp3.text, authorship: [{ author: 'zoë', length: cp3.text.length }] };
      expect(s.putCheckpoint(again).ok).toBe(true);
      expect(s.checkpointAtOrBefore('a', 4)).toEqual(again);
      expect(s.checkpointSeqs('a', 0, 100)).toEqual([0, 3, 6]);

      // Checkpoints do not list a document, nor change its head.
      expect(s.head('a')).toBe(9);
      // One beyond the head is a caller's bug.
      expect(() => s.putCheckpoint({ docId: 'a', seq: 10, text: '', authorship: [] })).toThrow(/head is 9/);
      expect(() => s.putCheckpoint({ docId: 'c', seq: 1, text: '', authorship: [] })).toThrow(/head is 0/);
      expect(s.checkpointSeqs('a', 0, 100)).toEqual([0, 3, 6]);
    });

    it('stored blocks lie within the range, in order, and decode to exactly its events; a stored checkpoint to the checkpoint at its seq (R26)', () => {
      if (s.storedBlocks === undefined || s.storedCheckpoint === undefined) return; // optional: a store without them is read with range
      const log = evs(0, 20, (q) => ({ author: q % 3 ? 'ann' : 'bob', id: { client: q % 2 ? 'c1' : 'c2', clientSeq: q } }));
      s.append('a', 0, log.slice(0, 7));
      s.append('a', 7, log.slice(7));
      for (const [from, to] of [[0, 20], [0, 3], [3, 9], [5, 6], [12, 40], [19, 20], [20, 30], [7, 7], [9, 4]] as const) {
        const got = s.storedBlocks('a', from, to);
        let prev: number = from;
        for (const b of got) {
          expect(b.first).toBeGreaterThan(prev);
          expect(b.last).toBeGreaterThanOrEqual(b.first);
          expect(b.last).toBeLessThanOrEqual(Math.min(to, 20));
          const d = decodeBlock(b.data);
          expect(d.ok && d.value).toEqual(s.range('a', b.first - 1, b.last));
          prev = b.last;
        }
      }
      expect(s.storedBlocks('b', 0, 20)).toEqual([]);
      const cp9 = cpAt('a', log.slice(0, 9));
      expect(s.putCheckpoint(cp9).ok).toBe(true);
      const block = s.storedCheckpoint('a', 9);
      expect(block).not.toBeNull();
      expect(decodeCheckpointBlock(block!)).toEqual({ ok: true, value: cp9 });
      expect(s.storedCheckpoint('a', 8)).toBeNull();
      expect(s.storedCheckpoint('b', 9)).toBeNull();
    });

    it('keeps the newest two checkpoints and, older, those at multiples of thinEvery, pruning as it writes, in any order (R16)', () => {
      const rule = { keepNewest: 2, thinEvery: 5 };
      const t = make({ checkpointRetention: rule });
      try {
        const log = evs(0, 23, (q) => ({ author: q % 3 ? 'ann' : 'bob' }));
        t.append('a', 0, log);
        t.append('b', 0, evs(0, 3));
        expect(t.putCheckpoint(cpAt('b', evs(0, 1))).ok).toBe(true);
        const written: number[] = [];
        for (let seq = 1; seq <= 23; seq++) {
          expect(t.putCheckpoint(cpAt('a', log.slice(0, seq))).ok).toBe(true);
          written.push(seq);
          // After every write: exactly what the rule keeps of what was written.
          expect(t.checkpointSeqs('a', 0, 23)).toEqual(keptCheckpoints(written, rule));
        }
        expect(t.checkpointSeqs('a', 0, 23)).toEqual([5, 10, 15, 20, 22, 23]);
        for (const seq of [5, 10, 15, 20, 22, 23]) expect(t.checkpointAtOrBefore('a', seq)).toEqual(cpAt('a', log.slice(0, seq)));
        // A pruned one is gone for good: atOrBefore falls back to the kept one below it (L5).
        expect(t.checkpointAtOrBefore('a', 14)).toEqual(cpAt('a', log.slice(0, 10)));
        // An older one written late is neither among the newest nor a multiple: pruned at once.
        expect(t.putCheckpoint(cpAt('a', log.slice(0, 3))).ok).toBe(true);
        expect(t.checkpointSeqs('a', 0, 23)).toEqual([5, 10, 15, 20, 22, 23]);
        // Another document's checkpoints are its own.
        expect(t.checkpointSeqs('b', 0, 3)).toEqual([1]);

        // The outcome depends on the set written, not the order (seeded shuffles of 1…23).
        for (let seed = 1; seed <= 5; seed++) {
          const u = make({ checkpointRetention: rule });
          try {
            u.append('a', 0, log);
            const order = shuffled(Array.from({ length: 23 }, (_, i) => i + 1), seed);
            for (const seq of order) u.putCheckpoint(cpAt('a', log.slice(0, seq)));
            expect(u.checkpointSeqs('a', 0, 23), `seed ${seed}, order ${order.join(',')}`).toEqual([5, 10, 15, 20, 22, 23]);
          } finally {
            u.close();
          }
        }
      } finally {
        t.close();
      }
    });

    it('a checkpoint plus the range after it replays to the same document as the whole log (L5)', () => {
      const patches: [number, number, string][] = [
        [0, 0, 'hello world'],
        [5, 6, ''],
        [0, 0, '😀 '],
        [3, 0, ', wörld'],
        [1, 1, ''],
        [0, 1, 'a\ud83d'],
      ];
      const log = traceToEvents(patches, { author: 'ann', client: 'c1' });
      s.append('a', 0, log);
      s.putCheckpoint(checkpointOf('a', 3, replay(null, s.range('a', 0, 3))));
      const cp = s.checkpointAtOrBefore('a', s.head('a'));
      expect(cp?.seq).toBe(3);
      const fromCp = replay(cp, s.range('a', cp!.seq, s.head('a')));
      const whole = replay(null, log);
      expect(fromCp.toString()).toBe(whole.toString());
      expect(fromCp.authorship()).toEqual(whole.authorship());
    });

    it('listDocuments: documents with events, most recently edited first (ties by docId), with head and time of the last event', () => {
      s.append('old', 0, evs(0, 2, (q) => ({ time: 1000 + q })));
      s.append('new', 0, evs(0, 1, () => ({ time: 5000 })));
      s.append('tie-b', 0, evs(0, 3, () => ({ time: 3000 })));
      s.append('tie-a', 0, evs(0, 1, () => ({ time: 3000 })));
      s.putCheckpoint(checkpointOf('cp-only', 0, Rope.empty()));
      expect(s.listDocuments()).toEqual([
        { docId: 'new', head: 1, updatedAt: 5000 },
        { docId: 'tie-a', head: 1, updatedAt: 3000 },
        { docId: 'tie-b', head: 3, updatedAt: 3000 },
        { docId: 'old', head: 2, updatedAt: 1002 },
      ]);
      // An edit moves a document to the front.
      s.appendMany([{ docId: 'old', expectedHead: 2, events: [ev(3, { time: 9000 })] }]);
      expect(s.listDocuments()[0]).toEqual({ docId: 'old', head: 3, updatedAt: 9000 });
      expect(s.listDocuments()).toHaveLength(4);
    });

    it('events round trip exactly: deletes, unicode (surrogate pairs, lone halves), meta, every kind', () => {
      const kinds: EventKind[] = ['edit', 'undo', 'redo', 'restore'];
      const ops: Op[] = [
        ['plain'],
        [3, 'ins', { d: 'del' }, 2, { d: 'x' }],
        [{ d: 'gone' }],
        [1, '😀🦊 zoë — 中文 \u0301e\u2028\n\t"\\'],
        [2, { d: '👩‍👩‍👧' }],
        ['\ud83d'], // half of a pair: ops may split surrogate pairs
        [1, '\ude00', { d: '\ud83d' }],
        ['\u0000nul'],
        ['x'.repeat(100_000)],
      ];
      const metas: (EventMeta | undefined)[] = [
        undefined,
        { clientTime: 1_700_000_000_123, tz: 'Europe/Zürich', paste: true, none: null, neg: -1.5, emoji: '😀' },
        {},
      ];
      const log: DocEvent[] = ops.map((op, i) => {
        const meta = metas[i % metas.length];
        return {
          id: { client: i % 2 ? 'tab-😀' : 'c1', clientSeq: 10 + i },
          seq: i + 1,
          base: Math.floor(i / 2),
          author: i % 3 ? 'Zoë 🦊' : 'ann',
          time: 1_700_000_000_000 + i * 1000 + (i === 2 ? 0.123 : 0),
          op,
          kind: kinds[i % kinds.length],
          ...(meta !== undefined ? { meta } : {}),
        };
      });
      const docId = 'doc/ü 😀';
      const copy = structuredClone(log);
      expect(s.append(docId, 0, log).ok).toBe(true);
      const back = s.range(docId, 0, 100);
      expect(back).toStrictEqual(copy);
      expect(s.seqOf(docId, { client: 'tab-😀', clientSeq: 11 })).toBe(2);
      expect(s.lastClientSeq(docId, 'tab-😀')).toBe(17);
      expect(s.listDocuments()).toEqual([{ docId, head: ops.length, updatedAt: log[log.length - 1].time }]);
    });

    it('callers cannot change stored state through what they passed in or got back (R8)', () => {
      const log = [ev(1, { meta: { a: 1 } }), ev(2, { op: [1, 'x', { d: 'y' }] })];
      const original = structuredClone(log);
      s.append('a', 0, log);
      // Change the caller's own objects after the append.
      (log[0] as { author: string }).author = 'mallory';
      (log[0].meta as Record<string, unknown>).a = 2;
      (log[1].op as unknown[]).push('z');
      ((log[1].op[2] as { d: string }) as { d: string }).d = 'q';
      // Change what range returned (frozen objects throw; plain copies just change).
      const got = s.range('a', 0, 2);
      const tryTo = (f: () => void) => {
        try {
          f();
        } catch {
          /* frozen */
        }
      };
      tryTo(() => ((got[0] as { author: string }).author = 'eve'));
      tryTo(() => ((got[0].id as { clientSeq: number }).clientSeq = 99));
      tryTo(() => ((got[0].meta as Record<string, unknown>).a = 3));
      tryTo(() => (got[1].op as unknown[]).push('w'));
      tryTo(() => ((got[1].op[2] as { d: string }).d = 'w'));
      got.pop();
      expect(s.range('a', 0, 2)).toStrictEqual(original);
      expect(s.seqOf('a', { client: 'c1', clientSeq: 1 })).toBe(1);
      expect(s.seqOf('a', { client: 'c1', clientSeq: 99 })).toBeUndefined();

      const cp = cpAt('a', original);
      const cpCopy = structuredClone(cp);
      s.putCheckpoint(cp);
      (cp as { text: string }).text = 'changed';
      const gotCp = s.checkpointAtOrBefore('a', 2)!;
      tryTo(() => ((gotCp as { text: string }).text = 'changed too'));
      tryTo(() => (gotCp.authorship as unknown[]).pop());
      expect(s.checkpointAtOrBefore('a', 2)).toStrictEqual(cpCopy);
      // listDocuments hands out its own objects too.
      const docs = s.listDocuments();
      tryTo(() => ((docs[0] as { head: number }).head = 77));
      expect(s.listDocuments()[0].head).toBe(2);
    });
  });
}
