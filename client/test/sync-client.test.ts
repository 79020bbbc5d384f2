/**
 * The browser's sync client against the real server in-process (MemoryLogStore), with
 * fake-indexeddb for the local store and the `ws` package's WebSocket in place of the
 * browser's. The network's online/offline state and Web Locks are test doubles.
 */
import { editAccess, testToken } from '../../server/test/helpers/tokens.js';
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { startServer, type RunningServer } from '../../server/src/http.js';
import { MemoryLogStore } from '../../server/src/store/memory-log-store.js';
import { silentLogger, type SyncOptions } from '../../server/src/options.js';
import { PROTOCOL_VERSION, SHORTEST_BATCH_MS, opFromSplice, replay, type Op } from '../../shared/src/index.js';
import { LocalStore, type DocWrite } from '../src/local/local-store.js';
import { SyncClient, diffChange, type SocketLike } from '../src/sync/sync-client.js';
import { Locks, Network, settled, sleep, waitFor } from './helpers/sync-harness.js';
import { restoreState } from '../src/local/restore.js';
import type { StoredDoc } from '../src/local/local-store.js';

const restoreStateText = (doc: StoredDoc) => restoreState(doc, 'x', 'x').state.live.toString();

let servers: RunningServer[] = [];
let clients: SyncClient[] = [];
let stores: LocalStore[] = [];
let dbCount = 0;

async function serve(store = new MemoryLogStore(), sync: Partial<SyncOptions> = {}, port = 0) {
  const srv = await startServer({ port, host: '127.0.0.1', dataDir: '/tmp', staticDir: '/nonexistent', store, sync: { log: silentLogger, ...sync } });
  servers.push(srv);
  return { srv, store, url: `ws://127.0.0.1:${srv.port}/ws` };
}

async function localStore(name = `sync-test-${++dbCount}`): Promise<LocalStore> {
  const r = await LocalStore.open({ name });
  if (!r.ok) throw new Error(r.error.message);
  stores.push(r.value);
  return r.value;
}

interface OpenOpts {
  store?: LocalStore | null;
  network?: Network;
  locks?: Locks;
  name?: string;
  docId?: string;
  manualStart?: boolean;
  extra?: Partial<Parameters<typeof SyncClient.open>[0]>;
}

async function open(url: string, o: OpenOpts = {}): Promise<SyncClient> {
  const c = await SyncClient.open({
    docId: o.docId ?? 'doc',
    ...editAccess(o.docId ?? 'doc'),
    user: { name: o.name ?? 'ann', color: '#c00' },
    store: o.store === undefined ? await localStore() : o.store,
    url,
    socket: (u) => new WebSocket(u) as unknown as SocketLike,
    network: o.network ?? new Network(),
    locks: (o.locks ?? new Locks()) as unknown as LockManager,
    schedule: (f) => setTimeout(f, 1),
    backoffMinMs: 20,
    backoffMaxMs: 200,
    manualStart: o.manualStart,
    ...o.extra,
  });
  clients.push(c);
  return c;
}


const mirrors = new WeakMap<SyncClient, { text: string }>();

function type(c: SyncClient, pos: number, s: string): void {
  for (let i = 0; i < s.length; i++) {
    const op = opFromSplice(pos + i, '', s[i]);
    const r = c.edit(op);
    if (!r.ok) throw new Error(r.error.message);
    const m = mirrors.get(c);
    if (m) m.text = applyOp(m.text, op);
  }
}

/** Mirrors what the editor does: its own edits, then the remote changes, kept in a string. */
function mirror(c: SyncClient): { text: string } {
  const m = { text: c.text() };
  mirrors.set(c, m);
  c.onRemote((changes) => {
    for (const ch of changes) m.text = applyOp(m.text, ch.op);
  });
  return m;
}

function applyOp(s: string, op: Op): string {
  let out = '';
  let i = 0;
  for (const c of op) {
    if (typeof c === 'number') {
      out += s.slice(i, i + c);
      i += c;
    } else if (typeof c === 'string') out += c;
    else i += c.d.length;
  }
  return out + s.slice(i);
}

afterEach(async () => {
  for (const c of clients) await c.close();
  clients = [];
  for (const s of servers) await s.close();
  servers = [];
  for (const s of stores) s.close();
  stores = [];
});

describe('SyncClient', () => {
  it('two clients typing at the same spot and apart converge to the log (L4)', async () => {
    const { store, url } = await serve();
    const a = await open(url, { name: 'ann' });
    const b = await open(url, { name: 'bob' });
    const ma = mirror(a);
    const mb = mirror(b);
    await waitFor(() => settled(a) && settled(b), 'both online');
    type(a, 0, 'hello');
    type(b, 0, 'world');
    await waitFor(() => settled(a) && settled(b) && a.state.confirmedSeq === 10 && b.state.confirmedSeq === 10, 'first round');
    type(a, 0, '[');
    type(b, b.text().length, ']');
    type(a, 3, 'xyz');
    type(b, 3, 'pqr');
    await waitFor(() => settled(a) && settled(b) && a.state.confirmedSeq === 18 && b.state.confirmedSeq === 18, 'second round');
    const logText = replay(null, await store.range('doc', 0, 18)).toString();
    expect(a.text()).toBe(logText);
    expect(b.text()).toBe(logText);
    expect(ma.text).toBe(logText);
    expect(mb.text).toBe(logText);
    expect(logText.length).toBe(18);
    // Presence: each sees the other by name.
    await waitFor(() => a.getSnapshot().peers.length === 1 && b.getSnapshot().peers.length === 1, 'presence');
    expect(a.getSnapshot().peers[0].user.name).toBe('bob');
  });

  it('sends the caret only once the edits before it are acknowledged, so others see it after the text (C5)', async () => {
    const { url } = await serve();
    const a = await open(url, { name: 'ann' });
    const b = await open(url, { name: 'bob' });
    await waitFor(() => settled(a) && settled(b), 'both online');
    const seen: { len: number; head: number }[] = [];
    b.subscribe(() => {
      const peer = b.getSnapshot().peers.find((p) => p.client === a.client);
      if (peer?.cursor) seen.push({ len: b.text().length, head: peer.cursor.head });
    });
    for (let i = 0; i < 20; i++) {
      type(a, i, 'x');
      a.setCursor({ anchor: i + 1, head: i + 1 });
      await sleep(2);
    }
    await waitFor(() => settled(a) && b.state.confirmedSeq === 20, 'typed');
    await waitFor(() => seen.length > 0 && seen[seen.length - 1].head === 20, 'the last caret');
    // Never a caret beyond the text it counts.
    for (const s of seen) expect(s.head).toBeLessThanOrEqual(s.len);
  });

  it('a rename reaches the others at once over the same connection, and a newcomer hears the new name (P10)', async () => {
    const { url } = await serve();
    let sockets = 0;
    const a = await open(url, {
      name: 'ann',
      extra: {
        socket: (u) => {
          sockets++;
          return new WebSocket(u) as unknown as SocketLike;
        },
      },
    });
    const b = await open(url, { name: 'bob' });
    await waitFor(() => settled(a) && settled(b) && b.getSnapshot().peers.length === 1, 'both online');
    a.setCursor({ anchor: 0, head: 0 });
    type(a, 0, 'abc');
    a.setUser({ name: 'Ann Renamed', color: '#1a7f37' });
    a.setCursor({ anchor: 1, head: 3 });
    await waitFor(() => b.getSnapshot().peers[0]?.user.name === 'Ann Renamed', 'the new name');
    expect(b.getSnapshot().peers[0].user.color).toBe('#1a7f37');
    await waitFor(() => b.getSnapshot().peers[0]?.cursor?.head === 3, 'the selection');
    expect(b.getSnapshot().peers[0].cursor).toEqual({ anchor: 1, head: 3 });
    expect(sockets).toBe(1);
    const c = await open(url, { name: 'carl' });
    await waitFor(() => c.getSnapshot().peers.length === 2, 'who is here');
    expect(c.getSnapshot().peers.find((p) => p.client === a.client)?.user.name).toBe('Ann Renamed');
  });

  it('without a local store (IndexedDB unavailable) edits are sent from memory, and say why', async () => {
    const { store, url } = await serve();
    const a = await open(url, { store: null, extra: { storageError: { code: 'unavailable', message: 'no IndexedDB' } } });
    await waitFor(() => settled(a), 'online');
    type(a, 0, 'from memory');
    await waitFor(() => settled(a) && a.state.confirmedSeq === 11, 'sent');
    expect(a.getSnapshot().storageError?.code).toBe('unavailable');
    expect(replay(null, await store.range('doc', 0, 11)).toString()).toBe('from memory');
  });

  it('a stored copy that cannot be read is left alone: edits go from memory under a fresh client id (C4)', async () => {
    const { store, url } = await serve();
    const local = await localStore();
    const first = await open(url, { store: local });
    await waitFor(() => settled(first), 'online');
    type(first, 0, 'stored');
    await waitFor(() => settled(first) && first.state.confirmedSeq === 6, 'typed');
    await first.flushStorage();
    await first.close();
    const broken = Object.create(local) as LocalStore;
    broken.load = () => Promise.resolve({ ok: false as const, error: { code: 'failed' as const, message: 'unreadable' } });
    const second = await open(url, { store: broken });
    expect(second.getSnapshot().storageError?.code).toBe('failed');
    expect(second.client).not.toBe(first.client);
    await waitFor(() => settled(second) && second.state.confirmedSeq === 6, 'caught up from the server');
    type(second, 6, '+');
    await waitFor(() => settled(second) && second.state.confirmedSeq === 7, 'sent from memory');
    expect(replay(null, await store.range('doc', 0, 7)).toString()).toBe('stored+');
    // Nothing was written over the stored copy.
    const slots = await local.slotsOf('doc');
    expect(slots.ok && slots.value.map((x) => x.client)).toEqual([first.client]);
    const again = await local.load('doc', first.client);
    expect(again.ok && restoreStateText(again.value)).toBe('stored');
  });

  it('sends an edit only after the local store has it (O1)', async () => {
    const { store, url } = await serve();
    const real = await localStore();
    let release: (() => void) | null = null;
    let open_ = false;
    const gated = Object.create(real) as LocalStore;
    gated.write = (docId: string, client: string, w: DocWrite) =>
      open_
        ? real.write(docId, client, w)
        : new Promise((resolve) => {
            release = () => {
              open_ = true;
              void real.write(docId, client, w).then(resolve);
            };
          });
    const a = await open(url, { store: gated });
    await waitFor(() => settled(a), 'online');
    type(a, 0, 'abc');
    await waitFor(() => release !== null, 'a write started');
    await sleep(100);
    expect(await store.head('doc')).toBe(0);
    expect(a.state.pending.every((p) => !p.sent)).toBe(true);
    expect(a.getSnapshot().pending).toBe(3);
    release!();
    for (let i = 0; i < 1000 && (await store.head('doc')) !== 3; i++) await sleep(10);
    expect(await store.head('doc'), 'committed after the write').toBe(3);
    await waitFor(() => settled(a), 'acked');
  });

  it('offline: keeps typing, survives a reload from the local store, and sends everything once when back (O1, O2, C1)', async () => {
    const { store, url } = await serve();
    const net = new Network();
    const locks = new Locks();
    const ls = await localStore();
    const other = await open(url, { name: 'bob' });
    const a = await open(url, { store: ls, network: net, locks });
    await waitFor(() => settled(a) && settled(other), 'online');
    type(a, 0, 'one ');
    await waitFor(() => settled(a), 'first sent');
    net.set(false);
    expect(a.getSnapshot().status).toBe('offline');
    type(a, 4, 'two ');
    type(other, 0, '>');
    await a.close(); // "reload"
    const a2 = await open(url, { store: ls, network: net, locks });
    expect(a2.text()).toBe('one two ');
    expect(a2.getSnapshot().status).toBe('offline');
    expect(a2.getSnapshot().pending).toBe(4);
    type(a2, 8, 'three');
    await sleep(100);
    expect(await store.head('doc')).toBe(5); // nothing went out while offline
    net.set(true);
    await waitFor(() => settled(a2) && settled(other) && other.state.confirmedSeq === 14 && a2.state.confirmedSeq === 14, 'resync');
    const logText = replay(null, await store.range('doc', 0, 14)).toString();
    expect(logText).toBe('>one two three');
    expect(other.text()).toBe(logText);
    expect(a2.text()).toBe(logText);
  });

  it('two tabs of one document in one browser get different client ids and converge (C1)', async () => {
    const { store, url } = await serve();
    const ls = await localStore();
    const locks = new Locks();
    const t1 = await open(url, { store: ls, locks });
    const t2 = await open(url, { store: ls, locks });
    expect(t1.client).not.toBe(t2.client);
    type(t1, 0, 'aaa');
    type(t2, 0, 'bbb');
    await waitFor(() => settled(t1) && settled(t2) && t1.state.confirmedSeq === 6 && t2.state.confirmedSeq === 6, 'converged');
    expect(t1.text()).toBe(t2.text());
    expect(replay(null, await store.range('doc', 0, 6)).toString()).toBe(t1.text());
    // A later tab restores the stored copy and shows it at once.
    await t1.flushStorage();
    await t2.flushStorage();
    const t3 = await open(url, { store: ls, locks, manualStart: true });
    expect(t3.text()).toBe(t1.text());
  });

  it('catches up from a server checkpoint, and over history when it has an outbox (P3, P4)', async () => {
    const { url } = await serve(new MemoryLogStore(), { checkpointEvery: 10 });
    const a = await open(url);
    type(a, 0, 'x'.repeat(25));
    await waitFor(() => settled(a) && a.state.confirmedSeq === 25, 'typed');
    // Fresh: starts from the checkpoint.
    const b = await open(url, { name: 'bob' });
    const mb = mirror(b);
    await waitFor(() => settled(b) && b.state.confirmedSeq === 25, 'b caught up');
    expect(b.text()).toBe(a.text());
    expect(mb.text).toBe(a.text());
    // Offline-made edit on an empty copy: the events come by history, then the outbox goes.
    const net = new Network();
    net.online = false;
    const c = await open(url, { name: 'cat', network: net });
    type(c, 0, 'C');
    net.set(true);
    await waitFor(() => settled(c) && c.state.confirmedSeq === 26, 'c caught up and sent');
    await waitFor(() => a.state.confirmedSeq === 26 && b.state.confirmedSeq === 26, 'all at 26');
    expect(a.text()).toBe(c.text());
    expect(b.text()).toBe(c.text());
    expect(c.text()).toContain('C');
  });

  it('declares a silent connection dead and reconnects (P14, P8)', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    let connections = 0;
    wss.on('connection', () => connections++);
    await new Promise((r) => wss.once('listening', r));
    const port = (wss.address() as { port: number }).port;
    try {
      const a = await open(`ws://127.0.0.1:${port}/ws`, { extra: { pingEveryMs: 40, deadAfterMs: 120 } });
      await waitFor(() => connections >= 2, 'a second connection');
      expect(a.getSnapshot().errors.some((e) => e.code === 'timeout')).toBe(true);
    } finally {
      for (const c of clients) await c.close();
      clients = [];
      await new Promise((r) => wss.close(r));
    }
  });

  it('re-syncs after a server restart and resends without duplicates (P8, L3)', async () => {
    const mem = new MemoryLogStore();
    const first = await serve(mem);
    const port = first.srv.port;
    const a = await open(first.url);
    type(a, 0, 'abc');
    await waitFor(() => settled(a), 'sent');
    await first.srv.close();
    servers = servers.filter((s) => s !== first.srv);
    type(a, 3, 'def');
    await serve(mem, {}, port);
    await waitFor(() => settled(a) && a.state.confirmedSeq === 6, 'resynced');
    expect(replay(null, await mem.range('doc', 0, 6)).toString()).toBe('abcdef');
  });

  it('in a crowd of 100 editors, held at the shortest interval from the 100th join, does not show slow, and its typing goes through (K21, P22, issue 15)', async () => {
    const { url, store } = await serve();
    const c = await open(url);
    await waitFor(() => c.getSnapshot().status === 'online', 'online');
    // 99 more editors of the document (plain sockets that say hello and count what they hear).
    const others: WebSocket[] = [];
    const asked: number[] = [];
    for (let i = 0; i < 99; i++) {
      const ws = new WebSocket(url);
      others.push(ws);
      ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, docId: 'doc', client: `crowd-${i}`, user: { name: `c${i}`, color: '#000000' }, last: 0, token: testToken('doc') })));
      ws.on('message', (d, binary) => {
        if (!binary && String(d).startsWith('{"type":"slow-down"')) asked.push((JSON.parse(String(d)) as { batchMs: number }).batchMs);
      });
    }
    try {
      // The 100th join asks everyone for the shortest interval (the crowd hears it too).
      await waitFor(() => asked.length === 99, 'the crowd asked to batch');
      expect(new Set(asked)).toEqual(new Set([SHORTEST_BATCH_MS]));
      type(c, 0, 'typed in a crowd');
      await waitFor(() => c.getSnapshot().pending === 0, 'everything acknowledged');
      // Nothing waits noticeably at 50 ms: the status says so.
      expect(c.getSnapshot().status).toBe('online');
      expect(c.text()).toBe('typed in a crowd');
      expect(replay(null, await store.range('doc', 0, await store.head('doc'))).toString()).toBe('typed in a crowd');
    } finally {
      for (const ws of others) ws.terminate();
    }
  });

  it('diffChange keeps the common prefix and suffix and surrogate pairs whole', async () => {
    expect(diffChange('hello world', 'hello there world').op).toEqual([6, 'there ']);
    expect(applyOp('a😀b', diffChange('a😀b', 'a😃b').op)).toBe('a😃b');
    expect(diffChange('same', 'same').op).toEqual([]);
  });
});
