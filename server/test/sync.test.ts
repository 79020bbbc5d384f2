/**
 * The sync endpoint in-process (startServer with a MemoryLogStore, or a store that
 * fails on command): the paths a real process cannot easily be pushed into. A commit
 * that fails (the rooms are rebuilt, clients re-sync and lose nothing), one that is
 * reported failed but landed, catch-up from a checkpoint with and without an outbox,
 * the heartbeat, the event bucket, the handshake's refusals, rooms unloading, and the
 * clean shutdown (acks before the 1001 close). The real process is tested in
 * process-*.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/http';
import { MemoryLogStore } from '../src/store/memory-log-store';
import { silentLogger, type SyncOptions } from '../src/options';
import WebSocket from 'ws';
import { err, decodeServerFrame, eventsFrameSpan, FRAME_EVENTS, FRAME_WELCOME, PROTOCOL_VERSION, type DocEvent, type Result } from '../../shared/src/index';
import { Random } from '../../shared/test/sim/random';
import { WsClient } from './helpers/ws-client';
import { editAccess } from './helpers/tokens';
import { RawSocket } from './helpers/raw-socket';
import { checkAgainstLog, randomEdit, settle } from './helpers/typing';

/** A MemoryLogStore whose appends fail (or lie) when told to. */
class FlakyStore extends MemoryLogStore {
  failNext = 0;
  /** Store the events, then report failure anyway (an ambiguous commit). */
  lieNext = 0;
  override async appendMany(entries: readonly { docId: string; expectedHead: number; events: readonly DocEvent[] }[]): Promise<Result<null>> {
    if (this.failNext > 0) {
      this.failNext--;
      return err('store-failed', 'injected failure');
    }
    const r = await super.appendMany(entries);
    if (r.ok && this.lieNext > 0) {
      this.lieNext--;
      return err('store-failed', 'injected failure after the write');
    }
    return r;
  }
}

/**
 * A MemoryLogStore that answers appends after `delayMs`, as a store over the network does,
 * counting how many are in flight at once and what heads they expect; with `failEvery`,
 * every n-th append fails (after the wait, nothing stored).
 */
class SlowStore extends MemoryLogStore {
  delayMs = 25;
  failEvery = 0;
  inFlight = 0;
  maxInFlight = 0;
  readonly calls: { expectedHead: number; n: number; ok: boolean }[] = [];
  private count = 0;
  override async appendMany(entries: readonly { docId: string; expectedHead: number; events: readonly DocEvent[] }[]): Promise<Result<null>> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, this.delayMs));
    this.inFlight--;
    const fail = this.failEvery > 0 && ++this.count % this.failEvery === 0;
    const r = fail ? err('store-failed', 'injected failure') : await super.appendMany(entries);
    for (const e of entries) this.calls.push({ expectedHead: e.expectedHead, n: e.events.length, ok: r.ok });
    return r;
  }
}

let servers: RunningServer[] = [];
let clients: WsClient[] = [];

async function serve(store: MemoryLogStore, sync: Partial<SyncOptions> = {}): Promise<{ srv: RunningServer; url: string }> {
  const srv = await startServer({ port: 0, host: '127.0.0.1', dataDir: '/tmp', staticDir: '/nonexistent', store, sync: { log: silentLogger, ...sync } });
  servers.push(srv);
  return { srv, url: `ws://127.0.0.1:${srv.port}/ws` };
}

function client(url: string, name: string, docId = 'doc', seed = 1): WsClient {
  const c = new WsClient({ url, docId, client: name, random: new Random(seed).next.bind(new Random(seed)) });
  clients.push(c);
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(async () => {
  for (const c of clients) c.stop();
  clients = [];
  for (const s of servers) await s.close();
  servers = [];
});

describe('sync endpoint (in-process)', () => {
  it('sends a commit turn to every connection, the submitter too, as one binary live frame of the same bytes that decodes to the events (P25, P5)', async () => {
    const { url } = await serve(new MemoryLogStore());
    /** A socket that keeps every frame after its welcome as it came: bytes or text. */
    const raw = async (name: string) => {
      const ws = new WebSocket(url);
      const frames: { data: Buffer; binary: boolean }[] = [];
      let welcomed = false;
      await new Promise<void>((resolve, reject) => {
        ws.once('error', reject);
        ws.on('message', (d: Buffer, binary) => {
          if (!welcomed && binary && d[0] === FRAME_WELCOME) {
            welcomed = true;
            resolve();
          } else if (welcomed) frames.push({ data: d, binary });
        });
        ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, docId: 'live', client: name, user: { name, color: '#123' }, last: 0, ...editAccess('live') })));
      });
      return { ws, frames };
    };
    const a = await raw('a');
    const b = await raw('b');
    try {
      a.ws.send(JSON.stringify({ type: 'submit', base: 0, events: [{ id: { client: 'a', clientSeq: 1 }, author: 'a', op: ['hi'], kind: 'edit' }, { id: { client: 'a', clientSeq: 2 }, author: 'a', op: [2, '!'], kind: 'edit' }] }));
      const live = (f: { data: Buffer; binary: boolean }[]) => f.find((x) => x.binary && x.data[0] === FRAME_EVENTS);
      for (let i = 0; i < 200 && (live(a.frames) === undefined || live(b.frames) === undefined); i++) await sleep(10);
      const fa = live(a.frames)!;
      const fb = live(b.frames)!;
      expect(fa.data.equals(fb.data)).toBe(true);
      // Nothing of the stream went as text.
      expect([...a.frames, ...b.frames].filter((x) => !x.binary && x.data.toString().startsWith('{"type":"events"'))).toEqual([]);
      const r = decodeServerFrame(new Uint8Array(fa.data));
      expect(r.ok && r.value.type === 'events' && r.value.events.map((e) => [e.seq, e.id.clientSeq, e.op])).toEqual([
        [1, 1, ['hi']],
        [2, 2, [2, '!']],
      ]);
      expect(eventsFrameSpan(new Uint8Array(fa.data))).toEqual({ from: 0, end: 2 });
    } finally {
      a.ws.terminate();
      b.ws.terminate();
    }
  });

  it('converges a few typists; the room is unloaded when the last one leaves', async () => {
    const store = new MemoryLogStore();
    const { srv, url } = await serve(store);
    const rnd = new Random(7);
    const cs = [0, 1, 2, 3, 4].map((i) => client(url, `t${i}`));
    cs.forEach((c) => c.start());
    for (let k = 0; k < 60; k++) {
      for (const c of cs) randomEdit(c, rnd);
      await sleep(rnd.int(4));
    }
    const head = await settle(cs);
    expect(head).toBe(300);
    checkAgainstLog(await store.range('doc', 0, head), cs);
    expect(srv.hub.rooms.size).toBe(1);
    cs.forEach((c) => c.stop());
    for (let i = 0; i < 250 && srv.hub.rooms.size > 0; i++) await sleep(20);
    expect(srv.hub.rooms.size).toBe(0);
  });

  it('a failed commit is not acknowledged; the room is rebuilt and clients resend (L2, R7, P8)', async () => {
    const store = new FlakyStore();
    const { srv, url } = await serve(store);
    const rnd = new Random(11);
    const cs = [0, 1, 2].map((i) => client(url, `f${i}`));
    cs.forEach((c) => c.start());
    await Promise.all(cs.map((c) => c.waitFor(() => c.ready)));
    for (let k = 0; k < 40; k++) {
      if (k % 10 === 5) store.failNext = 2;
      if (k % 10 === 8) store.lieNext = 1;
      for (const c of cs) randomEdit(c, rnd);
      await sleep(3);
    }
    const head = await settle(cs);
    expect(srv.hub.queue.stats.failures).toBeGreaterThanOrEqual(3);
    expect(cs.flatMap((c) => c.errors)).toContain('store-failed');
    checkAgainstLog(await store.range('doc', 0, head), cs);
  });

  it('a slow store: one group in flight, the next sequenced meanwhile and written after it with the head it left; no ack before its append resolved (L2, R2, R17)', async () => {
    for (const failEvery of [0, 4]) {
      const store = new SlowStore();
      store.failEvery = failEvery;
      const { srv, url } = await serve(store);
      const rnd = new Random(23 + failEvery);
      const cs = [0, 1, 2, 3].map((i) => client(url, `s${failEvery}-${i}`));
      cs.forEach((c) => c.start());
      await Promise.all(cs.map((c) => c.waitFor(() => c.ready)));
      for (let k = 0; k < 50; k++) {
        for (const c of cs) randomEdit(c, rnd);
        await sleep(rnd.int(6));
        // Acks only follow a resolved append: nobody has seen acknowledged what the store lacks.
        const stored = await store.head('doc');
        for (const c of cs) expect(c.state.confirmedSeq, `failEvery ${failEvery}`).toBeLessThanOrEqual(stored);
      }
      const head = await settle(cs);
      expect(store.maxInFlight, `failEvery ${failEvery}`).toBe(1);
      // Several groups, each holding what was submitted while the one before was in flight (flush
      // pacing, K16's companion in commit-queue.ts, makes them fewer and larger under a slow store).
      expect(store.calls.length).toBeGreaterThanOrEqual(3);
      expect(store.calls.length).toBeLessThan(200);
      // Each group expects the head the groups before it left: never a head-mismatch.
      let expected = 0;
      for (const call of store.calls) {
        expect(call.expectedHead).toBe(expected);
        if (call.ok) expected += call.n;
      }
      expect(expected).toBe(head);
      if (failEvery > 0) expect(srv.hub.queue.stats.failures).toBeGreaterThan(0);
      checkAgainstLog(await store.range('doc', 0, head), cs);
      for (const c of cs) c.stop();
    }
  });

  it('catches a new client up from a checkpoint, and a far-behind client with an outbox through history (P3, P4)', async () => {
    const store = new MemoryLogStore();
    const { url } = await serve(store, { checkpointEvery: 100 });
    const rnd = new Random(3);
    const a = client(url, 'a');
    const c = client(url, 'c');
    c.start();
    await c.waitFor(() => c.ready);
    c.edit(['c']);
    await c.waitFor(() => c.state.pending.length === 0);
    c.stop();
    for (let k = 0; k < 3; k++) randomEdit(c, rnd); // offline edits
    for (let k = 0; k < 1200; k++) randomEdit(a, rnd); // made offline, sent in batches
    a.start();
    await a.waitFor(() => a.ready && a.state.pending.length === 0, 20_000);
    const b = client(url, 'b');
    b.start();
    c.start();
    const head = await settle([a, b, c]);
    expect(head).toBe(1204);
    expect(b.checkpointsUsed).toBe(1);
    expect(c.historyFetches).toBe(1);
    checkAgainstLog(await store.range('doc', 0, head), [a, b, c]);
  });

  it('drops a peer that stops answering pings, and tells the others it left (P14)', async () => {
    const { url } = await serve(new MemoryLogStore(), { heartbeatMs: 100 });
    const watcher = client(url, 'w');
    watcher.keepOthers = true;
    watcher.start();
    await watcher.waitFor(() => watcher.ready);
    const { sock } = await RawSocket.join(url, 'doc', 'silent');
    await watcher.waitFor(() => watcher.others.some((m) => m.type === 'presence' && m.client === 'silent'));
    (sock.ws as unknown as { _socket: { pause(): void } })._socket.pause(); // no more pongs
    await watcher.waitFor(() => watcher.others.some((m) => m.type === 'presence-leave' && m.client === 'silent'), 5000, 'presence-leave');
  });

  it('refuses a submit beyond the event bucket whole (K3, P7)', async () => {
    const store = new MemoryLogStore();
    const { url } = await serve(store, { events: { rate: 5, burst: 10 } });
    const { sock } = await RawSocket.join(url, 'doc', 'r');
    const events = Array.from({ length: 11 }, (_, i) => ({ id: { client: 'r', clientSeq: i + 1 }, author: 'r', op: ['x'], kind: 'edit' }));
    sock.sendJson({ type: 'submit', base: 0, events });
    expect(await sock.next('error')).toMatchObject({ code: 'rate-limited', fatal: false });
    sock.sendJson({ type: 'submit', base: 0, events: events.slice(0, 10) });
    expect(await sock.next('ack')).toMatchObject({ seq: 1 });
    await sleep(20);
    expect(await store.head('doc')).toBe(10);
  });

  it('a hello from beyond the room while its own commit is stuck gets store-failed (it re-syncs), not the fatal base-ahead; once caught up it joins (P15, P8)', async () => {
    const store = new SlowStore();
    store.delayMs = 0;
    const { url } = await serve(store);
    const { sock: a } = await RawSocket.join(url, 'doc', 'a');
    a.sendJson({ type: 'submit', base: 0, events: [{ id: { client: 'a', clientSeq: 1 }, author: 'a', op: ['x'], kind: 'edit' }] });
    await a.next('ack');
    // The room's next commit hangs (a database restarting under it) …
    store.delayMs = 2500;
    a.sendJson({ type: 'submit', base: 1, events: [{ id: { client: 'a', clientSeq: 2 }, author: 'a', op: [1, 'y'], kind: 'edit' }] });
    await sleep(50);
    // … while another node appended seqs 2-4, and a client that saw them there comes here.
    const other = [2, 3, 4].map((seq): DocEvent => ({ id: { client: 'n', clientSeq: seq - 1 }, seq, base: seq - 1, author: 'n', time: 1, op: ['z'], kind: 'edit' }));
    expect((await MemoryLogStore.prototype.appendMany.call(store, [{ docId: 'doc', expectedHead: 1, events: other }])).ok).toBe(true);
    const hello = { type: 'hello', protocol: PROTOCOL_VERSION, docId: 'doc', client: 'b', user: { name: 'b', color: '#123' }, last: 4, ...editAccess('doc') };
    const b = await RawSocket.open(url);
    b.sendJson(hello);
    expect(await b.next('error', 5000)).toMatchObject({ code: 'store-failed', fatal: false });
    b.close();
    // After its backoff the room has caught up: the same hello is welcomed from seq 4.
    await sleep(3000);
    const b2 = await RawSocket.open(url);
    b2.sendJson(hello);
    const w = await b2.next('welcome', 5000);
    expect(w.head).toBeGreaterThanOrEqual(4);
    b2.close();
    a.close();
  });

  it('answers handshake mistakes with their codes (P1, P2, P15)', async () => {
    const store = new MemoryLogStore();
    const { url } = await serve(store);
    const hello = { type: 'hello', protocol: PROTOCOL_VERSION, docId: 'doc', client: 'h', user: { name: 'h', color: '' }, last: 0, ...editAccess('doc') };

    const s1 = await RawSocket.open(url);
    s1.sendJson({ type: 'submit', base: 0, events: [{ id: { client: 'h', clientSeq: 1 }, author: 'h', op: ['x'], kind: 'edit' }] });
    expect(await s1.next('error')).toMatchObject({ code: 'not-joined', fatal: false });
    s1.sendJson({ type: 'ping', t: 5 });
    expect(await s1.next('pong')).toMatchObject({ t: 5 });
    s1.sendJson(hello);
    await s1.next('welcome');
    s1.sendJson(hello);
    expect(await s1.next('error')).toMatchObject({ code: 'already-joined', fatal: false });

    const s2 = await RawSocket.open(url);
    s2.sendJson({ ...hello, protocol: 99 });
    expect(await s2.next('error')).toMatchObject({ code: 'protocol-version', fatal: true });
    expect(await s2.waitClose()).toBe(1002);

    const s3 = await RawSocket.open(url);
    s3.sendJson({ ...hello, last: 5 });
    expect(await s3.next('error')).toMatchObject({ code: 'base-ahead', fatal: true });
    expect(await s3.waitClose()).toBe(1008);

    const s4 = await RawSocket.open(url);
    s4.send(Buffer.from('{"type":"ping","t":1}'), true);
    expect(await s4.next('error')).toMatchObject({ code: 'bad-message' });
    expect(await store.head('doc')).toBe(0);
  });

  it('shuts down cleanly: what was sequenced is stored and acknowledged before the 1001 close (P13, R2)', async () => {
    const store = new MemoryLogStore();
    const { srv, url } = await serve(store, { commitWindowMs: 50 });
    const { sock } = await RawSocket.join(url, 'doc', 's');
    const events = Array.from({ length: 5 }, (_, i) => ({ id: { client: 's', clientSeq: i + 1 }, author: 's', op: ['x'], kind: 'edit' }));
    sock.sendJson({ type: 'submit', base: 0, events });
    for (let i = 0; i < 50 && srv.hub.queue.size === 0; i++) await sleep(2); // sequenced, waiting for the window
    expect(await store.head('doc')).toBe(0);
    await srv.close();
    expect(await store.head('doc')).toBe(5);
    expect(await sock.waitClose()).toBe(1001);
    expect(sock.messages.filter((m) => m.type === 'ack').map((m) => (m as { seq: number }).seq)).toEqual([1, 2, 3, 4, 5]);
  });
});
