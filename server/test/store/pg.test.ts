/**
 * The PostgreSQL log store: the one contract suite (contract.ts), each test on a fresh
 * database, and what only a shared database shows: two store instances (two server
 * processes) racing for one document's seqs, a database that goes away and comes back.
 * Needs a PostgreSQL server (helpers/pg-cluster.ts finds one or starts its own, and says what to install without binaries).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { logStoreContract, ev, evs } from './contract.js';
import { PgLogStore } from '../../src/store/pg-log-store.js';
import { freshDatabase, type TestDatabase } from '../helpers/pg-cluster.js';

const databases: TestDatabase[] = [];
afterEach(async () => {
  await Promise.all(databases.splice(0).map((db) => db.drop()));
}, 60_000);

async function store(options: Parameters<typeof PgLogStore.open>[1] = {}): Promise<{ s: PgLogStore; db: TestDatabase }> {
  const db = await freshDatabase();
  databases.push(db);
  return { s: await PgLogStore.open(db.url, options), db };
}

logStoreContract('PgLogStore', async (options) => (await store(options)).s);

/** A TCP relay to PostgreSQL that a test can cut (every connection dropped, new ones refused) and restore. */
class Relay {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}
  async up(): Promise<void> {
    const server = net.createServer((a) => {
      const b = net.connect(this.target.port, this.target.host);
      for (const s of [a, b]) {
        this.sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => this.sockets.delete(s));
      }
      a.pipe(b);
      b.pipe(a);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', () => resolve()));
    this.server = server;
  }
  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('PgLogStore on a shared database', () => {
  it('two stores (two processes) append to one document at once: the primary key gives each seq to one, the other gets head-mismatch; no seq twice (R18, L1)', async () => {
    const { s: a, db } = await store();
    const b = await PgLogStore.open(db.url);
    try {
      // 40 rounds: both try to append at the head they last saw, different clients.
      let headA = 0;
      let headB = 0;
      let csA = 0;
      let csB = 0;
      let conflicts = 0;
      for (let round = 0; round < 40; round++) {
        const mine = (from: number, client: string, cs: number, n: number) =>
          evs(from, n, (q) => ({ id: { client, clientSeq: cs + q - from } }));
        const [ra, rb] = await Promise.all([a.append('doc', headA, mine(headA, 'A', csA, 2)), b.append('doc', headB, mine(headB, 'B', csB, 3))]);
        if (ra.ok) csA += 2;
        if (rb.ok) csB += 3;
        for (const r of [ra, rb]) if (!r.ok) {
          expect(r.error.code).toBe('head-mismatch');
          conflicts++;
        }
        expect(ra.ok || rb.ok, `round ${round}: one of two appends at one head wins`).toBe(true);
        headA = headB = await a.head('doc');
        // Every other round, B does not look: it appends at a stale head and must lose.
        if (round % 2 === 1) headB = Math.max(0, headB - 1);
      }
      expect(conflicts).toBeGreaterThanOrEqual(20);
      const log = await b.range('doc', 0, 1e9);
      expect(log.map((e) => e.seq)).toEqual(Array.from({ length: log.length }, (_, i) => i + 1));
      expect(log.length).toBe(csA + csB);
      expect(new Set(log.map((e) => `${e.id.client}:${e.id.clientSeq}`)).size).toBe(log.length);
      expect(await a.lastClientSeq('doc', 'A')).toBe(csA);
      expect(await b.lastClientSeq('doc', 'B')).toBe(csB);
      // The exactly-once index is the database's: an id B's store never saw is refused to B as already in the log (L3).
      await expect(b.append('doc', log.length, [ev(log.length + 1, { id: { client: 'A', clientSeq: 1 } })])).rejects.toThrow(/L3/);
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('appendSerialized: two stores append to one document at once and neither loses: the second waits for the first, rebases over its events inside its transaction and writes at the free seqs (R27, L1)', async () => {
    const { s: a, db } = await store();
    const b = await PgLogStore.open(db.url);
    try {
      const cs = { A: 0, B: 0 };
      let rebases = 0;
      const append = async (s: PgLogStore, client: 'A' | 'B', expected: number, n: number) => {
        const mine = (from: number) => evs(from, n, (q) => ({ id: { client, clientSeq: cs[client] + q - from } }));
        const r = await s.appendSerialized('doc', expected, mine(expected), async (missing) => {
          rebases++;
          // The events the other store committed, continuing the head this one expected.
          expect(missing[0].seq).toBe(expected + 1);
          return mine(expected + missing.length);
        });
        if (r.ok) cs[client] += n;
        return r;
      };
      for (let round = 0; round < 40; round++) {
        const head = await a.head('doc');
        const [ra, rb] = await Promise.all([append(a, 'A', head, 2), append(b, 'B', head, 3)]);
        expect(ra, `round ${round}`).toEqual({ ok: true, value: null });
        expect(rb, `round ${round}`).toEqual({ ok: true, value: null });
      }
      // Every round both appended at one head: one of each pair waited and rebased.
      expect(rebases).toBe(40);
      const log = await b.range('doc', 0, 1e9);
      expect(log.map((e) => e.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(new Set(log.map((e) => `${e.id.client}:${e.id.clientSeq}`)).size).toBe(200);
      expect(await a.head('doc')).toBe(200);

      // A rebase that gives nothing stores nothing; a log behind the expected head is a mismatch;
      // a rebase that does not continue the head is the caller's bug.
      expect(await a.appendSerialized('doc', 199, evs(199, 1, () => ({ id: { client: 'C', clientSeq: 1 } })), async () => [])).toEqual({ ok: true, value: null });
      expect(await a.head('doc')).toBe(200);
      const behind = await a.appendSerialized('doc', 201, evs(201, 1, () => ({ id: { client: 'C', clientSeq: 1 } })), async () => []);
      expect(!behind.ok && behind.error.code).toBe('head-mismatch');
      await expect(a.appendSerialized('doc', 199, evs(199, 1, () => ({ id: { client: 'C', clientSeq: 1 } })), async () => evs(199, 1, () => ({ id: { client: 'C', clientSeq: 1 } })))).rejects.toThrow();
      expect(await a.head('doc')).toBe(200);
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('access records live in the same database: the first registration wins, for every store on it', async () => {
    const { s: a, db } = await store();
    const b = await PgLogStore.open(db.url);
    try {
      const rec = { docId: 'd', editHash: 'aa', viewHash: 'bb', createdAt: 1 };
      const [one, two] = await Promise.all([a.accessStore().register(rec), b.accessStore().register({ ...rec, editHash: 'cc' })]);
      expect([one, two].sort()).toEqual([false, true]);
      const got = await b.accessStore().get('d');
      expect(got?.editHash).toBe(one ? 'aa' : 'cc');
      expect(await a.accessStore().get('other')).toBeNull();
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('new links replace both hashes at once, seen by every store on the database; an unknown document is refused (A12)', async () => {
    const { s: a, db } = await store();
    const b = await PgLogStore.open(db.url);
    try {
      expect(await a.accessStore().replace('nobody', 'e', 'v')).toBe(false);
      expect(await a.accessStore().get('nobody')).toBeNull();
      expect(await a.accessStore().register({ docId: 'd', editHash: 'e1', viewHash: 'v1', createdAt: 5 })).toBe(true);
      expect(await b.accessStore().replace('d', 'e2', 'v2')).toBe(true);
      expect(await a.accessStore().get('d')).toEqual({ docId: 'd', editHash: 'e2', viewHash: 'v2', createdAt: 5 });
      // Registration still cannot take a known document over.
      expect(await a.accessStore().register({ docId: 'd', editHash: 'x', viewHash: 'y', createdAt: 6 })).toBe(false);
      expect((await b.accessStore().get('d'))?.editHash).toBe('e2');
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('a database that goes away: appends and checkpoints are store-failed, reads reject, nothing is stored, the process lives; when it is back the pool reconnects (R19, R7)', async () => {
    const db = await freshDatabase();
    databases.push(db);
    const target = new URL(db.url);
    const relay = new Relay(20377, { host: target.hostname, port: Number(target.port || 5432) });
    await relay.up();
    const via = new URL(db.url);
    via.hostname = '127.0.0.1';
    via.port = String(relay.port);
    const errors: string[] = [];
    const s = await PgLogStore.open(via.toString(), { connectTimeoutMs: 1000, onError: (m) => errors.push(m) });
    try {
      expect((await s.append('doc', 0, evs(0, 3))).ok).toBe(true);
      await relay.down();
      const failed = await s.append('doc', 3, evs(3, 2));
      expect(!failed.ok && failed.error.code).toBe('store-failed');
      const cp = await s.putCheckpoint({ docId: 'doc', seq: 0, text: '', authorship: [] }).catch((e: Error) => e);
      // The checkpoint's head check is a read: it rejects, or the write is store-failed.
      expect(cp instanceof Error || (!cp.ok && cp.error.code === 'store-failed')).toBe(true);
      await expect(s.range('doc', 0, 10)).rejects.toThrow();
      await relay.up();
      // Back: the same store object serves again, with nothing of the failed append stored.
      let head = -1;
      for (let i = 0; i < 50 && head < 0; i++) head = await s.head('doc').catch(() => -1);
      expect(head).toBe(3);
      expect((await s.append('doc', 3, evs(3, 2))).ok).toBe(true);
      expect((await s.range('doc', 0, 10)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await relay.down();
      await relay.up();
      await s.close();
      await relay.down();
    }
  });
});
