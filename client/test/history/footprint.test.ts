/**
 * The local footprint of a long document after its whole history is loaded (issue 13's
 * target: IndexedDB bytes for automerge-paper ≤ 2x its encoded log). A late joiner as the
 * app makes one: the local store holds the welcome's server checkpoint and the tail after
 * it; the history cache holds every page the panel fetched backwards from the head, each
 * with the server's checkpoint (one every 1,000 events). The bytes counted are those of
 * every stored key and value (a Uint8Array its length, anything else its JSON), read
 * back from the databases; IndexedDB's own overhead per record is not in them.
 */
import 'fake-indexeddb/auto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointOf, encodeBlock, replay, Rope, replayInto, traceToEvents, type Checkpoint } from '../../../shared/src/index.js';
import { LocalStore } from '../../src/local/local-store.js';
import { HistoryCache } from '../../src/history/history-cache.js';
import { flattenPatches, loadTrace, tracesDir } from '../../../tools/trace-file.js';
import { dumpDatabase } from '../helpers/old-layout.js';

/** Bytes of a stored key or value: typed arrays by length, the rest as JSON. */
function sizeOf(v: unknown): number {
  if (v instanceof Uint8Array) return v.byteLength;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + sizeOf(x), 2);
  if (v !== null && typeof v === 'object') {
    let n = 2;
    for (const [k, x] of Object.entries(v)) n += k.length + 3 + sizeOf(x);
    return n;
  }
  return JSON.stringify(v ?? null).length;
}

async function bytesOf(name: string): Promise<Record<string, number>> {
  const dump = await dumpDatabase(name);
  const out: Record<string, number> = {};
  for (const [store, records] of Object.entries(dump)) out[store] = records.reduce((n, [k, v]) => n + sizeOf(k) + sizeOf(v), 0);
  return out;
}

describe('local footprint', () => {
  it('automerge-paper, history loaded: IndexedDB holds at most 2x the encoded log; replayed checkpoints equal the server\'s (L5, C11)', { timeout: 240_000 }, async () => {
    const trace = await loadTrace(path.join(tracesDir(), 'sequential', 'automerge-paper.json.gz'));
    if (trace.kind === 'concurrent') throw new Error('automerge-paper is sequential');
    const events = traceToEvents(flattenPatches(trace), { author: 'Ann', client: 'ann-0', times: flattenPatches(trace).map((_, i) => 1_700_000_000_000 + i * 300) });
    const head = events.length;
    const encoded = encodeBlock(events).length;

    // The server's checkpoints: one every 1,000 events.
    const cps = new Map<number, Checkpoint>();
    const rope = Rope.empty();
    for (let s = 1000; s <= head; s += 1000) {
      replayInto(rope, s - 1000, events.slice(s - 1000, s));
      cps.set(s, checkpointOf('paper', s, rope));
    }
    const latest = cps.get(Math.floor(head / 1000) * 1000)!;

    // The welcome: the latest server checkpoint and the tail after it.
    const storeR = await LocalStore.open({ name: 'footprint-local' });
    if (!storeR.ok) throw new Error(storeR.error.message);
    const store = storeR.value;
    const w = await store.write('paper', 'me-0', {
      tail: events.slice(latest.seq),
      outbox: { replace: true, events: [] },
      outboxHead: 1,
      outboxBase: head,
      outboxSize: 0,
      nextClientSeq: 1,
      checkpoint: latest,
      forceCheckpoint: true,
      summary: { title: 'paper', updatedAt: 1 },
    });
    expect(w.ok).toBe(true);
    // The welcome's checkpoint is at the tail's start; the persister checkpoints again at the head.
    const w2 = await store.write('paper', 'me-0', {
      tail: [],
      outbox: { replace: false, events: [] },
      outboxHead: 1,
      outboxBase: head,
      outboxSize: 0,
      nextClientSeq: 1,
      checkpoint: checkpointOf('paper', head, replay(latest, events.slice(latest.seq))),
    });
    expect(w2.ok).toBe(true);
    store.close();

    // The history panel: pages of 1,000 from the head down to 0, each with its server checkpoint.
    const cache = await HistoryCache.open();
    if (cache === null) throw new Error('no cache');
    for (let hi = head; hi > 0; ) {
      const lo = hi % 1000 === 0 ? hi - 1000 : hi - (hi % 1000);
      const page = events.slice(lo, hi);
      const withCp = cps.get(hi);
      expect((await cache.put('paper', page, withCp ? [withCp] : [])).ok).toBe(true);
      hi = lo;
    }
    // Every page's checkpoint can still be had (whole or replayed), equal to the server's.
    for (const s of [1000, 51_000, 99_000, 150_000, Math.floor(head / 1000) * 1000]) {
      const r = await cache.checkpointAtOrBefore('paper', s);
      expect(r.ok && r.value).toEqual(cps.get(s));
    }
    cache.close();

    const local = await bytesOf('footprint-local');
    const hist = await bytesOf('eventide-history');
    const total = Object.values(local).reduce((a, b) => a + b, 0) + Object.values(hist).reduce((a, b) => a + b, 0);
    const rawJson = events.reduce((n, e) => n + JSON.stringify(e).length, 0);
    console.log(
      `automerge-paper: ${head} events; encoded log ${encoded} B; IndexedDB ${total} B = ${(total / encoded).toFixed(2)}x ` +
        `(local ${JSON.stringify(local)}; history ${JSON.stringify(hist)}); the same events as JSON rows: ${rawJson} B`,
    );
    expect(total).toBeLessThanOrEqual(2 * encoded);
  });
});
