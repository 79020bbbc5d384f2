import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteLogStore } from './server/src/store/sqlite-log-store.js';
import { loadTrace, flattenPatches, tracesDir } from './tools/trace-file.js';
import { traceToEvents } from './shared/src/index.js';
const trace = await loadTrace(join(tracesDir(), 'sequential', 'automerge-paper.json.gz'));
if (trace.kind !== 'sequential') throw 1;
const events = traceToEvents(flattenPatches(trace), { author: 'ann', client: 'c1', times: [] }).slice(0, 100_000);
const dir = mkdtempSync(join(tmpdir(), 'ps-'));
const res: Record<string, number[]> = {};
for (let round = 0; round < 3; round++) for (const ps of [4096, 1024]) {
  const file = join(dir, `${ps}-${round}.sqlite`);
  const pre = new Database(file); pre.pragma(`page_size = ${ps}`); pre.exec('CREATE TABLE x(a)'); pre.exec('DROP TABLE x'); pre.close();
  const s = SqliteLogStore.open(file);
  let t0 = performance.now();
  for (let i = 0; i < 300; i++) s.append('one', i, events.slice(i, i + 1));
  const b1 = (performance.now() - t0) / 300;
  // many docs: 50 docs x 40 appends of 5
  t0 = performance.now();
  for (let i = 0; i < 40; i++) s.appendMany(Array.from({ length: 50 }, (_, d) => ({ docId: `d${d}`, expectedHead: i * 5, events: events.slice(i * 5, i * 5 + 5) })));
  const many = (performance.now() - t0) / 40;
  for (let i = 0; i < 100_000; i += 10_000) s.appendSealed('big', i, events.slice(i, i + 10_000));
  s.settle('big');
  const c0 = process.cpuUsage(); t0 = performance.now();
  for (let k = 0; k < 3; k++) for (let i = 0; i < 100_000; i += 1000) s.range('big', i, i + 1000);
  const c = process.cpuUsage(c0);
  const range = (c.user + c.system) / 3000;
  s.close();
  const db = new Database(file); const psz = db.pragma('page_size', { simple: true }); db.close();
  for (const [k, v] of Object.entries({ [`b1ms_${psz}`]: b1, [`many50ms_${psz}`]: many, [`range100kChunksCpuMs_${psz}`]: range })) (res[k] ??= []).push(Math.round(v * 100) / 100);
}
console.log(JSON.stringify(res));
rmSync(dir, { recursive: true });
