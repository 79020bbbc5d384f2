/**
 * Lays a crowd run's late keystrokes beside what the server did then (issue 15): reads
 * PREFIX-gen.json and PREFIX-server.json of `crowd-load.ts --probe=PREFIX` and prints, for
 * each measured half second, the p99 of the late keystrokes' latency, the generator's
 * worst event-loop delay, the server's, its GC and the summed time of each instrumented part;
 * then every server event-loop stall over `--stall=MS` (default 40) with the spans and GC
 * pauses that overlap it.
 *
 * Run: `tsx bench/crowd/probe-report.ts PREFIX [--stall=40]`
 */
import { readFileSync } from 'node:fs';

interface Gen {
  windows: number[];
  late: [number, number, string][];
  generatorEld: number[];
}
interface Server {
  t0: number;
  lags: [number, number, number][];
  eld: [number, number, number][];
  gc: [number, string, number][];
  spans: [string, number, number][];
  totals: { at: number; parts: Record<string, [number, number]> }[];
}

const prefix = process.argv[2];
if (prefix === undefined) throw new Error('usage: probe-report.ts PREFIX [--stall=MS]');
const stallArg = process.argv.find((a) => a.startsWith('--stall='));
const stallMs = stallArg !== undefined ? Number(stallArg.slice(8)) : 40;
const gen = JSON.parse(readFileSync(`${prefix}-gen.json`, 'utf8')) as Gen;
const srv = JSON.parse(readFileSync(`${prefix}-server.json`, 'utf8')) as Server;
const rel = (wall: number) => wall - srv.t0;

console.log('window(s) | late>100ms n, max | gen eld max | server eld max/p99 | gc ms (n) | parts ms (calls)');
gen.windows.forEach((start, i) => {
  const a = rel(start);
  const b = a + 500;
  const late = gen.late.filter(([t]) => rel(t) >= a && rel(t) < b).map(([, l]) => l);
  // The server's half seconds are its own: each goes to the window holding its middle.
  const mine = (at: number) => at - 250 >= a && at - 250 < b;
  const e = srv.eld.filter(([at]) => mine(at));
  const g = srv.gc.filter(([at]) => at >= a && at < b);
  const tot = srv.totals.filter((x) => mine(x.at));
  const parts: Record<string, [number, number]> = {};
  for (const x of tot) for (const [k, [ms, n]] of Object.entries(x.parts)) {
    const p = (parts[k] ??= [0, 0]);
    p[0] += ms;
    p[1] += n;
  }
  const partStr = Object.entries(parts)
    .map(([k, [ms, n]]) => `${k} ${Math.round(ms)} (${n})`)
    .join(', ');
  console.log(
    `${(a / 1000).toFixed(1)} | ${late.length}, ${late.length ? Math.max(...late) : '-'} | ${gen.generatorEld[i]} | ${e.map((x) => `${x[1]}/${x[2]}`).join(' ')} | ${Math.round(g.reduce((s, x) => s + x[2], 0))} (${g.length}) | ${partStr}`,
  );
});

console.log(`\nserver stalls over ${stallMs} ms (lag measured by a 5 ms timer), with what overlapped them:`);
for (const [at, ms, cpu] of srv.lags) {
  if (ms < stallMs) continue;
  const over = (s: number, d: number) => s < at + ms + 5 && s + d > at;
  const sp = srv.spans.filter(([, s, d]) => over(s, d)).map(([n, s, d]) => `${n} ${d}ms@${s - at}`);
  const g = srv.gc.filter(([s, , d]) => over(s, d)).map(([s, k, d]) => `gc ${k} ${d}ms@${s - at}`);
  console.log(`${(at / 1000).toFixed(2)}s +${ms}ms (cpu ${cpu}ms): ${[...sp, ...g].join(', ') || '(nothing instrumented)'}`);
}
const longest = [...srv.spans].sort((x, y) => y[2] - x[2]).slice(0, 15);
console.log('\nlongest spans:', longest.map(([n, s, d]) => `${n} ${d}ms@${(s / 1000).toFixed(2)}s`).join(', '));
const gcs = [...srv.gc].sort((x, y) => y[2] - x[2]).slice(0, 10);
console.log('longest gc:', gcs.map(([s, k, d]) => `${k} ${d}ms@${(s / 1000).toFixed(2)}s`).join(', '));
