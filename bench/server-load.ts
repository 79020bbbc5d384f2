/**
 * The server under load: the real server process (SQLite, synchronous FULL), and N
 * WebSocket clients over loopback each typing M events a second into one document;
 * then many documents at once. Reports sustained appended events a second, latency
 * from a client's send to the receipt of that event by the other clients (p50, p99),
 * and the server's resident memory. `ok` is the target (p99 ≤ 50 ms with at least 90% of
 * the offered rate appended); a series stops where it breaks down (under 90% appended).
 *
 * The load clients are deliberately thin (they speak the protocol, track the stream's
 * seq and insert at the start of the document, which is valid in any state) so that
 * the generator, which shares this 2-core machine with the server, costs as little as
 * possible. Even so it parses every broadcast, so at the high end part of what is
 * measured is the generator: the report gives the generator's own CPU use too.
 *
 * Run: `npm run bench -- --server` (or `tsx bench/server-load.ts`).
 */
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { ServerProcess } from '../server/test/helpers/server-process.js';
import { editAccess } from '../server/test/helpers/tokens.js';
import { PROTOCOL_VERSION } from '../shared/src/index.js';

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
  seq = 0;
  private n = 0;
  ready = false;
  constructor(
    readonly url: string,
    readonly docId: string,
    readonly name: string,
    readonly sent: Map<string, number>,
    readonly latencies: number[],
    readonly measuring: () => boolean,
  ) {}

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws = new WebSocket(this.url);
      this.ws.on('error', reject);
      this.ws.on('open', () => {
        // Every bench client of a document presents its one edit link; the first creates it.
        this.ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, docId: this.docId, client: this.name, user: { name: this.name, color: '#888888' }, last: 0, ...editAccess(this.docId) }));
      });
      this.ws.on('message', (data) => {
        const m = JSON.parse(String(data));
        if (m.type === 'welcome') {
          this.seq = m.head;
          this.ready = true;
          resolve();
        } else if (m.type === 'events') {
          const now = performance.now();
          for (const e of m.events) {
            this.seq = e.seq;
            const t = this.sent.get(`${e.id.client}/${e.id.clientSeq}`);
            if (t !== undefined && this.measuring()) this.latencies.push(now - t);
          }
        } else if (m.type === 'ack') {
          this.seq = m.seq;
        } else if (m.type === 'error') {
          // A load client never sends anything wrong; count it as a failure of the run.
          throw new Error(`${this.name}: ${m.code}: ${m.message}`);
        }
      });
    });
  }

  type(): void {
    if (!this.ready) return;
    this.n++;
    this.sent.set(`${this.name}/${this.n}`, performance.now());
    this.ws.send(JSON.stringify({ type: 'submit', base: this.seq, events: [{ id: { client: this.name, clientSeq: this.n }, author: this.name, op: ['x'], kind: 'edit' }] }));
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

export async function serverLoad(log: (s: string) => void = console.log, seconds = 8): Promise<Sample[]> {
  // Every load client connects from 127.0.0.1 and many documents are created at once: lift the per-address limits.
  const server = await ServerProcess.start({ env: { EVENTIDE_RATE_EVENTS: '100000/100000', EVENTIDE_RATE_FRAMES: '100000/100000', EVENTIDE_CONNECTIONS_PER_MINUTE: '1000000', EVENTIDE_CREATES_PER_MINUTE: '1000000', EVENTIDE_RATE_ADDRESS_FRAMES: '1000000/1000000' } });
  const out: Sample[] = [];
  try {
    log('server load: one document, 10 events/s per client');
    for (const n of [10, 50, 100, 150, 200, 300]) {
      const s = await runLoad(server, 1, n, 10, seconds, `one${n}`);
      out.push(s);
      log(`  ${JSON.stringify(s)}`);
      if (s.appendedPerSec < 0.9 * s.offered) break;
    }
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
