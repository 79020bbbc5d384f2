/**
 * A real server (in process, memory log) and real sync clients over `ws`, with
 * fake-indexeddb local stores, for client tests (undo, the event source, the sync
 * client). Import 'fake-indexeddb/auto' in the test file first. The two test doubles of
 * the browser live here and only here: the network's online/offline state (`Network`)
 * and Web Locks (`Locks`).
 */
import { editAccess } from '../../../server/test/helpers/tokens.js';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../../../server/src/http.js';
import { MemoryLogStore } from '../../../server/src/store/memory-log-store.js';
import { silentLogger } from '../../../server/src/options.js';
import { LocalStore } from '../../src/local/local-store.js';
import { SyncClient, type NetworkLike, type SocketLike } from '../../src/sync/sync-client.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Network implements NetworkLike {
  online = true;
  private readonly fs = new Set<(online: boolean) => void>();
  isOnline() {
    return this.online;
  }
  watch(f: (online: boolean) => void) {
    this.fs.add(f);
    return () => this.fs.delete(f);
  }
  set(online: boolean) {
    this.online = online;
    for (const f of this.fs) f(online);
  }
}

/** Web Locks in memory, as much of them as slot.ts uses. */
export class Locks {
  private readonly held = new Set<string>();
  private readonly waiting = new Map<string, (() => void)[]>();
  request(name: string, options: LockOptions, cb: (lock: Lock | null) => Promise<void> | undefined): Promise<void> {
    const run = async () => {
      this.held.add(name);
      try {
        await cb({ name, mode: 'exclusive' } as Lock);
      } finally {
        this.held.delete(name);
        const next = this.waiting.get(name)?.shift();
        if (next) next();
      }
    };
    if (!this.held.has(name)) return run();
    if (options.ifAvailable) return Promise.resolve(cb(null)).then(() => undefined);
    return new Promise<void>((resolve, reject) => {
      const go = () => run().then(resolve, reject);
      const q = this.waiting.get(name) ?? [];
      q.push(go);
      this.waiting.set(name, q);
      options.signal?.addEventListener('abort', () => {
        const i = q.indexOf(go);
        if (i >= 0) q.splice(i, 1);
        reject(new DOMException('aborted', 'AbortError'));
      });
    });
  }
}

export class Harness {
  private readonly servers: RunningServer[] = [];
  private readonly clients: SyncClient[] = [];
  private readonly stores: LocalStore[] = [];
  private dbCount = 0;
  readonly locks = new Locks();

  async serve(): Promise<string> {
    const srv = await startServer({ port: 0, host: '127.0.0.1', dataDir: '/tmp', staticDir: '/nonexistent', store: new MemoryLogStore(), sync: { log: silentLogger } });
    this.servers.push(srv);
    return `ws://127.0.0.1:${srv.port}/ws`;
  }

  async store(name = `harness-${process.pid}-${++this.dbCount}`): Promise<LocalStore> {
    const r = await LocalStore.open({ name });
    if (!r.ok) throw new Error(r.error.message);
    this.stores.push(r.value);
    return r.value;
  }

  async open(url: string, o: { store?: LocalStore | null; network?: Network; name?: string; docId?: string } = {}): Promise<SyncClient> {
    const c = await SyncClient.open({
      docId: o.docId ?? 'doc',
      ...editAccess(o.docId ?? 'doc'),
      user: { name: o.name ?? 'ann', color: '#c00' },
      store: o.store === undefined ? await this.store() : o.store,
      url,
      socket: (u) => new WebSocket(u) as unknown as SocketLike,
      network: o.network ?? new Network(),
      locks: this.locks as unknown as LockManager,
      schedule: (f) => setTimeout(f, 1),
      backoffMinMs: 20,
      backoffMaxMs: 200,
      journalStorage: null,
    });
    this.clients.push(c);
    return c;
  }

  async close(): Promise<void> {
    for (const c of this.clients.splice(0)) await c.close();
    for (const s of this.stores.splice(0)) s.close();
    for (const s of this.servers.splice(0)) await s.close();
  }
}

export async function waitFor(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export const settled = (c: SyncClient) => c.getSnapshot().status === 'online' && c.getSnapshot().pending === 0;
