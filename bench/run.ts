/**
 * `npm run bench`: our core and the peer libraries (Yjs, json-joy, Loro, Automerge)
 * measured in the same run, on the same real traces, with the same versions asked in
 * the same order. Prints a table and writes bench/results/<date>.json + latest.json.
 *
 *   npm run bench                      everything (about 8–9 minutes on 2 cores)
 *   npm run bench -- --peers-only      skip our core (e.g. while it does not build)
 *   npm run bench -- --peers=yjs,loro  only these peers (ours still runs)
 *   npm run bench -- --traces=seph-blog1
 *   npm run bench -- --versions-budget=60   seconds per side for the 1,000 versions
 *   npm run bench -- --order=asc       versions in ascending order (a slider scrub)
 *   npm run bench -- --no-write        print only
 *   npm run bench -- --render=bench/results/latest.json   print a saved report again
 *   npm run bench -- --no-scale / --no-server / --server-only / --no-slider / --no-cluster
 *
 * The slider figure (bench/slider.ts) drives Chromium over the built client: it builds
 * dist/ first (under /tmp/eventide-e2e.lock, which Playwright runs share).
 *
 * The process re-starts itself under `node --expose-gc --import tsx` so that GC can be
 * forced between timed runs; the memory figures come from child processes (memory.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flattenPatches, loadTrace, tracesDir } from '../tools/trace-file.js';
import { expectedAt, hasGc, shuffledOrder, spreadVersions } from './measure.js';
import { type Cell, type Peer, type SideResults, type TraceContext, failCell, runPeer } from './peers/peer.js';
import { peer as yjs } from './peers/yjs.js';
import { peer as jsonjoy } from './peers/jsonjoy.js';
import { peer as loro } from './peers/loro.js';
import { peer as automerge } from './peers/automerge.js';
import { type BenchReport, type TraceReport, compare, libraryVersions, machineInfo, readReport, renderTable, writeReport } from './report.js';
import { scale } from './scale.js';
import { serverLoad } from './server-load.js';
import { clusterLoad } from './cluster-load.js';
import { PgCluster } from '../server/test/helpers/pg-cluster.js';
import { undoBench } from './undo.js';
import { manyAuthorFigures } from './block-logs.js';
import type { SliderResult } from './slider.js';
import { traceToEvents } from '../shared/src/index.js';

const ALL_PEERS: readonly Peer[] = [yjs, jsonjoy, loro, automerge];
const DEFAULT_TRACES = ['automerge-paper', 'seph-blog1'];
const VERSION_COUNT = 1000;
/** The core functions ours.ts needs; checked up front for a clear message. */
const CORE_API = ['traceToEvents', 'replay', 'checkpointOf', 'encodeCheckpoint', 'decodeCheckpoint', 'HistoryIndex'];

interface Options {
  peersOnly: boolean;
  peers: readonly Peer[];
  traces: readonly string[];
  /** Per side and trace, for the 1,000 versions. 30 s keeps the whole run under ~10 minutes. */
  versionsBudgetMs: number;
  order: 'random' | 'asc';
  write: boolean;
  /** Print this saved report instead of measuring. */
  render: string | null;
  /** Run the million-event scale measure (bench/scale.ts). */
  scale: boolean;
  /** Run the server load measure (bench/server-load.ts). */
  server: boolean;
  /** Run several nodes over PostgreSQL (bench/cluster-load.ts; needs the PostgreSQL binaries). */
  cluster: boolean;
  /** Run the history slider drag in Chromium (bench/slider.ts). */
  slider: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const opts: Options = { peersOnly: false, peers: ALL_PEERS, traces: DEFAULT_TRACES, versionsBudgetMs: 30_000, order: 'random', write: true, render: null, scale: true, server: true, slider: true, cluster: true };
  for (const a of argv) {
    const [key, value = ''] = a.split('=', 2);
    if (key === '--peers-only') opts.peersOnly = true;
    else if (key === '--no-write') opts.write = false;
    else if (key === '--render') opts.render = value;
    else if (key === '--no-scale') opts.scale = false;
    else if (key === '--no-server') opts.server = false;
    else if (key === '--no-cluster') opts.cluster = false;
    else if (key === '--no-slider') opts.slider = false;
    else if (key === '--server-only') {
      opts.traces = [];
      opts.scale = false;
      opts.slider = false;
    }
    else if (key === '--peers') {
      const names = value.split(',').filter(Boolean);
      const unknown = names.filter((n) => !ALL_PEERS.some((p) => p.name === n));
      if (unknown.length) throw new Error(`unknown peer(s) ${unknown.join(', ')}; known: ${ALL_PEERS.map((p) => p.name).join(', ')}`);
      opts.peers = ALL_PEERS.filter((p) => names.includes(p.name));
    } else if (key === '--traces') opts.traces = value.split(',').filter(Boolean);
    else if (key === '--versions-budget') {
      const s = Number(value);
      if (!(s > 0)) throw new Error('--versions-budget takes seconds > 0');
      opts.versionsBudgetMs = s * 1000;
    } else if (key === '--order') {
      if (value !== 'random' && value !== 'asc') throw new Error('--order is random or asc');
      opts.order = value;
    } else throw new Error(`unknown option ${a}`);
  }
  return opts;
}

/**
 * bench/slider.ts in a child, holding the lock Playwright runs share for the whole time (they
 * rebuild the same dist/ the slider's server serves): build, then measure.
 */
function sliderUnderLock(): Promise<SliderResult> {
  return new Promise((resolve, reject) => {
    const script = 'npm run build >/dev/null && node --import tsx bench/slider.ts';
    const child = spawn('flock', ['/tmp/eventide-e2e.lock', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`bench/slider.ts exited with ${code}`));
      else resolve(JSON.parse(last) as SliderResult);
    });
  });
}

/** Re-runs this script under --expose-gc; resolves with the child's exit code. */
function respawnWithGc(): Promise<number> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', self, ...process.argv.slice(2)], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

const started = performance.now();
const loadAtStart = Number(loadavg()[0].toFixed(2));
function log(s: string): void {
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
}

/** Our side, or why it cannot run: the core is written concurrently and may be incomplete. */
async function loadOurs(): Promise<typeof import('./ours.js') | string> {
  try {
    const core = (await import('../shared/src/index.js')) as unknown as Record<string, unknown>;
    const missing = CORE_API.filter((n) => typeof core[n] !== 'function');
    if (missing.length) return `shared/src/index.ts does not export ${missing.join(', ')}`;
    return await import('./ours.js');
  } catch (e) {
    return `cannot load shared/src/index.ts: ${(e as Error).message}`;
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.render) {
    process.stdout.write(renderTable(await readReport(opts.render)) + '\n');
    return;
  }
  const ours = opts.peersOnly ? 'skipped (--peers-only)' : await loadOurs();
  if (typeof ours === 'string') log(`ours: ${ours}`);
  const tmpDir = await mkdtemp(join(tmpdir(), 'eventide-bench-'));
  const traces: TraceReport[] = [];
  try {
    for (const name of opts.traces) {
      const file = join(tracesDir(), 'sequential', `${name}.json.gz`);
      log(`${name}: loading ${file}`);
      const trace = await loadTrace(file);
      if (trace.kind !== 'sequential') throw new Error(`${file}: the benchmark needs a sequential trace`);
      const patches = flattenPatches(trace);
      const versions = spreadVersions(patches.length, VERSION_COUNT);
      const order = opts.order === 'random' ? shuffledOrder(versions.length) : versions.map((_, i) => i);
      const ctx: TraceContext = {
        trace: name,
        patches,
        times: trace.txns.flatMap((t) => t.patches.map(() => Date.parse(t.time) || 0)),
        endContent: trace.endContent,
        versions,
        order,
        expected: expectedAt(patches, versions),
        versionsBudgetMs: opts.versionsBudgetMs,
        tmpDir,
      };
      const sides: Record<string, SideResults> = {};
      if (typeof ours !== 'string') sides.ours = await ours.runOurs(ctx, log);
      else sides.ours = { replay: { value: null, status: opts.peersOnly ? 'n/a' : 'error', note: ours } };
      for (const peer of opts.peers) {
        try {
          sides[peer.name] = await runPeer(peer, ctx, log);
        } catch (e) {
          // A broken peer must not cost the other figures; the error is in the report.
          log(`${peer.name}: FAILED: ${(e as Error).message}`);
          sides[peer.name] = { replay: failCell(e) };
        }
      }
      traces.push({ trace: name, patches: patches.length, finalLength: trace.endContent.length, sides });
    }
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }

  const rebase: Cell =
    typeof ours === 'string' || opts.traces.length === 0 ? { value: null, status: 'n/a', note: typeof ours === 'string' ? ours : 'not run' } : await ours.oursRebase(log);
  let scaleResult: BenchReport['scale'];
  if (opts.scale && typeof ours !== 'string') {
    log('scale: a million events');
    try {
      const a = await loadTrace(join(tracesDir(), 'sequential', 'automerge-paper.json.gz'));
      if (a.kind !== 'sequential') throw new Error('automerge-paper is not sequential');
      const events = traceToEvents(flattenPatches(a));
      const runs = [0, 1, 2].map(() => scale(events, a.endContent));
      runs.sort((x, y) => x.replayMs - y.replayMs);
      scaleResult = { ...runs[1] };
    } catch (e) {
      scaleResult = `failed: ${(e as Error).message}`;
    }
  }
  let undoResult: BenchReport['undo'];
  if (typeof ours !== 'string' && opts.traces.length > 0) {
    log('undo: a step 100,000 events back');
    try {
      const a = await loadTrace(join(tracesDir(), 'sequential', 'automerge-paper.json.gz'));
      if (a.kind !== 'sequential') throw new Error('automerge-paper is not sequential');
      undoResult = { ...undoBench(traceToEvents(flattenPatches(a))) };
    } catch (e) {
      undoResult = `failed: ${(e as Error).message}`;
    }
  }
  let blocksResult: BenchReport['blocks'];
  if (typeof ours !== 'string') {
    log('blocks: logs of many authors');
    try {
      const core = await import('../shared/src/index.js');
      blocksResult = manyAuthorFigures(core.encodeBlock, (b) => core.unwrap(core.decodeBlock(b))).map((f) => ({ ...f }));
    } catch (e) {
      blocksResult = `failed: ${(e as Error).message}`;
    }
  }
  let sliderResult: BenchReport['slider'];
  if (opts.slider) {
    log('slider: automerge-paper in Chromium (builds the client first)');
    try {
      sliderResult = { ...(await sliderUnderLock()) };
    } catch (e) {
      sliderResult = `failed: ${(e as Error).message}`;
    }
  }
  let serverResult: BenchReport['server'];
  if (opts.server) {
    try {
      serverResult = (await serverLoad(log)) as unknown as Record<string, number | boolean>[];
    } catch (e) {
      serverResult = `failed: ${(e as Error).message}`;
    }
  }
  let clusterResult: unknown;
  if (opts.cluster && opts.server) {
    if (!PgCluster.available()) clusterResult = 'skipped: no PostgreSQL binaries';
    else {
      try {
        clusterResult = await clusterLoad(log);
      } catch (e) {
        clusterResult = `failed: ${(e as Error).message}`;
      }
    }
  }
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: { ...(await machineInfo()), loadAverage1mAtStart: loadAtStart },
    libraries: await libraryVersions(),
    options: {
      peersOnly: opts.peersOnly,
      peers: opts.peers.map((p) => p.name),
      traces: opts.traces,
      versions: VERSION_COUNT,
      versionOrder: opts.order === 'random' ? 'seeded shuffle, same for every side' : 'ascending',
      versionsBudgetSeconds: opts.versionsBudgetMs / 1000,
      ratio: 'ours / peer: below 1 means ours is faster or smaller',
    },
    notes: Object.fromEntries(opts.peers.map((p) => [p.name, p.notes])),
    traces,
    comparisons: compare(traces),
    rebase,
    scale: scaleResult,
    undo: undoResult,
    blocks: blocksResult,
    slider: sliderResult,
    server: serverResult,
    cluster: clusterResult,
    totalSeconds: Math.round((performance.now() - started) / 1000),
  };
  process.stdout.write(renderTable(report) + '\n');
  if (opts.write) log(`wrote ${await writeReport(report)} and bench/results/latest.json`);
  log(`done in ${report.totalSeconds} s`);
}

if (!hasGc()) {
  process.exitCode = await respawnWithGc();
} else {
  try {
    await main();
  } catch (e) {
    // Bad options and unreadable traces are the usual causes: the message says which.
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    if (!(e instanceof Error) || process.env.BENCH_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    process.exitCode = 1;
  }
}
