/**
 * Cross-node delivery (issue 14): one document, N clients typing R events a second, split
 * over 2 server nodes of one PostgreSQL; the latency from a client's edit to its receipt
 * by clients on the other node (cross-node) and on the same node, p50 and p99. In the same
 * run, the same load on a single node of the same database, for the single-node figure.
 * Then appends a second on many documents with 1 and with 3 nodes.
 *
 * Everything runs on this machine: the nodes, PostgreSQL, and the load generator, which
 * decodes and applies every broadcast. On 2 shared cores more nodes cannot add capacity,
 * only show the cost of coordination; the figures say so, and ratios (against the single
 * node in the same run) are what to read.
 *
 * Run: `tsx bench/cluster-load.ts [--clients=100] [--rate=10] [--seconds=8] [--no-many] [--no-delivery]`;
 * `CLUSTER_PROF_DIR=dir` makes every node write a CPU profile there.
 */
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import pg from 'pg';
import { ServerProcess } from '../server/test/helpers/server-process.js';
import { PgCluster, freePortInRange, withDatabase } from '../server/test/helpers/pg-cluster.js';
import { editAccess } from '../server/test/helpers/tokens.js';
import { frameData } from '../server/test/helpers/ws-client.js';
import { ClientSession, ClientState, type SessionEffect } from '../shared/src/index.js';

const RECOVERABLE = new Set(['store-failed', 'out-of-order', 'rebase-required']);
/** Refusals seen in the current measure, by code. */
const refusals = new Map<string, number>();
let reconnects = 0;

/** A load client: the core's session over `ws`; reports every event it takes with the time. */
class LoadClient {
  ws!: WebSocket;
  private readonly session: ClientSession;
  constructor(
    readonly url: string,
    readonly docId: string,
    readonly name: string,
    readonly onEvent: (from: string, clientSeq: number, now: number) => void,
  ) {
    const access = editAccess(docId);
    this.session = new ClientSession({ docId, state: new ClientState({ client: name, author: name }), token: access.token, create: access.create, random: Math.random });
  }

  get seq(): number {
    return this.session.state.confirmedSeq;
  }

  private closed = false;

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      ws.on('error', reject);
      ws.on('open', () => this.run(this.session.opened({ name: this.name, color: '#888888' }), resolve));
      ws.on('message', (data, isBinary) => {
        if (ws === this.ws) this.run(this.session.receive(frameData(data, isBinary), Date.now()), resolve);
      });
      ws.on('close', () => {
        if (ws === this.ws && !this.closed) this.run(this.session.lost(), () => {});
      });
    });
  }

  /** The session re-syncs over a new connection (after a refusal it cannot continue from). */
  private reopen(afterMs: number): void {
    const old = this.ws;
    this.ws = null as unknown as WebSocket;
    old?.terminate();
    reconnects++;
    setTimeout(() => {
      if (!this.closed) this.open().catch(() => this.reopen(100));
    }, afterMs);
  }

  private run(effects: readonly SessionEffect[], caughtUp: () => void): void {
    for (const e of effects) {
      if (e.type === 'send') {
        if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(e.message));
      }
      else if (e.type === 'caught-up') caughtUp();
      else if (e.type === 'confirmed') {
        const now = performance.now();
        for (const ev of e.events) if (ev.id.client !== this.name) this.onEvent(ev.id.client, ev.id.clientSeq, now);
      } else if (e.type === 'problem') {
        // Refusals the session recovers from by itself (a lost race given up on, a batch
        // behind a refused one) are counted; anything else fails the run.
        if (e.source === 'server' && RECOVERABLE.has(e.code)) refusals.set(e.code, (refusals.get(e.code) ?? 0) + 1);
        else throw new Error(`${this.name}: ${e.code}: ${e.message}`);
      } else if (e.type === 'reconnect') {
        this.reopen(e.afterMs);
      } else if (e.type === 'close') {
        throw new Error(`${this.name}: the session closed`);
      }
    }
  }

  type(sent: Map<string, number>): void {
    if (!this.session.ready) return;
    const r = this.session.edit(['x']);
    if (!r.ok) throw new Error(`${this.name}: ${r.error.message}`);
    sent.set(`${this.name}/${r.value.id.clientSeq}`, performance.now());
    this.run(this.session.pump(), () => {});
  }

  close(): void {
    this.closed = true;
    this.ws?.close();
  }
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = xs.slice().sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] * 10) / 10;
}

function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

interface Delivery {
  setup: string;
  clients: number;
  rate: number;
  appendedPerSec: number;
  sameNode: { p50: number; p99: number; n: number };
  crossNode: { p50: number; p99: number; n: number };
  refusals: Record<string, number>;
  reconnects: number;
}

/** One document; client i on nodes[i % nodes.length]. */
async function delivery(nodes: ServerProcess[], clients: number, rate: number, seconds: number, tag: string): Promise<Delivery> {
  const sent = new Map<string, number>();
  const nodeOf = new Map<string, number>();
  const same: number[] = [];
  const cross: number[] = [];
  let measuring = false;
  const cs: LoadClient[] = [];
  for (let i = 0; i < clients; i++) {
    const name = `${tag}-c${i}`;
    const k = i % nodes.length;
    nodeOf.set(name, k);
    cs.push(
      new LoadClient(nodes[k].url, `${tag}-doc`, name, (from, clientSeq, now) => {
        if (!measuring) return;
        const t = sent.get(`${from}/${clientSeq}`);
        if (t === undefined) return;
        (nodeOf.get(from) === k ? same : cross).push(now - t);
      }),
    );
  }
  for (const c of cs) await c.open();
  refusals.clear();
  reconnects = 0;
  const period = 1000 / rate;
  const stops = cs.map((c, i) => {
    let t: NodeJS.Timeout;
    const start = setTimeout(() => (t = setInterval(() => c.type(sent), period)), (i * period) / cs.length);
    return () => {
      clearTimeout(start);
      clearInterval(t);
    };
  });
  await new Promise((r) => setTimeout(r, 1500));
  measuring = true;
  const s0 = cs[0].seq;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  const s1 = cs[0].seq;
  measuring = false;
  for (const stop of stops) stop();
  await new Promise((r) => setTimeout(r, 500));
  for (const c of cs) c.close();
  return {
    setup: `${nodes.length} node${nodes.length > 1 ? 's' : ''}`,
    clients,
    rate,
    appendedPerSec: Math.round((s1 - s0) / elapsed),
    sameNode: { p50: pct(same, 50), p99: pct(same, 99), n: same.length },
    crossNode: { p50: pct(cross, 50), p99: pct(cross, 99), n: cross.length },
    refusals: Object.fromEntries(refusals),
    reconnects,
  };
}

/** Many documents, 5 clients each at 2 events/s, over `nodes` (client i on node i % n): appends a second. */
async function manyDocs(nodes: ServerProcess[], docs: number, seconds: number, tag: string): Promise<{ setup: string; docs: number; offered: number; appendedPerSec: number; nodeCpuPct: number }> {
  const cs: LoadClient[] = [];
  const sent = new Map<string, number>();
  for (let d = 0; d < docs; d++) for (let i = 0; i < 5; i++) cs.push(new LoadClient(nodes[(d * 5 + i) % nodes.length].url, `${tag}-doc${d}`, `${tag}-c${d}-${i}`, () => {}));
  for (const c of cs) await c.open();
  const stops = cs.map((c) => {
    const t = setInterval(() => c.type(sent), 500);
    return () => clearInterval(t);
  });
  await new Promise((r) => setTimeout(r, 1500));
  const heads = () => cs.filter((_, i) => i % 5 === 0).reduce((n, c) => n + c.seq, 0);
  const h0 = heads();
  const cpu0 = nodes.map((n) => cpuSeconds(n.pid));
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  const h1 = heads();
  const cpu = nodes.reduce((sum, n, i) => sum + (cpuSeconds(n.pid) - cpu0[i]), 0);
  for (const stop of stops) stop();
  await new Promise((r) => setTimeout(r, 500));
  for (const c of cs) c.close();
  return { setup: `${nodes.length} node${nodes.length > 1 ? 's' : ''}`, docs, offered: docs * 5 * 2, appendedPerSec: Math.round((h1 - h0) / elapsed), nodeCpuPct: Math.round((cpu / elapsed) * 100) };
}

export async function clusterLoad(log: (s: string) => void = console.log, opts: { clients?: number; rate?: number; seconds?: number; many?: boolean; delivery?: boolean } = {}): Promise<unknown> {
  const clients = opts.clients ?? 100;
  const rate = opts.rate ?? 10;
  const seconds = opts.seconds ?? 8;
  const db = await PgCluster.start();
  const nodes: ServerProcess[] = [];
  // A load client that throws ends the process without `finally`: stop the database anyway.
  const stopDb = () => db.stopNow();
  process.once('exit', stopDb);
  try {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query('CREATE DATABASE eventide');
    await admin.end();
    const url = withDatabase(db.url, 'eventide');
    const env = {
      DATABASE_URL: url,
      EVENTIDE_RATE_EVENTS: '100000/100000',
      EVENTIDE_RATE_FRAMES: '100000/100000',
      EVENTIDE_CONNECTIONS_PER_MINUTE: '1000000',
      EVENTIDE_CREATES_PER_MINUTE: '1000000',
      EVENTIDE_RATE_ADDRESS_FRAMES: '1000000/1000000',
      // CLUSTER_PROF_DIR=…: each node writes a CPU profile there when it stops (SIGTERM below).
      ...(process.env.CLUSTER_PROF_DIR ? { EVENTIDE_NODE_ARGS: `--cpu-prof --cpu-prof-dir=${process.env.CLUSTER_PROF_DIR}` } : {}),
    };
    for (let i = 0; i < 3; i++) nodes.push(await ServerProcess.start({ port: await freePortInRange(), env }));
    const out: Record<string, unknown> = { when: new Date().toISOString(), loadavg: readFileSync('/proc/loadavg', 'utf8').trim() };
    if (opts.delivery !== false) {
      log(`cluster load: one document, ${clients} clients x ${rate} events/s`);
      const single = await delivery(nodes.slice(0, 1), clients, rate, seconds, 'single');
      log(`  ${JSON.stringify(single)}`);
      const two = await delivery(nodes.slice(0, 2), clients, rate, seconds, 'two');
      log(`  ${JSON.stringify(two)}`);
      log(`  cross-node p99 / single-node p99 = ${(two.crossNode.p99 / single.sameNode.p99).toFixed(2)} (target <= 2)`);
      out.delivery = { single, two, ratioP99: two.crossNode.p99 / single.sameNode.p99, ratioP50: two.crossNode.p50 / single.sameNode.p50 };
    }
    if (opts.many === false) return out;
    log(`cluster load: 50 documents, 5 clients each at 2 events/s`);
    const many1 = await manyDocs(nodes.slice(0, 1), 50, seconds, 'many1');
    log(`  ${JSON.stringify(many1)}`);
    const many3 = await manyDocs(nodes, 50, seconds, 'many3');
    log(`  ${JSON.stringify(many3)}`);
    out.manyDocs = { one: many1, three: many3 };
    return out;
  } finally {
    for (const n of nodes) {
      if (process.env.CLUSTER_PROF_DIR) await n.stop().catch(() => {});
      await n.dispose();
    }
    await db.destroy();
    process.removeListener('exit', stopDb);
  }
}

if (process.argv[1]?.endsWith('cluster-load.ts')) {
  const arg = (k: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1];
  clusterLoad(console.log, { clients: Number(arg('clients') ?? 100), rate: Number(arg('rate') ?? 10), seconds: Number(arg('seconds') ?? 8), many: !process.argv.includes('--no-many'), delivery: !process.argv.includes('--no-delivery') }).then(
    (r) => {
      console.log(JSON.stringify(r, null, 2));
      process.exit(0);
    },
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
