/**
 * The log stores side by side, in one run: SQLite (synchronous FULL, a temp file) and
 * PostgreSQL (a fresh database on DATABASE_URL or postgres://postgres@127.0.0.1:5432,
 * dropped after), with the memory store as the floor. What the server's group commit
 * asks of a store:
 *
 *   - append latency: one event per append, one after the other (p50, p99 ms): what an
 *     ack waits for on an idle server;
 *   - appends/s and events/s with 100 events per append (a busy group);
 *   - appends/s with 8 documents appending at once, one append in flight each (what
 *     several rooms, or several server nodes, ask of one database);
 *   - reading 10,000 events back (a load or a late joiner's history).
 *
 * Figures are ratios against the peers of the same run: this machine is shared, and its
 * absolute numbers move with everyone else's load.
 *
 * Run: `tsx bench/pg-store.ts` (prints a report; `--out FILE` writes it too).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { LogStore } from '../server/src/store/log-store.js';
import { SqliteLogStore } from '../server/src/store/sqlite-log-store.js';
import { MemoryLogStore } from '../server/src/store/memory-log-store.js';
import { PgLogStore } from '../server/src/store/pg-log-store.js';
import type { DocEvent } from '../shared/src/index.js';

const ADMIN = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function event(seq: number, client = 'c1'): DocEvent {
  return { id: { client, clientSeq: seq }, seq, base: seq - 1, author: 'ann', time: 1_700_000_000_000 + seq, op: ['x'], kind: 'edit' };
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

interface Figures {
  latencyP50Ms: number;
  latencyP99Ms: number;
  singleAppendsPerSec: number;
  batch100AppendsPerSec: number;
  batch100EventsPerSec: number;
  concurrent8AppendsPerSec: number;
  read10kMs: number;
}

async function measure(store: LogStore): Promise<Figures> {
  // 1. One event per append, sequential.
  const lat: number[] = [];
  const n1 = 400;
  const t1 = performance.now();
  for (let i = 0; i < n1; i++) {
    const t = performance.now();
    const r = await store.append('one', i, [event(i + 1)]);
    if (!r.ok) throw new Error(r.error.message);
    lat.push(performance.now() - t);
  }
  const single = n1 / ((performance.now() - t1) / 1000);

  // 2. 100 events per append.
  const n2 = 100;
  const t2 = performance.now();
  for (let i = 0; i < n2; i++) {
    const r = await store.append('hundred', i * 100, Array.from({ length: 100 }, (_, k) => event(i * 100 + k + 1)));
    if (!r.ok) throw new Error(r.error.message);
  }
  const batchSec = (performance.now() - t2) / 1000;

  // 3. 8 documents at once, one append in flight each, for ~2 s.
  let done = 0;
  const until = performance.now() + 2000;
  const t3 = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async (_, d) => {
      for (let seq = 1; performance.now() < until; seq++) {
        const r = await store.append(`many-${d}`, seq - 1, [event(seq)]);
        if (!r.ok) throw new Error(r.error.message);
        done++;
      }
    }),
  );
  const concurrent = done / ((performance.now() - t3) / 1000);

  // 4. Read 10,000 events back (best of 3).
  const reads: number[] = [];
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    const got = await store.range('hundred', 0, 10_000);
    reads.push(performance.now() - t);
    if (got.length !== 10_000) throw new Error(`read ${got.length} events`);
  }
  return {
    latencyP50Ms: round(quantile(lat, 0.5), 3),
    latencyP99Ms: round(quantile(lat, 0.99), 3),
    singleAppendsPerSec: Math.round(single),
    batch100AppendsPerSec: Math.round(n2 / batchSec),
    batch100EventsPerSec: Math.round((n2 * 100) / batchSec),
    concurrent8AppendsPerSec: Math.round(concurrent),
    read10kMs: round(Math.min(...reads), 1),
  };
}

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const out = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1] : undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'eventide-pgbench-'));
  const name = `eventide_t_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN);
  url.pathname = `/${name}`;
  const results: Record<string, Figures> = {};
  const settings: Record<string, string> = {};
  try {
    const mem = new MemoryLogStore();
    results.memory = await measure(mem);
    await mem.close();
    const lite = SqliteLogStore.open(path.join(dir, 'bench.sqlite'));
    settings.sqlite = JSON.stringify(lite.settings());
    results.sqlite = await measure(lite);
    await lite.close();
    const pgs = await PgLogStore.open(url.toString());
    const sc = await pgs.pool.query<{ s: string; f: string; v: string }>(
      "SELECT current_setting('synchronous_commit') AS s, current_setting('fsync') AS f, current_setting('server_version') AS v",
    );
    settings.postgres = `version ${sc.rows[0].v}, synchronous_commit=${sc.rows[0].s}, fsync=${sc.rows[0].f}, pool 10, loopback TCP`;
    results.postgres = await measure(pgs);
    await pgs.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
  const keys = Object.keys(results.sqlite) as (keyof Figures)[];
  const lines = [
    `pg-store bench, ${new Date().toISOString()} (bench/pg-store.ts), ${process.platform} ${process.arch}, node ${process.version}`,
    `load average at the end: ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')} (a 2-core machine shared with other work)`,
    `sqlite: ${settings.sqlite}`,
    `postgres: ${settings.postgres}`,
    '',
    `${'figure'.padEnd(26)}${'memory'.padStart(12)}${'sqlite'.padStart(12)}${'postgres'.padStart(12)}${'pg/sqlite'.padStart(12)}`,
    ...keys.map((k) => {
      const ratio = results.postgres[k] / results.sqlite[k];
      return `${k.padEnd(26)}${String(results.memory[k]).padStart(12)}${String(results.sqlite[k]).padStart(12)}${String(results.postgres[k]).padStart(12)}${ratio.toFixed(2).padStart(12)}`;
    }),
  ];
  const text = `${lines.join('\n')}\n`;
  process.stdout.write(text);
  if (out !== undefined) writeFileSync(out, text);
}

main().catch((e: unknown) => {
  console.error(`pg-store bench failed: ${(e as Error).message}`);
  process.exit(1);
});
