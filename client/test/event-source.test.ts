import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { checkpointOf, opFromSplice, replay, type DocEvent, type Result, type CodedError } from '../../shared/src/index.js';
import { EventSource, eventSourceFor, type LocalEvents, type RemoteHistory } from '../src/history/event-source.js';
import { HISTORY_KEEP } from '../src/local/local-store.js';
import { Harness, Network, settled, waitFor } from './helpers/sync-harness.js';

/** A log of n one-letter inserts by 'ann' (seq i inserts at the end). */
function makeLog(n: number): DocEvent[] {
  const out: DocEvent[] = [];
  for (let i = 1; i <= n; i++) {
    out.push({ id: { client: 'c1', clientSeq: i }, seq: i, base: i - 1, author: 'ann', time: i, op: opFromSplice(i - 1, '', 'x'), kind: 'edit' });
  }
  return out;
}

/** A local store in a map, with optional holes, counting calls. */
function fakeLocal(log: readonly DocEvent[], has: (seq: number) => boolean): LocalEvents & { calls: number } {
  const f = {
    calls: 0,
    async events(_doc: string, from: number, to: number, limit = 1000): Promise<Result<DocEvent[], CodedError>> {
      f.calls++;
      return { ok: true, value: log.filter((e) => e.seq > from && e.seq <= to && has(e.seq)).slice(0, limit) };
    },
  };
  return f;
}

function fakeRemote(log: readonly DocEvent[], online: () => boolean): RemoteHistory & { calls: number } {
  const f = Object.assign(
    async (from: number, to: number, limit: number) => {
      f.calls++;
      if (!online()) return { ok: false as const, error: { code: 'offline', message: 'not connected' } };
      const events = log.filter((e) => e.seq > from && e.seq <= to).slice(0, Math.min(limit, 1000));
      const last = events.length > 0 ? events[events.length - 1].seq : to;
      return { ok: true as const, value: { events, next: last >= to ? null : last, checkpoints: [] } };
    },
    { calls: 0 },
  );
  return f;
}

describe('EventSource', () => {
  it('serves memory, then the local store, then the server, and pages by the protocol rules (from < seq ≤ to) (P9)', async () => {
    const log = makeLog(2500);
    let head = 2000;
    const local = fakeLocal(log, (s) => s > 1200); // the store holds 1201..
    let online = true;
    const remote = fakeRemote(log, () => online);
    const src = new EventSource({ docId: 'd', head: () => head, local, remote });
    src.add(log.slice(2000, 2500)); // confirmed since open
    head = 2500;
    expect(src.memoryRange).toEqual({ from: 2000, to: 2500 });

    const mem = await src.page(2100, 2200);
    expect(mem.ok && mem.value.origin).toBe('memory');
    expect(mem.ok && mem.value.events.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => 2101 + i));
    expect(mem.ok && mem.value.next).toBe(null);

    // From the local store: 1500..2000 (touches memory, so it is remembered).
    const loc = await src.page(1500, 2600);
    expect(loc.ok && loc.value.origin).toBe('local');
    expect(loc.ok && loc.value.events.length).toBe(500);
    expect(loc.ok && loc.value.next).toBe(2000);
    expect(src.memoryRange.from).toBe(1500);

    // 1000..1500: the store has 1201.. only, so the start comes from the server.
    const all = await src.events(1000, 2500);
    expect(all.ok && all.value.map((e) => e.seq)).toEqual(Array.from({ length: 1500 }, (_, i) => 1001 + i));
    expect(remote.calls).toBe(1);

    // Beyond the head: clamped.
    const past = await src.events(2400, 9999);
    expect(past.ok && past.value.length).toBe(100);

    // Offline and not stored: an error value, not a throw.
    online = false;
    const off = await src.events(0, 1100);
    expect(off.ok).toBe(false);
    expect(!off.ok && off.error.code).toBe('offline');
  });

  it('ensureMemoryFrom brings a stretch below memory into memory across holes in the local store', async () => {
    const log = makeLog(3000);
    const local = fakeLocal(log, (s) => s % 700 !== 0); // holes at 700, 1400, 2100, 2800
    const remote = fakeRemote(log, () => true);
    const src = new EventSource({ docId: 'd', head: () => 3000, local, remote });
    const r = await src.ensureMemoryFrom(150);
    expect(r.ok).toBe(true);
    expect(src.memoryRange).toEqual({ from: 150, to: 3000 });
    expect(src.inMemory(150, 3000).map((e) => e.seq)).toEqual(Array.from({ length: 2850 }, (_, i) => 151 + i));
    const callsBefore = local.calls + remote.calls;
    const again = await src.events(150, 3000);
    expect(again.ok && again.value.length).toBe(2850);
    expect(local.calls + remote.calls).toBe(callsBefore); // served from memory
  });

  it('ensureMemoryFrom offline with nothing stored is an offline error', async () => {
    const log = makeLog(10);
    const src = new EventSource({ docId: 'd', head: () => 10, local: null, remote: fakeRemote(log, () => false) });
    const r = await src.ensureMemoryFrom(0);
    expect(!r.ok && r.error.code).toBe('offline');
  });
});

describe('EventSource over a real server, sync client and local store', () => {
  const h = new Harness();
  afterEach(() => h.close());

  it('follows confirmed events, fetches older ones from the server, and reads the local history cache offline', async () => {
    const url = await h.serve();
    const bob = await h.open(url, { name: 'bob' });
    for (let i = 0; i < 40; i++) expect(bob.edit(opFromSplice(i, '', 'b')).ok).toBe(true);
    await waitFor(() => settled(bob), 'bob settles');

    const store = await h.store();
    const net = new Network();
    const ann = await h.open(url, { name: 'ann', store, network: net });
    await waitFor(() => settled(ann) && ann.state.confirmedSeq === 40, 'ann catches up');
    const src = eventSourceFor(ann, store);
    for (let i = 0; i < 10; i++) expect(ann.edit(opFromSplice(0, '', 'a')).ok).toBe(true);
    await waitFor(() => settled(ann) && ann.state.confirmedSeq === 50, 'ann settles');
    expect(src.memoryRange).toEqual({ from: 40, to: 50 });
    expect(src.inMemory(40, 50).every((e) => e.author === 'ann' && e.kind === 'edit')).toBe(true);

    // 0..40 were caught up from the welcome (stored) — the local store serves them.
    const all = await src.events(0, 50);
    expect(all.ok && all.value.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    // Their text replays to the document.
    expect(all.ok && replay(null, all.value).toString()).toBe(ann.text());

    // The server answers history requests directly too.
    const page = await ann.history(10, 20, 5);
    expect(page.ok && page.value.events.map((e) => e.seq)).toEqual([11, 12, 13, 14, 15]);
    expect(page.ok && page.value.next).toBe(15);

    // Offline: the server is not asked; what is stored still comes back.
    net.set(false);
    await waitFor(() => ann.getSnapshot().status === 'offline', 'ann offline');
    const off = await ann.history(0, 10);
    expect(!off.ok && off.error.code).toBe('offline');
    const fresh = new EventSource({ docId: 'doc', head: () => ann.state.confirmedSeq, local: store, remote: (f, t, l) => ann.history(f, t, l) });
    const again = await fresh.events(0, 50);
    expect(again.ok && again.value.length).toBe(50);
    src.close();
  });

  it('the local store keeps confirmed events below a new checkpoint as history (HISTORY_KEEP) (C3)', async () => {
    const store = await h.store();
    const log = makeLog(30);
    const text = replay(null, log);
    const w = await store.write('d', 'c1', {
      tail: log,
      outbox: { replace: true, events: [] },
      outboxHead: 31,
      outboxBase: 30,
      outboxSize: 0,
      nextClientSeq: 31,
      checkpoint: checkpointOf('d', 30, text),
    });
    expect(w.ok && w.value.checkpointWritten).toBe(true);
    const kept = await store.events('d', 0, 30);
    expect(kept.ok && kept.value.length).toBe(30);
    const loaded = await store.load('d', 'c1');
    expect(loaded.ok && loaded.value.tail.length).toBe(0); // loading starts at the checkpoint
    expect(HISTORY_KEEP).toBeGreaterThan(1000);
  });
});
