/**
 * The server under load: the real server process (SQLite, synchronous FULL), and N
 * WebSocket clients over loopback each typing M events a second into one document;
 * then many documents at once. Reports sustained appended events a second, latency
 * from a client's send to the receipt of that event by the other clients (p50, p99),
 * and the server's resident memory. `ok` is the target (p99 ≤ 50 ms with at least 90% of
 * the offered rate appended); a series stops where it breaks down (under 90% appended).
 *
 * The load clients are the core's client session (shared/src/session) over `ws`, the
 * same protocol code as the browser's, typing at the start of the document (valid in any
 * state). The generator shares this 2-core machine with the server and decodes and
 * applies every broadcast, so at the high end part of what is measured is the
 * generator: the report gives the generator's own CPU use too.
 *
 * The one-document series is issue 15's: a thin generator in worker threads
 * (bench/crowd/), ours beside a Hocuspocus server under the same load, one JSON line per
 * row. The many-documents series still uses the session clients above.
 *
 * Run: `npm run bench -- --server-only` (or `tsx bench/server-load.ts`).
 */
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { ServerProcess } from '../server/test/helpers/server-process.js';
import { editAccess } from '../server/test/helpers/tokens.js';
import { frameData } from '../server/test/helpers/ws-client.js';
import { ClientSession, ClientState, type SessionEffect } from '../shared/src/index.js';
import { loadavg } from 'node:os';
import { crowdRow, loadEnv, startHocuspocus, type CrowdRow } from './crowd/crowd-load.js';

interface Sample {
  clients: number;
  docs: number;
  ratePerClient: number;
  offered: number;
  appendedPerSec: number;
  p50: number;
  p99: number;
  serverRssMB: number;
  generatorCpuPct: number;
  ok: boolean;
}

class LoadClient {
  ws!: WebSocket;
  private readonly session: ClientSession;
  constructor(
    readonly url: string,
    readonly docId: string,
    readonly name: string,
    readonly sent: Map<string, number>,
    readonly latencies: number[],
    readonly measuring: () => boolean,
  ) {
    // Every bench client of a document presents its one edit link; the first creates it.
    const access = editAccess(docId);
    this.session = new ClientSession({
      docId,
      state: new ClientState({ client: name, author: name }),
      token: access.token,
      create: access.create,
      random: Math.random,
    });
  }

  /** The confirmed seq: how far the stream has come. */
  get seq(): number {
    return this.session.state.confirmedSeq;
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws = new WebSocket(this.url);
      this.ws.on('error', reject);
      this.ws.on('open', () => this.run(this.session.opened({ name: this.name, color: '#888888' }), resolve));
      this.ws.on('message', (data, isBinary) => this.run(this.session.receive(frameData(data, isBinary), Date.now()), resolve));
    });
  }

  private run(effects: readonly SessionEffect[], caughtUp: () => void): void {
    for (const e of effects) {
      if (e.type === 'send') this.ws.send(JSON.stringify(e.message));
      else if (e.type === 'caught-up') caughtUp();
      else if (e.type === 'confirmed' && this.measuring()) {
        const now = performance.now();
        for (const ev of e.events) {
          if (ev.id.client === this.name) continue;
          const t = this.sent.get(`${ev.id.client}/${ev.id.clientSeq}`);
          if (t !== undefined) this.latencies.push(now - t);
        }
      } else if (e.type === 'problem' || e.type === 'reconnect' || e.type === 'close') {
        // A load client never sends anything wrong nor loses its loopback connection: a failure of the run.
        throw new Error(`${this.name}: ${e.type === 'problem' ? `${e.code}: ${e.message}` : e.type}`);
      }
    }
  }

  type(): void {
    if (!this.session.ready) return;
    const r = this.session.edit(['x']);
    if (!r.ok) throw new Error(`${this.name}: ${r.error.message}`);
    this.sent.set(`${this.name}/${r.value.id.clientSeq}`, performance.now());
    this.run(this.session.pump(), () => {});
  }

  close(): void {
    this.ws.close();
  }
}

function rssMB(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function runLoad(server: ServerProcess, docs: number, perDoc: number, rate: number, seconds: number, tag: string): Promise<Sample> {
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  let measuring = false;
  const clients: LoadClient[] = [];
  for (let d = 0; d < docs; d++) {
    for (let i = 0; i < perDoc; i++) {
      clients.push(new LoadClient(server.url, `${tag}-doc${d}`, `${tag}-c${d}-${i}`, sent, latencies, () => measuring));
    }
  }
  for (const c of clients) await c.open();
  const heads = () => clients.reduce((n, c) => n + c.seq, 0);
  // Each client types on its own timer, spread over the period.
  const period = 1000 / rate;
  const timers = clients.map((c, i) => {
    let t: NodeJS.Timeout;
    const start = setTimeout(() => {
      t = setInterval(() => c.type(), period);
    }, (i * period) / clients.length);
    return () => {
      clearTimeout(start);
      clearInterval(t);
    };
  });
  await new Promise((r) => setTimeout(r, 1500)); // warm up
  measuring = true;
  const cpu0 = process.cpuUsage();
  const seqStart = clients.filter((_, i) => i % perDoc === 0).reduce((n, c) => n + c.seq, 0);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  const seqEnd = clients.filter((_, i) => i % perDoc === 0).reduce((n, c) => n + c.seq, 0);
  const cpu = process.cpuUsage(cpu0);
  measuring = false;
  const rss = rssMB(server.pid);
  for (const stop of timers) stop();
  await new Promise((r) => setTimeout(r, 300));
  for (const c of clients) c.close();
  void heads;
  const offered = clients.length * rate;
  const appendedPerSec = (seqEnd - seqStart) / elapsed;
  const p50 = pct(latencies, 50);
  const p99 = pct(latencies, 99);
  return {
    clients: clients.length,
    docs,
    ratePerClient: rate,
    offered,
    appendedPerSec: Math.round(appendedPerSec),
    p50: Math.round(p50 * 10) / 10,
    p99: Math.round(p99 * 10) / 10,
    serverRssMB: Math.round(rss),
    generatorCpuPct: Math.round(((cpu.user + cpu.system) / 1e6 / elapsed) * 100),
    ok: p99 <= 50 && appendedPerSec >= 0.9 * offered,
  };
}

/**
 * The one-document loads of issue 15: typists × 10 characters a second, plus watchers;
 * the overload (1,000 typists) also measures how soon latency is normal once it stops
 * (CrowdRow.recoveryMs).
 */
export const CROWD_LEVELS: readonly { typists: number; watchers: number; recovery?: boolean }[] = [
  { typists: 300, watchers: 0 },
  { typists: 500, watchers: 0 },
  { typists: 200, watchers: 800 },
  { typists: 1000, watchers: 0, recovery: true },
];

/**
 * One crowded document (bench/crowd/crowd-load.ts: thin clients in worker threads, so
 * the generator is not the bottleneck; its CPU is in each row), ours and a Hocuspocus
 * server under the same load, each on a fresh server process, level by level.
 */
export async function crowdSeries(log: (s: string) => void, seconds: number): Promise<CrowdRow[]> {
  const out: CrowdRow[] = [];
  log(`server load: one crowded document, 10 characters/s per typist, ours and Hocuspocus (load ${loadavg()[0].toFixed(2)})`);
  for (const level of CROWD_LEVELS) {
    for (const peer of ['eventide', 'hocuspocus'] as const) {
      const o = { ...level, rate: 10, seconds, workers: 2, tag: `crowd${level.typists}w${level.watchers}`, peer };
      let row: CrowdRow;
      if (peer === 'eventide') {
        const server = await ServerProcess.start({ env: loadEnv });
        try {
          row = await crowdRow(server.url, server.pid, o);
        } finally {
          await server.stop();
          await server.dispose();
        }
      } else {
        const h = await startHocuspocus(20510);
        try {
          row = await crowdRow(h.url, h.pid, o);
        } finally {
          await h.stop();
        }
      }
      out.push(row);
      log(`  ${JSON.stringify(row)}`);
    }
  }
  return out;
}

export async function serverLoad(log: (s: string) => void = console.log, seconds = 8): Promise<(Sample | CrowdRow)[]> {
  const out: (Sample | CrowdRow)[] = await crowdSeries(log, seconds);
  // Every load client connects from 127.0.0.1 and many documents are created at once: lift the per-address limits.
  const server = await ServerProcess.start({ env: { EVENTIDE_RATE_EVENTS: '100000/100000', EVENTIDE_RATE_FRAMES: '100000/100000', EVENTIDE_CONNECTIONS_PER_MINUTE: '1000000', EVENTIDE_CREATES_PER_MINUTE: '1000000', EVENTIDE_RATE_ADDRESS_FRAMES: '1000000/1000000' } });
  try {
    log('server load: many documents, 5 clients each at 2 events/s');
    for (const docs of [20, 100, 200]) {
      const s = await runLoad(server, docs, 5, 2, seconds, `many${docs}`);
      out.push(s);
      log(`  ${JSON.stringify(s)}`);
      if (s.appendedPerSec < 0.9 * s.offered) break;
    }
  } finally {
    await server.stop();
  }
  return out;
}

if (process.argv[1]?.endsWith('server-load.ts')) {
  serverLoad().then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
