/**
 * The server under attack (issue 7, S1): ATTACK_FRAMES (default 100,000) random and
 * mutated frames from a swarm of hostile sockets (helpers/attacker.ts, its own process)
 * against the real server process with its default limits, while 10 honest clients type
 * into one document. Compared with the same honest load without the attacker on the same
 * server, in alternating windows (the attacker process is stopped with SIGSTOP for the
 * baseline windows and resumed with SIGCONT), so that both see the same background load
 * of this shared machine:
 *
 *   - the honest clients' p99 latency (submit to ack, i.e. sequenced and durably
 *     committed) stays within 2x (with a 15 ms floor for the baseline, so a very quiet
 *     machine's few-millisecond p99 does not turn scheduling noise into a failure);
 *   - nothing of the attacker's is in the victim's log (read with plain SQL afterwards),
 *     and the honest clients' events are all there, each once;
 *   - the process is alive and healthy, and its resident memory stays bounded (peak
 *     under baseline + 200 MB).
 *
 * The attacker holds the victim's view token (a leaked view link), so its writes are
 * checked per message, not only at the hello. It connects from 127.0.0.2-4 (three hosts)
 * and the honest clients from 127.0.0.1, and the server runs with its default limits, per
 * address included: the attacker offers about 4,000 frames a second over 24 sockets, more
 * than its three addresses may send (1,000 a second each), so the server stops reading
 * them for a while (backpressure) and parses and refuses every frame it reads, one by one.
 * ATTACK_FRAMES, ATTACK_SECONDS, ATTACK_CONNS, ATTACK_ADDRESSES and the window lengths
 * make a larger run, e.g. ATTACK_FRAMES=1000000 ATTACK_SECONDS=250.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PROTOCOL_VERSION, TOKEN_BYTES, decodeServerFrame, tokenFromBytes, viewTokenOf } from '../../shared/src/index';
import { frameData } from './helpers/ws-client';
import { ServerProcess, readLog } from './helpers/server-process';
import type { AttackConfig, AttackSummary } from './helpers/attacker';
import { testSeed } from './helpers/typing';

const FRAMES = Number(process.env.ATTACK_FRAMES || 100_000);
const SECONDS = Number(process.env.ATTACK_SECONDS || Math.max(20, FRAMES / 4000));
/** Attacking hosts: 127.0.0.2, .3, … (each with its own per-address limits). */
const ADDRESSES = Number(process.env.ATTACK_ADDRESSES || 3);
/** Alternating windows: the attacker runs for ATTACK_WINDOW_MS, then is stopped for BASE_WINDOW_MS. */
const ATTACK_WINDOW_MS = Number(process.env.ATTACK_WINDOW_MS || 5000);
const BASE_WINDOW_MS = Number(process.env.ATTACK_BASE_WINDOW_MS || 1500);
/**
 * After SIGSTOP the server still has the attacker's frames in its socket buffers (and in
 * the paused connections' queues); the baseline window starts only once those are worked
 * off, or it would measure the attack too.
 */
const SETTLE_MS = Number(process.env.ATTACK_SETTLE_MS || 750);
const CONNS = Number(process.env.ATTACK_CONNS || 24);
const HONEST = 10;
/**
 * The baseline p99 below which the bound stays 2 x FLOOR_MS. Two CI runs on this 2-core
 * machine measured 17.6 and 19.5 ms under attack against baselines of 9.6 and 8.5 ms, within
 * a hair of a 10 ms floor's 20 ms: scheduling noise between three processes on two cores, not
 * the server slowing down. 30 ms p99 from submit to durable ack is still fast for typing.
 */
const FLOOR_MS = 15;
/** Each honest client types this many events a second. */
const RATE = 10;
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const servers: ServerProcess[] = [];
afterAll(async () => {
  for (const s of servers) await s.dispose();
});

/** A thin honest typist: inserts at the start (valid in any state), measures submit → ack. */
class Honest {
  ws!: WebSocket;
  seq = 0;
  n = 0;
  acked = 0;
  errors: string[] = [];
  private readonly sentAt = new Map<number, { t: number; into: number[] | null }>();
  /** Where the latency of what is sent now goes (null: not measured). */
  samples: number[] | null = null;
  constructor(
    readonly url: string,
    readonly doc: string,
    readonly name: string,
    readonly token: string,
    readonly create: boolean,
  ) {}

  private ackOf(clientSeq: number): void {
    this.acked++;
    const sent = this.sentAt.get(clientSeq);
    this.sentAt.delete(clientSeq);
    if (sent !== undefined && sent.into !== null) sent.into.push(performance.now() - sent.t);
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws = new WebSocket(this.url);
      this.ws.on('error', reject);
      this.ws.on('open', () =>
        this.ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, docId: this.doc, client: this.name, user: { name: this.name, color: '#080' }, last: 0, token: this.token, ...(this.create ? { create: true } : {}) })),
      );
      this.ws.on('message', (d, isBinary) => {
        const r = decodeServerFrame(frameData(d, isBinary));
        if (!r.ok) throw new Error(`undecodable server frame: ${r.error.code}: ${r.error.message}`);
        const m = r.value;
        if (m.type === 'welcome') {
          this.seq = m.head;
          resolve();
        } else if (m.type === 'events') {
          this.seq = m.events[m.events.length - 1].seq;
          // Own events come back in the shared stream: that is their ack (P5).
          for (const e of m.events) if (e.id.client === this.name) this.ackOf(e.id.clientSeq);
        } else if (m.type === 'ack') {
          this.seq = Math.max(this.seq, m.seq);
          this.ackOf(m.id.clientSeq);
        } else if (m.type === 'error') this.errors.push(m.code);
      });
    });
  }

  type(): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.n++;
    this.sentAt.set(this.n, { t: performance.now(), into: this.samples });
    this.ws.send(JSON.stringify({ type: 'submit', base: this.seq, events: [{ id: { client: this.name, clientSeq: this.n }, author: this.name, op: ['h'], kind: 'edit' }] }));
  }
}

function rssMB(pid: number | undefined): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function pct(xs: number[], p: number): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}
const p99 = (xs: number[]) => pct(xs, 0.99);
const p50 = (xs: number[]) => pct(xs, 0.5);

/** The honest clients type on their own timers (spread over the period) until stopped. */
function startTyping(clients: Honest[]): () => void {
  const period = 1000 / RATE;
  const timers = clients.map((c, i) => {
    let iv: NodeJS.Timeout | undefined;
    const start = setTimeout(() => (iv = setInterval(() => c.type(), period)), (i * period) / clients.length);
    return () => {
      clearTimeout(start);
      clearInterval(iv);
    };
  });
  return () => timers.forEach((stop) => stop());
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startAttacker(cfg: AttackConfig): { child: ChildProcess; done: Promise<AttackSummary> } {
  // At the lowest CPU priority: a real attacker is on other machines; here it shares two
  // cores with the server and the honest clients, and its own CPU use must not be
  // measured as the server's slowness.
  const child = spawn('nice', ['-n', '19', process.execPath, '--import', 'tsx', 'server/test/helpers/attacker.ts'], {
    cwd: repoRoot,
    env: { ...process.env, ATTACK_CONFIG: JSON.stringify(cfg) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let errOut = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (errOut += c.toString()));
  const done = new Promise<AttackSummary>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as AttackSummary) : reject(new Error(`attacker exited ${code}: ${errOut.slice(-2000)}`)))),
  );
  return { child, done };
}

it(`keeps 10 honest typists fast and their document clean under ${FRAMES} hostile frames (S1)`, { timeout: 120_000 + SECONDS * 4000 }, async () => {
  const seed = testSeed('attack');
  // The defaults of options.ts, which the test helper lifts for loopback tests.
  const sp = await ServerProcess.start({ env: { EVENTIDE_CONNECTIONS_PER_MINUTE: '600', EVENTIDE_CREATES_PER_MINUTE: '60', EVENTIDE_RATE_ADDRESS_FRAMES: '1000/200', EVENTIDE_RATE_ADDRESS_READS: '20000/50000' } });
  servers.push(sp);
  const doc = 'victim';
  const edit = tokenFromBytes(randomBytes(TOKEN_BYTES));
  const honest = Array.from({ length: HONEST }, (_, i) => new Honest(sp.url, doc, `honest-${i}`, edit, i === 0));
  for (const c of honest) await c.open();
  const rss0 = rssMB(sp.pid);
  const base: number[] = [];
  const attacked: number[] = [];
  let peak = { base: rss0, attack: rss0 };
  let window: 'base' | 'attack' = 'base';
  const sampler = setInterval(() => {
    const r = rssMB(sp.pid);
    peak = { ...peak, [window]: Math.max(peak[window], r) };
  }, 250);
  const stopTyping = startTyping(honest);
  await sleep(1000); // warm up, not measured
  const into = (w: typeof window, xs: number[] | null) => {
    window = w;
    for (const c of honest) c.samples = xs;
  };
  into('base', base);
  await sleep(BASE_WINDOW_MS);

  const cfg: AttackConfig = { url: sp.url, doc, viewToken: viewTokenOf(edit), honest: honest.map((c) => c.name), frames: FRAMES, seconds: SECONDS, conns: CONNS, seed, localAddresses: Array.from({ length: ADDRESSES }, (_, i) => `127.0.0.${i + 2}`) };
  const attacker = startAttacker(cfg);
  let summary: AttackSummary | null = null;
  let failed: Error | null = null;
  attacker.done.then(
    (x) => (summary = x),
    (e: Error) => (failed = e),
  );
  try {
    while (summary === null && failed === null) {
      into('attack', attacked);
      attacker.child.kill('SIGCONT');
      await Promise.race([sleep(ATTACK_WINDOW_MS), attacker.done.catch(() => null)]);
      if (summary !== null || failed !== null) break;
      attacker.child.kill('SIGSTOP');
      into('attack', null);
      await sleep(SETTLE_MS);
      into('base', base);
      await sleep(BASE_WINDOW_MS);
    }
  } finally {
    attacker.child.kill('SIGCONT');
  }
  into('attack', null);
  await sleep(SETTLE_MS);
  into('base', base);
  await sleep(BASE_WINDOW_MS);
  stopTyping();
  await sleep(500); // the last acks
  clearInterval(sampler);
  if (failed) throw failed;
  const s = summary as AttackSummary | null;
  const figures = {
    seed,
    frames: s?.frames,
    attackMs: s?.ms,
    connections: s?.connections,
    honestSamples: { without: base.length, with: attacked.length },
    p50Ms: { without: +p50(base).toFixed(2), with: +p50(attacked).toFixed(2) },
    p99Ms: { without: +p99(base).toFixed(2), with: +p99(attacked).toFixed(2) },
    rssMB: { start: Math.round(rss0), peakWithout: Math.round(peak.base), peakWith: Math.round(peak.attack) },
    closes: s?.closes,
    errors: s?.errors,
    welcomes: s?.welcomes,
  };
  console.log(`attack figures: ${JSON.stringify(figures)}`);

  expect(s, 'the attacker finished').not.toBeNull();
  expect(s!.frames).toBeGreaterThanOrEqual(FRAMES);
  // The attacker's writes on the view link were refused, per message.
  expect(s!.errors['read-only'] ?? 0).toBeGreaterThan(FRAMES / 20);
  expect(s!.errors['access-denied'] ?? 0).toBeGreaterThan(0);
  expect(Object.keys(s!.welcomes).filter((k) => k.startsWith('view:') && k !== 'view:view')).toEqual([]);
  // Honest clients: no errors, latency within 2x, all acked.
  for (const c of honest) expect(c.errors, c.name).toEqual([]);
  expect(await sp.healthy()).toBe(true);
  expect(p99(attacked), `seed ${seed}`).toBeLessThanOrEqual(2 * Math.max(FLOOR_MS, p99(base)));
  expect(base.length).toBeGreaterThan(200);
  expect(attacked.length).toBeGreaterThan(200);
  expect(peak.attack).toBeLessThan(Math.max(peak.base, rss0) + 200);

  for (const c of honest) c.ws.close();
  const typed = honest.reduce((n, c) => n + c.n, 0);
  await sp.stop();
  const log = readLog(sp.dbFile, doc);
  const names = new Set(honest.map((c) => c.name));
  expect(log.filter((e) => !names.has(e.id.client) || e.author !== e.id.client)).toEqual([]);
  expect(log.length).toBe(typed);
  expect(new Set(log.map((e) => `${e.id.client}/${e.id.clientSeq}`)).size).toBe(log.length);
});
