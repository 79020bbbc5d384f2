/**
 * Three real server processes (server/src/main.ts, each its own PORT) over one PostgreSQL
 * of this test's own, 30 clients (the real session code over real WebSockets) spread over
 * the nodes and roaming to the next node at every reconnect, typing into 5 documents.
 * During the run: one node is killed (-9) and restarted, another is paused (SIGSTOP) past
 * every timeout and resumed, and PostgreSQL is restarted. Then everyone settles, and the
 * log read from PostgreSQL with plain SQL must hold every event a client saw acknowledged,
 * once, at that seq, with contiguous seqs, and every client's text must be its replay.
 * Seeded (EVENTIDE_SEED), the seed printed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Random } from '../../shared/test/sim/random.js';
import type { DocEvent } from '../../shared/src/index.js';
import { ServerProcess } from './helpers/server-process.js';
import { PgCluster, freePortInRange, withDatabase } from './helpers/pg-cluster.js';
import { checkAgainstLog, makeTypists, settle, startTyping, testSeed } from './helpers/typing.js';
import { readPgLog } from './helpers/pg-log.js';
import type { WsClient } from './helpers/ws-client.js';

const NODES = 3;
const DOCS = 5;
const CLIENTS = 30;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let db: PgCluster | null = null;
const nodes: ServerProcess[] = [];
const clients: WsClient[] = [];

afterAll(async () => {
  for (const c of clients) c.stop();
  for (const n of nodes) {
    if (n.pid !== undefined) {
      try {
        process.kill(n.pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
    await n.dispose();
  }
  await db?.destroy();
});

describe('several nodes over one PostgreSQL', () => {
  it('3 nodes, 30 clients, 5 documents: kill -9, SIGSTOP and a PostgreSQL restart lose nothing acknowledged (R23, R24, L1, L2, L3, L4)', async () => {
    const seed = testSeed('cluster');
    const rnd = new Random(seed);
    db = await PgCluster.start();
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query('CREATE DATABASE eventide');
    await admin.end();
    const url = withDatabase(db.url, 'eventide');

    for (let i = 0; i < NODES; i++) {
      const port = await freePortInRange();
      nodes.push(
        await ServerProcess.start({
          port,
          env: {
            DATABASE_URL: url,
            // Short timeouts, so "past every timeout" fits in a test: pings every second.
            EVENTIDE_HEARTBEAT_MS: '1000',
          },
        }),
      );
    }

    // Client i starts on node i % 3 and moves to the next node at every reconnect, as a
    // browser behind a round-robin balancer would. `on[i]` is the node it last dialled.
    const on: number[] = [];
    const dial = (i: number): string => {
      const k = on[i] === undefined ? i % NODES : (on[i] + 1) % NODES;
      on[i] = k;
      return nodes[k].url;
    };
    const byDoc: WsClient[][] = [];
    for (let d = 0; d < DOCS; d++) {
      const per = CLIENTS / DOCS;
      const cs = makeTypists((j) => dial(d * per + j), per, `doc${d}`, seed + d);
      byDoc.push(cs);
      clients.push(...cs);
    }
    for (const c of clients) c.start();
    await Promise.all(clients.map((c) => c.waitFor(() => c.ready, 30_000, 'first welcome')));

    const stopTyping = startTyping(clients, rnd, 3, { keepAtLeast: 20 });
    try {
      await sleep(2500);

      // 1. kill -9 a node; its clients move on; it comes back on the same port.
      console.log('cluster: kill -9 node 0');
      await nodes[0].kill();
      await sleep(1500);
      await nodes[0].launch(30_000);
      await sleep(2500);

      // 2. Pause a node past every timeout. Its clients give up on it after 1.5 s (a
      // browser's timeout) and reconnect elsewhere; it wakes up with stale rooms.
      console.log('cluster: SIGSTOP node 1');
      process.kill(nodes[1].pid!, 'SIGSTOP');
      await sleep(1500);
      clients.forEach((c, i) => {
        if (on[i] === 1) c.ws?.terminate();
      });
      await sleep(3000);
      console.log('cluster: SIGCONT node 1');
      process.kill(nodes[1].pid!, 'SIGCONT');
      await sleep(2500);

      // 3. Restart PostgreSQL under load.
      console.log('cluster: restarting PostgreSQL');
      await db.restart();
      await sleep(3000);
    } finally {
      stopTyping();
    }

    const heads: number[] = [];
    for (const cs of byDoc) heads.push(await settle(cs, 60_000));
    // Read the log only after every client has settled: nothing is in flight.
    for (let d = 0; d < DOCS; d++) {
      const log: DocEvent[] = await readPgLog(url, `doc${d}`);
      expect(log.length).toBe(heads[d]);
      checkAgainstLog(log, byDoc[d]);
    }
    const acked = clients.reduce((n, c) => n + c.acks.size, 0);
    console.log(`cluster: ${heads.reduce((a, b) => a + b, 0)} events in ${DOCS} documents, ${acked} acks seen, heads ${heads.join(',')}`);
    expect(Math.min(...heads)).toBeGreaterThan(50);
  }, 150_000);
});
