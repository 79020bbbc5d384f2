/**
 * Two server processes' rooms writing one document through one PostgreSQL database: two
 * in-process servers, each with its own PgLogStore on the same (fresh) database, clients
 * typing into the same document on both. There is no fan-out between them here (branch
 * pgcluster adds LISTEN/NOTIFY), so a room learns the other's events only when its append
 * loses the race (R18) and it catches up, sequences its batches again over them and
 * retries (R21). What must hold: no seq twice, every acknowledged event in the log once
 * at the seq its ack named, every id once, and an event resent to the other server gets
 * its original seq (L1-L3 across processes).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/http.js';
import { PgLogStore } from '../src/store/pg-log-store.js';
import { silentLogger } from '../src/options.js';
import { PROTOCOL_VERSION } from '../../shared/src/index.js';
import { Random } from '../../shared/test/sim/random.js';
import { WsClient } from './helpers/ws-client.js';
import { RawSocket } from './helpers/raw-socket.js';
import { editAccess } from './helpers/tokens.js';
import { checkAgainstLog, randomEdit, settle, testSeed } from './helpers/typing.js';
import { freshDatabase, type TestDatabase } from './helpers/pg-cluster.js';

let servers: RunningServer[] = [];
let stores: PgLogStore[] = [];
let clients: WsClient[] = [];
const databases: TestDatabase[] = [];

afterEach(async () => {
  for (const c of clients) c.stop();
  clients = [];
  for (const s of servers) await s.close();
  servers = [];
  for (const s of stores) await s.close();
  stores = [];
  await Promise.all(databases.splice(0).map((db) => db.drop()));
}, 60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A server on its own store over `url`; `port` 0 picks one (a restart passes the old one). */
async function node(url: string, port = 0): Promise<RunningServer & { url: string }> {
  const store = await PgLogStore.open(url);
  stores.push(store);
  const srv = await startServer({ port, host: '127.0.0.1', dataDir: '/tmp', staticDir: '/nonexistent', store, access: store.accessStore(), sync: { log: silentLogger } });
  servers.push(srv);
  return Object.assign(srv, { url: `ws://127.0.0.1:${srv.port}/ws` });
}

describe('two servers, one PostgreSQL database, one document', () => {
  it('rooms on two stores append concurrently: a lost race is caught up, sequenced again and retried (a lost race rewinds and reads only what it lacks, R26); no seq twice, every ack in the log at its seq, every id once (R18, R21, R26, L1, L2, L3)', async () => {
    const seed = testSeed('pg race');
    const db = await freshDatabase();
    databases.push(db);
    const a = await node(db.url);
    const b = await node(db.url);
    const rnd = new Random(seed);
    const make = (srv: { url: string }, name: string) => {
      const c = new WsClient({ url: srv.url, docId: 'race', client: name, random: new Random(seed + name.length).next.bind(new Random(seed)) });
      clients.push(c);
      return c;
    };
    // The document is created through A first, so both see one access record.
    const first = make(a, 'a0');
    first.start();
    await first.waitFor(() => first.ready);
    const cs = [first, make(a, 'a1'), make(a, 'a2'), make(b, 'b0'), make(b, 'b1'), make(b, 'b2')];
    cs.slice(1).forEach((c) => c.start());
    await Promise.all(cs.map((c) => c.waitFor(() => c.ready)));
    for (let k = 0; k < 60; k++) {
      for (const c of cs) randomEdit(c, rnd);
      await sleep(rnd.int(8));
    }
    // Every event acknowledged (the clients' outboxes empty) before the check.
    for (let i = 0; i < 1000 && !cs.every((c) => c.state.pending.length === 0); i++) await sleep(20);
    expect(cs.map((c) => c.state.pending.length), `seed ${seed}`).toEqual([0, 0, 0, 0, 0, 0]);
    const races = a.hub.queue.stats.races + b.hub.queue.stats.races;
    expect(races, `seed ${seed}: the two rooms raced`).toBeGreaterThan(0);
    expect(a.hub.queue.stats.failures + b.hub.queue.stats.failures, `seed ${seed}`).toBe(0);
    // A lost race is not the clients' problem: no errors (no rebase-required, no store-failed).
    expect(cs.flatMap((c) => c.errors), `seed ${seed}`).toEqual([]);

    // The clients of each node have not heard the other node's later events (no fan-out
    // here): restart both on fresh stores, the clients reconnect and catch up from the log.
    const [pa, pb] = [a.port, b.port];
    await a.close();
    await b.close();
    servers = servers.filter((s) => s !== a && s !== b);
    await node(db.url, pa);
    await node(db.url, pb);
    const head = await settle(cs, 30_000);
    const check = await PgLogStore.open(db.url);
    stores.push(check);
    const log = await check.range('race', 0, 1e9);
    expect(log.length, `seed ${seed}`).toBe(head);
    checkAgainstLog(log, cs); // seqs 1…n, each id once, each ack at its seq, every made event there, texts equal
  });

  it('an event resent to the other server after its ack gets its original seq (L3 across servers, R18)', async () => {
    const db = await freshDatabase();
    databases.push(db);
    const a = await node(db.url);
    const b = await node(db.url);
    const ev = { id: { client: 'mover', clientSeq: 1 }, author: 'mover', op: ['hi'], kind: 'edit' };
    const { sock: onA } = await RawSocket.join(a.url, 'once', 'mover');
    onA.sendJson({ type: 'submit', base: 0, events: [ev] });
    expect(await onA.next('ack')).toMatchObject({ seq: 1 });
    // Someone else writes through B, then the client fails over to B and resends.
    const { sock: other } = await RawSocket.join(b.url, 'once', 'other', 0, { token: editAccess('once').token });
    other.sendJson({ type: 'submit', base: 1, events: [{ id: { client: 'other', clientSeq: 1 }, author: 'other', op: [2, '!'], kind: 'edit' }] });
    expect(await other.next('ack')).toMatchObject({ seq: 2 });
    onA.close();
    const onB = await RawSocket.open(b.url);
    onB.sendJson({ type: 'hello', protocol: PROTOCOL_VERSION, docId: 'once', client: 'mover', user: { name: 'm', color: '#123' }, last: 0, token: editAccess('once').token });
    await onB.next('welcome');
    onB.sendJson({ type: 'submit', base: 0, events: [ev] });
    expect(await onB.next('ack')).toMatchObject({ id: { client: 'mover', clientSeq: 1 }, seq: 1 });
    const check = await PgLogStore.open(db.url);
    stores.push(check);
    expect((await check.range('once', 0, 10)).map((e) => `${e.id.client}:${e.seq}`)).toEqual(['mover:1', 'other:2']);
  });
});
