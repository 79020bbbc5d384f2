/**
 * One crowded document under a thin load generator: `typists` clients each typing
 * `rate` characters a second at position 0, plus `watchers` that only read, all on one
 * document of a real server process. The clients run in worker threads
 * (thin-worker.ts) so that the generator is not the bottleneck, and the generator's own
 * CPU is reported beside the server's, so the reader can judge.
 *
 * A row: `appendedPerSec` counts keystrokes acknowledged a second (a batched submit
 * carries several); p50/p99 are from a keystroke's send to its receipt by the observer
 * clients (a few typists that parse frames), in ms; `serverCpuPct` and
 * `generatorCpuPct` are % of one core over the measured window.
 *
 * Run alone: `tsx bench/crowd/crowd-load.ts --clients=300 --rate=10 --seconds=6`
 * (`--watchers=N` (raw sockets that drain, raw-watcher.ts; `--ws-watchers`: `ws` clients), `--workers=N`; `--url=ws://… --pid=N` for a server started by hand,
 * e.g. under `node --cpu-prof` with the limits of `loadEnv`; `--hocuspocus` for the peer,
 * a Hocuspocus server with thin Yjs clients, hocus-worker.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { ServerProcess } from '../../server/test/helpers/server-process.js';
import { testToken } from '../../server/test/helpers/tokens.js';
import type { WorkerInput, WorkerReport } from './thin-worker.js';

export type CrowdPeer = 'eventide' | 'hocuspocus';

export interface CrowdRow {
  server: CrowdPeer;
  clients: number;
  watchers: number;
  docs: number;
  ratePerClient: number;
  offered: number;
  /**
   * Keystrokes the generator made a second: under `offered` when its timers drift (its threads
   * busy), which is then no lack of the server's. With `unackedAtEnd` (typed but not yet
   * acknowledged when the window closed: in outboxes or in flight) it tells whether the server
   * kept up with what was typed.
   */
  typedPerSec: number;
  unackedAtEnd: number;
  appendedPerSec: number;
  p50: number;
  p99: number;
  serverRssMB: number;
  serverCpuPct: number;
  generatorCpuPct: number;
  behind: number;
  slowDowns: number;
  load1: number;
  errors: string[];
  /**
   * With `recovery`: once the load stops, 10 fresh typists' p99 (ms) in half-second windows,
   * and from when it stayed at 250 ms or less (ms after the stop; null: not by the end of 8 s).
   * "The load stops" means the generator's typists stop typing: their outboxes may still
   * hold keystrokes (slow-down holds them), which they send as usual; the fresh typists
   * (connected before the load began, so no join is timed) start typing at that moment.
   * `paces`: the intervals one of them was asked for from 2 s before the stop, "ms after the stop:batchMs".
   */
  recovery?: { windows: number[]; normalAfterMs: number | null; paces?: string[] };
  /** `recovery.normalAfterMs`, at the top level of the row. */
  recoveryMs?: number | null;
  /** With `timeline`: "p50/p99" (ms) of each half second measured. */
  timeline?: string[];
  /** With `timeline`: the generator's worst event-loop delay (ms) in each half second, over its worker threads and main thread. */
  generatorEld?: number[];
}

export interface CrowdOptions {
  readonly typists: number;
  readonly watchers: number;
  readonly rate: number;
  readonly seconds: number;
  readonly workers: number;
  readonly tag: string;
  /** Whose server and clients (default ours). */
  readonly peer?: CrowdPeer;
  /** Measure how soon latency is normal after the load stops (CrowdRow.recovery). */
  readonly recovery?: boolean;
  /** Add the p50/p99 of each half second measured (CrowdRow.timeline). */
  readonly timeline?: boolean;
  /** Watchers as `ws` clients instead of raw sockets (thin-worker.ts), to compare the generator's cost. */
  readonly wsWatchers?: boolean;
  /** Write the measured windows' start times and every keystroke that arrived over 100 ms late here (JSON), to lay beside the server's probe. */
  readonly lateFile?: string;
}

/** The environment that lifts the per-address and per-connection limits: every load client is 127.0.0.1. */
export const loadEnv: Record<string, string> = {
  EVENTIDE_RATE_EVENTS: '100000/100000',
  EVENTIDE_RATE_FRAMES: '100000/100000',
  EVENTIDE_CONNECTIONS_PER_MINUTE: '1000000',
  EVENTIDE_CREATES_PER_MINUTE: '1000000',
  EVENTIDE_RATE_ADDRESS_FRAMES: '1000000/1000000',
};

export function rssMB(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** utime + stime of a process, in seconds. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** Creates `docId` with its test edit token: one hello with `create`, until the welcome. */
export function createDoc(url: string, docId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('error', reject);
    ws.on('open', () =>
      ws.send(JSON.stringify({ type: 'hello', protocol: 4, docId, client: `${docId}-creator`, user: { name: 'c', color: '#000000' }, last: 0, token: testToken(docId), create: true })),
    );
    ws.on('message', (_d, isBinary) => {
      if (!isBinary) return;
      ws.close();
      resolve();
    });
  });
}

function call(w: Worker, cmd: string): Promise<{ report?: WorkerReport }> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: { report?: WorkerReport }) => {
      w.off('error', reject);
      resolve(m);
    };
    w.once('message', onMsg);
    w.once('error', reject);
    w.postMessage({ cmd });
  });
}

/** Node 20's workers do not take `--import tsx` for a .ts entry: register tsx in the worker, then import it. */
const boot = (file: string) => `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(new URL(file, import.meta.url).href)}); })`;

export const sum = (rs: WorkerReport[], k: 'typed' | 'sent' | 'acked' | 'behind' | 'slowDowns') => rs.reduce((n, r) => n + r[k], 0);

/**
 * The thin clients of one document, in `workers` worker threads: `typists` typing `rate`
 * characters a second at position 0 and `watchers` only reading (thin-worker.ts).
 */
export class ThinCrowd {
  private readonly workers: Worker[] = [];

  constructor(url: string, docId: string, o: { typists: number; watchers: number; rate: number; workers: number; tag: string; peer?: CrowdPeer; rampMs?: number; latencyOf?: string; wsWatchers?: boolean }) {
    const file = o.peer === 'hocuspocus' ? './hocus-worker.ts' : './thin-worker.ts';
    const total = o.typists + o.watchers;
    // Fixed width, so that no name is a part of another: a typist finds its own name in a live frame's table of strings (thin-worker.ts).
    const names = Array.from({ length: total }, (_, i) => `${o.tag}-${i < o.typists ? 't' : 'w'}${String(i).padStart(5, '0')}`);
    const observers = new Set<string>();
    for (let k = 0; k < 8 && k < o.typists; k++) observers.add(names[Math.floor((k * o.typists) / 8)]);
    for (let w = 0; w < o.workers; w++) {
      const mine = names.filter((_, i) => i % o.workers === w);
      const input: WorkerInput = {
        url,
        docId,
        token: testToken(docId),
        names: mine,
        observers: mine.filter((n) => observers.has(n)),
        rate: o.rate,
        typists: mine.filter((n) => n.startsWith(`${o.tag}-t`)).length,
        ...(o.rampMs !== undefined ? { rampMs: o.rampMs } : {}),
        ...(o.latencyOf !== undefined ? { latencyOf: o.latencyOf } : {}),
        ...(o.wsWatchers === true ? { wsWatchers: true } : {}),
      };
      this.workers.push(new Worker(boot(file), { eval: true, workerData: input }));
    }
  }

  /** Connects every client (each has its welcome when this resolves). */
  async open(): Promise<void> {
    for (const w of this.workers) await call(w, 'open');
  }

  /** Starts typing. */
  async start(): Promise<void> {
    await Promise.all(this.workers.map((w) => call(w, 'start')));
  }

  /** Starts the latency samples afresh. */
  async measure(): Promise<void> {
    await Promise.all(this.workers.map((w) => call(w, 'measure')));
  }

  /** What the clients sent and had acknowledged so far, and their latency samples since `measure`. */
  async snapshot(): Promise<WorkerReport[]> {
    return (await Promise.all(this.workers.map((w) => call(w, 'snapshot')))).map((m) => m.report!);
  }

  /** Stops typing. */
  async stop(): Promise<WorkerReport[]> {
    return (await Promise.all(this.workers.map((w) => call(w, 'stop')))).map((m) => m.report!);
  }

  /** Drops every connection and ends the threads. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => call(w, 'close').catch(() => null)));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** One row against a running server at `url` (process `pid`, for its RSS and CPU). */
export async function crowdRow(url: string, pid: number | undefined, o: CrowdOptions): Promise<CrowdRow> {
  const docId = `${o.tag}-crowd`;
  const hocus = o.peer === 'hocuspocus';
  if (!hocus) await createDoc(url, docId);
  const crowd = new ThinCrowd(url, docId, o);
  // Typists that start only when the load stops, to see how soon latency is normal again.
  // Their latency is of their own keystrokes only: what the crowd typed before the stop and
  // the server delivers after it is the backlog draining, not the latency a new edit sees.
  // (Hocuspocus's clients cannot tell whose keystroke a stamp is: its windows count all.)
  const small = o.recovery === true ? new ThinCrowd(url, docId, { ...o, typists: 10, watchers: 0, workers: 1, tag: `${o.tag}r`, latencyOf: `${o.tag}r-` }) : null;
  try {
    await crowd.open();
    await small?.open();
    await crowd.start();
    await new Promise((r) => setTimeout(r, 1500)); // warm up
    const before = await crowd.snapshot();
    const cpu0 = process.cpuUsage();
    const s0 = cpuSeconds(pid);
    const t0 = performance.now();
    // Half-second windows, so a row can show when its latency is spent (`timeline`).
    const lat: number[] = [];
    const timeline: string[] = [];
    const generatorEld: number[] = [];
    const late: [number, number, string][] = [];
    const windows: number[] = [];
    const mainEld = monitorEventLoopDelay({ resolution: 5 });
    mainEld.enable();
    let after = before;
    for (let w = 0; w < o.seconds * 2; w++) {
      await crowd.measure();
      mainEld.reset();
      windows.push(Math.round(performance.timeOrigin + performance.now()));
      await new Promise((r) => setTimeout(r, 500));
      after = await crowd.snapshot();
      const l = after.flatMap((r) => r.latencies);
      for (const x of l) lat.push(x);
      for (const r of after) for (const x of r.late) late.push(x);
      timeline.push(`${Math.round(pct(l, 50))}/${Math.round(pct(l, 99))}`);
      generatorEld.push(Math.round(Math.max(mainEld.max / 1e6, ...after.map((r) => r.eldMax))));
    }
    mainEld.disable();
    if (o.lateFile !== undefined) writeFileSync(o.lateFile, JSON.stringify({ windows, late, generatorEld, paces: after.flatMap((r) => r.paces) }));
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const serverCpu = cpuSeconds(pid) - s0;
    const rss = rssMB(pid);
    await crowd.stop();
    const recovery = small !== null ? await recover(small) : undefined;
    const acked = sum(after, 'acked') - sum(before, 'acked');
    // Hocuspocus acknowledges nothing: its rate is what each observer received of the others' keystrokes.
    const observers = Math.min(8, o.typists);
    const appended = hocus ? (acked / observers) * (o.typists / Math.max(1, o.typists - 1)) : acked;
    return {
      server: o.peer ?? 'eventide',
      clients: o.typists,
      watchers: o.watchers,
      docs: 1,
      ratePerClient: o.rate,
      offered: o.typists * o.rate,
      typedPerSec: Math.round((sum(after, 'typed') - sum(before, 'typed')) / elapsed),
      unackedAtEnd: hocus ? -1 : sum(after, 'typed') - sum(after, 'acked'),
      appendedPerSec: Math.round(appended / elapsed),
      p50: Math.round(pct(lat, 50) * 10) / 10,
      p99: Math.round(pct(lat, 99) * 10) / 10,
      serverRssMB: Math.round(rss),
      serverCpuPct: Math.round((serverCpu / elapsed) * 100),
      generatorCpuPct: Math.round(((cpu.user + cpu.system) / 1e6 / elapsed) * 100),
      behind: sum(after, 'behind'),
      slowDowns: sum(after, 'slowDowns'),
      load1: Number(loadavg()[0].toFixed(2)),
      errors: [...new Set(after.flatMap((r) => r.errors))].slice(0, 5),
      ...(recovery !== undefined ? { recovery, recoveryMs: recovery.normalAfterMs } : {}),
      ...(o.timeline === true ? { timeline, generatorEld } : {}),
    };
  } finally {
    await crowd.close();
    await small?.close();
  }
}

/** After the load stopped: `small` types, p99 per half second for 8 s. */
async function recover(small: ThinCrowd): Promise<{ windows: number[]; normalAfterMs: number | null; paces: string[] }> {
  const stop = performance.timeOrigin + performance.now();
  await small.start();
  const windows: number[] = [];
  for (let w = 1; w <= 16; w++) {
    await small.measure();
    await new Promise((r) => setTimeout(r, 500));
    windows.push(Math.round(pct((await small.snapshot()).flatMap((r) => r.latencies), 99)));
  }
  const paces = (await small.stop())[0].paces.filter(([t]) => t >= stop - 2000).map(([t, ms]) => `${Math.round(t - stop)}:${ms}`);
  return { windows, normalAfterMs: normalAfter(windows), paces };
}

/**
 * When latency became normal and stayed so: the end of the first half-second window from
 * which every window watched has a p99 of 250 ms or less (a window with no keystroke
 * delivered at all is not normal); null if the last one is not.
 */
export function normalAfter(windows: readonly number[]): number | null {
  let from: number | null = null;
  windows.forEach((p99, i) => {
    if (!(p99 <= 250)) from = null;
    else if (from === null) from = (i + 1) * 500;
  });
  return from;
}

/** A Hocuspocus server alone in its process (hocus-server.ts), on `port`. */
export async function startHocuspocus(port: number): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./hocus-server.ts', import.meta.url))], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (c) => reject(new Error(`hocus-server exited with ${c}`)));
    child.stdout!.on('data', (b: Buffer) => {
      if (b.toString().includes('listening')) resolve();
    });
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    url: `ws://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      child.kill('SIGKILL');
    },
  };
}

function arg(name: string, dflt: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : dflt;
}

function opt(name: string): string | undefined {
  return process.argv.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3);
}

if (process.argv[1]?.endsWith('crowd-load.ts')) {
  const o = {
    typists: arg('clients', 300),
    watchers: arg('watchers', 0),
    rate: arg('rate', 10),
    seconds: arg('seconds', 6),
    workers: arg('workers', 2),
    tag: `c${Date.now().toString(36)}`,
    peer: (process.argv.includes('--hocuspocus') ? 'hocuspocus' : 'eventide') as CrowdPeer,
    recovery: process.argv.includes('--recovery'),
    timeline: process.argv.includes('--timeline'),
    wsWatchers: process.argv.includes('--ws-watchers'),
    ...(opt('probe') !== undefined ? { lateFile: `${opt('probe')}-gen.json` } : {}),
  };
  // `--probe=PREFIX`: the server runs with bench/crowd/server-probe.ts (PREFIX-server.json) and the generator writes PREFIX-gen.json.
  const probe = opt('probe');
  const probeEnv: Record<string, string> =
    probe !== undefined ? { EVENTIDE_NODE_ARGS: `--import tsx --import ./bench/crowd/server-probe.ts`, EVENTIDE_PROBE_FILE: `${probe}-server.json` } : {};
  // `--url=ws://… --pid=N`: a server started by hand (e.g. under `node --cpu-prof`, with loadEnv's limits).
  const url = opt('url');
  if (o.peer === 'hocuspocus') {
    const h = await startHocuspocus(arg('port', 20510));
    try {
      console.log(JSON.stringify(await crowdRow(h.url, h.pid, o)));
    } finally {
      await h.stop();
    }
  } else if (url !== undefined) {
    console.log(JSON.stringify(await crowdRow(url, arg('pid', 0) || undefined, o)));
  } else {
    const port = arg('port', 0);
    const server = await ServerProcess.start({ env: { ...loadEnv, ...probeEnv }, ...(port > 0 ? { port } : {}) });
    try {
      console.log(JSON.stringify(await crowdRow(server.url, server.pid, o)));
    } finally {
      await server.stop();
      await server.dispose();
    }
  }
  process.exit(0);
}
