/**
 * Where a page's main thread spent its time in a Chromium trace (the JSON that Playwright's
 * `browser.startTracing` writes with the `devtools.timeline` category, as the typing and scrub
 * e2e do with E2E_PROFILE=trace): for each kind of event on the renderer's main thread
 * (style and layout as `Document::UpdateStyleAndLayout`, forced ones also as
 * `Blink.ForcedStyleAndLayout.UpdateTime`, `Paint`, script as `FunctionCall`/`EventDispatch`,
 * IndexedDB values as `SerializedScriptValueFactory::create`, ...) how many
 * there were, their total and their p95 duration. Events nest (a layout forced by script is
 * inside a `FunctionCall` too), so a row is inclusive and rows do not add up.
 *
 *   npx tsx tools/trace-phases.ts FILE.trace.json [N]
 */
import { readFileSync } from 'node:fs';

interface TraceEvent {
  readonly name: string;
  readonly ph: string;
  readonly pid: number;
  readonly tid: number;
  readonly ts: number;
  readonly dur?: number;
  readonly args?: { name?: string };
}

const [file, nArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: tsx tools/trace-phases.ts FILE.trace.json [N]\n');
  process.exit(2);
}
const top = Number(nArg ?? 20);
const raw = JSON.parse(readFileSync(file, 'utf8')) as { traceEvents?: TraceEvent[] } | TraceEvent[];
const events = Array.isArray(raw) ? raw : (raw.traceEvents ?? []);

// The renderers' main threads (the page's is the busiest of them).
const mains = new Set<string>();
for (const e of events) if (e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain') mains.add(`${e.pid}:${e.tid}`);
// Busy time: the complete events that no other one on the thread encloses (the trace's
// categories may not have `RunTask`).
const busy = new Map<string, number>();
const ends = new Map<string, number>();
const sorted = events.filter((e) => e.ph === 'X' && e.dur !== undefined && mains.has(`${e.pid}:${e.tid}`)).sort((a, b) => a.ts - b.ts);
for (const e of sorted) {
  const k = `${e.pid}:${e.tid}`;
  if (e.ts >= (ends.get(k) ?? -1)) {
    busy.set(k, (busy.get(k) ?? 0) + e.dur!);
    ends.set(k, e.ts + e.dur!);
  }
}
const main = [...busy].sort((a, b) => b[1] - a[1])[0]?.[0];
if (main === undefined) {
  process.stderr.write(`${file}: no renderer main thread with tasks in this trace\n`);
  process.exit(1);
}

const durations = new Map<string, number[]>();
for (const e of events) {
  if (`${e.pid}:${e.tid}` !== main || e.ph !== 'X' || e.dur === undefined) continue;
  const list = durations.get(e.name) ?? [];
  list.push(e.dur / 1000);
  durations.set(e.name, list);
}
const rows = [...durations].map(([name, ds]) => {
  ds.sort((a, b) => a - b);
  const total = ds.reduce((s, d) => s + d, 0);
  return { name, count: ds.length, total, p95: ds[Math.max(0, Math.ceil(0.95 * ds.length) - 1)], max: ds[ds.length - 1] };
});
rows.sort((a, b) => b.total - a.total);
process.stdout.write(`main thread ${main}: ${(busy.get(main)! / 1000).toFixed(0)} ms busy (outermost events)\n`);
process.stdout.write(`${'total ms'.padStart(10)} ${'count'.padStart(6)} ${'p95 ms'.padStart(8)} ${'max ms'.padStart(8)}  event\n`);
for (const r of rows.slice(0, top)) {
  process.stdout.write(`${r.total.toFixed(1).padStart(10)} ${String(r.count).padStart(6)} ${r.p95.toFixed(2).padStart(8)} ${r.max.toFixed(2).padStart(8)}  ${r.name}\n`);
}
