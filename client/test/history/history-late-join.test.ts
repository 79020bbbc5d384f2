/**
 * A browser that joined a long document late (issue 6, "the history index"): the panel's
 * model loads newest first from a real server (in process, over ws) and the history
 * cache (fake-indexeddb): recent versions are scrubbable after the first step (a base
 * from a server checkpoint near the head), older history is prepended backwards until
 * version 0, and every version equals a replay of the server's log. A second model, with
 * the server stopped, loads everything (events and checkpoints) from the cache alone.
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { checkpointOf, opFromSplice, replay, tokenHash, traceToEvents, viewTokenOf, type DocEvent } from '../../../shared/src/index.js';
import { startServer, type RunningServer } from '../../../server/src/http.js';
import { MemoryLogStore } from '../../../server/src/store/memory-log-store.js';
import { MemoryAccessStore } from '../../../server/src/access/access-store.js';
import { silentLogger } from '../../../server/src/options.js';
import { importTrace } from '../../../server/src/import.js';
import { testToken } from '../../../server/test/helpers/tokens.js';
import { EventSource, type RemoteHistory } from '../../src/history/event-source.js';
import { checkpointsOf, HistoryCache, localWithCache } from '../../src/history/history-cache.js';
import { labelMeta, labelOf } from '../../src/history/labels.js';
import { HistoryModel, SESSION_GAP_MS, type HistorySnapshot, type Session } from '../../src/history/history-model.js';
import { Harness, settled, sleep, waitFor } from '../helpers/sync-harness.js';

const DOC = 'late-joiner';
const N = 3500;

/** A seeded trace of N patches (inserts and deletes), with two pauses over 10 minutes. */
function trace(seed: number): { patches: [number, number, string][]; times: number[] } {
  let x = seed >>> 0;
  const rnd = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const patches: [number, number, string][] = [];
  const times: number[] = [];
  let len = 0;
  for (let i = 1; i <= N; i++) {
    if (len > 5 && rnd() < 0.25) {
      const pos = Math.floor(rnd() * (len - 2));
      const del = 1 + Math.floor(rnd() * 2);
      patches.push([pos, del, '']);
      len -= del;
    } else {
      const pos = Math.floor(rnd() * (len + 1));
      const ins = 'abcdefgh\n'.slice(Math.floor(rnd() * 8), 9).slice(0, 1 + Math.floor(rnd() * 3));
      patches.push([pos, 0, ins]);
      len += ins.length;
    }
    times.push(1_700_000_000_000 + i * 1000 + (i > 1700 ? 3_600_000 : 0) + (i > 2900 ? 3_600_000 : 0));
  }
  return { patches, times };
}

/** Sessions the slow way: every event in seq order. */
function sessionsOf(events: readonly DocEvent[]): Session[] {
  const out: Session[] = [];
  const open = new Map<string, number>();
  for (const e of events) {
    const at = open.get(e.author);
    if (at !== undefined && e.time - out[at].end <= SESSION_GAP_MS) out[at] = { ...out[at], to: e.seq, end: e.time };
    else {
      open.set(e.author, out.length);
      out.push({ author: e.author, from: e.seq, to: e.seq, start: e.time, end: e.time });
    }
  }
  return out;
}

function counting(remote: RemoteHistory): RemoteHistory & { calls: number } {
  const f = Object.assign((from: number, to: number, limit: number) => (f.calls++, remote(from, to, limit)), { calls: 0 });
  return f;
}

describe('HistoryModel, a browser that joined a long document late', () => {
  const h = new Harness();
  let server: RunningServer | null = null;
  afterEach(async () => {
    await h.close();
    await server?.close();
    server = null;
  });

  /**
   * A server whose store holds `docId` (N events, a server checkpoint every 1000, of which
   * the store keeps 2000 and 3000: R16 prunes 1000, so the history loads below 2000 with no
   * checkpoint but version 0's) and a
   * client of it that has caught up. `authors`: three people taking turns and a label event
   * at 1234 naming version 1000, appended and checkpointed through the store; else the
   * trace imported (`importTrace`, one author).
   */
  async function lateJoiner(docId: string, seed: number, authors = false) {
    const store = new MemoryLogStore();
    const { patches, times } = trace(seed);
    if (!authors) {
      const imported = await importTrace(store, docId, patches, times, { checkpointEvery: 1000 });
      expect(imported.ok, `seed ${seed}`).toBe(true);
    } else {
      const people = ['ann', 'bob', 'cy'];
      const edits = traceToEvents(patches.slice(0, N - 1), { times });
      const all: DocEvent[] = [];
      for (let i = 0; i < N; i++) {
        const seq = i + 1;
        const author = people[Math.floor(i / 450) % 3];
        const id = { client: author, clientSeq: seq };
        if (seq === 1234) all.push({ id, seq, base: i, author, time: times[i], op: [], kind: 'edit', meta: labelMeta('draft', 1000, 'step-1234') });
        else all.push({ ...edits[seq < 1234 ? i : i - 1], id, seq, base: i, author, time: times[i] });
      }
      expect((await store.append(docId, 0, all)).ok).toBe(true);
      for (let k = 1000; k <= N; k += 1000) expect((await store.putCheckpoint(checkpointOf(docId, k, replay(null, all.slice(0, k))))).ok).toBe(true);
    }
    const access = new MemoryAccessStore();
    const token = testToken(docId);
    await access.register({ docId, editHash: tokenHash(token), viewHash: tokenHash(viewTokenOf(token)), createdAt: 0 });
    server = await startServer({ port: 0, host: '127.0.0.1', dataDir: '/tmp', staticDir: '/nonexistent', store, access, sync: { log: silentLogger } });
    const log = await store.range(docId, 0, N) as DocEvent[];
    expect(log.length).toBe(N);
    const client = await h.open(`ws://127.0.0.1:${server.port}/ws`, { docId });
    await waitFor(() => settled(client) && client.state.confirmedSeq === N, 'the welcome');
    return { log, times, client, truth: (v: number) => replay(null, log.slice(0, v)) };
  }

  it('three authors, a label and a live edit while older history loads: the head moves at once; sessions and named versions merged across the seams equal those of the whole log in order (H3)', async () => {
    const SEED = Number(process.env.FC_SEED ?? 0xa07);
    const DOC3 = 'late-joiner-authors';
    const { log, client, truth } = await lateJoiner(DOC3, SEED, true);
    const cache = await HistoryCache.open();
    // Once the head region is in, the server's history below it waits until the live event has come in (no race).
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let firstBase = -1;
    const remote: RemoteHistory = async (f, t, l) => {
      if (firstBase >= 0 && f < 3000) await gate;
      return client.history(f, t, l);
    };
    const source = new EventSource({ docId: DOC3, head: () => client.state.confirmedSeq, local: localWithCache(client.localStore, cache), remote });
    const off = client.onConfirmed((events, reset) => source.add(events, reset));
    const model = new HistoryModel(source, (events, cps) => void cache!.put(DOC3, events, cps), checkpointsOf(cache, DOC3));
    let liveAt = -1;
    model.subscribe(() => {
      const snap = model.getSnapshot();
      if (firstBase < 0 && snap.ready) {
        firstBase = snap.base;
        // Someone types while the older history loads: the head moves at once.
        expect(client.edit(opFromSplice(client.text().length, '', 'Z')).ok).toBe(true);
      }
      if (liveAt < 0 && snap.loaded === N + 1) {
        liveAt = snap.base;
        release();
      }
    });
    model.start();
    await waitFor(() => !model.getSnapshot().loading && model.getSnapshot().base === 0 && model.getSnapshot().loaded === N + 1, 'the whole history', 20_000);
    expect(firstBase, `seed ${SEED}`).toBe(3000);
    expect(liveAt, 'the live event came in while the older history was loading').toBe(3000);
    expect(model.index.textAt(N + 1)).toBe(truth(N).toString() + 'Z');
    expect(model.index.textAt(N)).toBe(truth(N).toString());
    off();
    const s = model.getSnapshot();
    expect(s.problem).toBeNull();
    expect(s.sessions).toEqual(sessionsOf([...log, model.index.eventAt(N + 1)!]));
    expect(s.sessions.length).toBeGreaterThan(6);
    expect(s.labels).toEqual(log.map(labelOf).filter((l) => l !== null));
    expect(s.labels).toMatchObject([{ name: 'draft', version: 1000, seq: 1234 }]);
    for (const v of [0, 1233, 1234, 2999, 3000, N]) {
      expect(model.index.textAt(v), `text at ${v}`).toBe(truth(v).toString());
      expect(model.index.ropeAt(v).authorship(), `authorship at ${v}`).toEqual(truth(v).authorship());
    }
    model.close();
    cache!.close();
  });

  it('offline after the first step: the head stays scrubbable, the older history is a problem message; retry loads it to 0 (H3, H7)', async () => {
    const SEED = Number(process.env.FC_SEED ?? 0x0ff1);
    const DOC2 = 'late-joiner-offline';
    const { client, truth } = await lateJoiner(DOC2, SEED);
    const cache = await HistoryCache.open();
    let online = true;
    const remote: RemoteHistory = (from, to, limit) => (online ? client.history(from, to, limit) : Promise.resolve({ ok: false, error: { code: 'offline', message: 'not connected' } }));
    const source = new EventSource({ docId: DOC2, head: () => client.state.confirmedSeq, local: localWithCache(client.localStore, cache), remote });
    const model = new HistoryModel(source, (events, cps) => void cache!.put(DOC2, events, cps), checkpointsOf(cache, DOC2));
    let cut = false;
    model.subscribe(() => {
      // The network goes the moment the head region is in.
      if (!cut && model.getSnapshot().ready) online = !(cut = true);
    });
    model.start();
    await waitFor(() => model.getSnapshot().problem !== null, 'the problem', 20_000);
    const s = model.getSnapshot();
    expect(s.base, `seed ${SEED}`).toBe(3000);
    expect(s.loaded).toBe(N);
    expect(s.problem).toMatch(/^The history before version 3000 is not on this device/);
    expect(model.index.textAt(N)).toBe(truth(N).toString());
    expect(model.index.textAt(3000)).toBe(truth(3000).toString());
    expect(() => model.index.ropeAt(2999)).toThrow(RangeError);
    online = true;
    model.retry();
    await waitFor(() => !model.getSnapshot().loading && model.getSnapshot().base === 0, 'the retry', 20_000);
    expect(model.getSnapshot().problem).toBeNull();
    for (const v of [0, 1, 1500, 2999, 3000, N]) expect(model.index.textAt(v), `text at ${v}`).toBe(truth(v).toString());
    model.close();
    cache!.close();
  });

  it('the head is scrubbable after the first step (base > 0), older history loads backwards to 0, every version equals a replay; then the cache alone serves it all (T1, H3, H5)', async () => {
    const SEED = Number(process.env.FC_SEED ?? 0x1a7e);
    const { log, times, client, truth } = await lateJoiner(DOC, SEED);

    // A fresh browser: empty history cache, a fresh local store (the welcome's checkpoint and tail).
    const cache = await HistoryCache.open();
    expect(cache, 'IndexedDB opens').not.toBeNull();
    const remote = counting((from, to, limit) => client.history(from, to, limit));
    const source = new EventSource({ docId: DOC, head: () => client.state.confirmedSeq, local: localWithCache(client.localStore, cache), remote });
    const model = new HistoryModel(source, (events, cps) => void cache!.put(DOC, events, cps), checkpointsOf(cache, DOC));
    let first: (HistorySnapshot & { calls: number; index: { text: string; base: string } }) | null = null;
    model.subscribe(() => {
      const s = model.getSnapshot();
      if (first === null && s.ready) first = { ...s, calls: remote.calls, index: { text: model.index.textAt(s.loaded), base: model.index.textAt(s.base) } };
    });
    model.start();
    await waitFor(() => first !== null, 'the first step', 20_000);
    const f = first!;
    // The first step: a base from the server checkpoint at 3000, the head reached; a couple of round trips.
    expect(f.problem, `seed ${SEED}`).toBeNull();
    expect(f.base, `seed ${SEED}`).toBe(3000);
    expect(f.loaded).toBe(N);
    expect(f.calls).toBeLessThanOrEqual(2);
    expect(f.index.text, 'the head').toBe(truth(N).toString());
    expect(f.index.base, 'the base').toBe(truth(3000).toString());

    await waitFor(() => !model.getSnapshot().loading && model.getSnapshot().base === 0, 'the whole history', 20_000);
    const s = model.getSnapshot();
    expect(s.problem).toBeNull();
    expect(s.loaded).toBe(N);
    const versions = [0, 1, 999, 1000, 1001, 2000, 2999, 3000, 3001, N - 1, N];
    for (let v = 0; v <= N; v += 97) versions.push(v);
    for (const v of versions) {
      const want = truth(v);
      expect(model.index.textAt(v), `text at ${v}, seed ${SEED}`).toBe(want.toString());
      expect(model.index.ropeAt(v).authorship(), `authorship at ${v}`).toEqual(want.authorship());
    }
    expect(model.index.eventsBetween(0, N)).toEqual(log);
    // Sessions merged across the seams equal sessions of the whole log in order (three: two pauses).
    expect(s.sessions).toEqual(sessionsOf(log));
    expect(s.sessions.length).toBe(3);
    expect(model.versionAtTime(times[1499])).toBe(1500);
    model.close();

    // The cache got every event and the server checkpoints it was sent (its writes are not awaited).
    // (They are handed over once the load is done, one transaction each: wait for the last.)
    for (let end = Date.now() + 10_000; Date.now() < end; await sleep(50)) {
      const c = await cache!.events(DOC, 0, N, N);
      if (c.ok && c.value.length === N) break;
    }
    const cached = await cache!.events(DOC, 0, N, N);
    expect(cached.ok && cached.value.length, 'events cached').toBe(N);
    const cps = await cache!.checkpoints(DOC, 0, N);
    expect(cps.ok && cps.value.map((c) => c.seq)).toEqual(expect.arrayContaining([2000, 3000]));

    // The server stops: a second panel loads it all from the cache, checkpoints included, asking the server nothing.
    await server!.close();
    server = null;
    const offline = counting(async () => ({ ok: false, error: { code: 'offline', message: 'the server is stopped' } }));
    const source2 = new EventSource({ docId: DOC, head: () => N, local: localWithCache(null, cache), remote: offline });
    const model2 = new HistoryModel(source2, () => {}, checkpointsOf(cache, DOC));
    let firstBase = -1;
    model2.subscribe(() => {
      if (firstBase < 0 && model2.getSnapshot().ready) firstBase = model2.getSnapshot().base;
    });
    model2.start();
    await waitFor(() => !model2.getSnapshot().loading && model2.getSnapshot().base === 0, 'the history from the cache', 20_000);
    expect(model2.getSnapshot().problem).toBeNull();
    expect(firstBase, 'the first base: the cached checkpoint').toBe(3000);
    expect(offline.calls, 'server requests').toBe(0);
    for (const v of versions) expect(model2.index.textAt(v), `cached: text at ${v}`).toBe(truth(v).toString());
    expect(model2.getSnapshot().sessions).toEqual(sessionsOf(log));
    model2.close();
    cache!.close();
  });
});
