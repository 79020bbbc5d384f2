/**
 * Instruments a server process for the crowded-document bench (issue 15): where does a stall
 * of the event loop come from? Loaded into the server with
 * `EVENTIDE_NODE_ARGS="--import tsx --import ./bench/crowd/server-probe.ts"` and
 * `EVENTIDE_PROBE_FILE=/path.json`; on exit it writes what it saw to that file:
 *
 *   - `lags`: every time a 5 ms interval timer ran more than 20 ms late (when, by how much,
 *     and the process's CPU ms meanwhile): the event loop was blocked that long, working or
 *     waiting;
 *   - `eld`: the event-loop delay histogram (perf_hooks.monitorEventLoopDelay) per half
 *     second: max and p99 in ms;
 *   - `gc`: every GC pause of 2 ms or more (when, kind, ms);
 *   - `spans`: every call of 1 ms or more of the server parts that run synchronously and can
 *     be long: the store's writes (a better-sqlite3 commit runs `wal_autocheckpoint`'s
 *     checkpoint inside it), sealing, document checkpoints, the fan-out of a committed group,
 *     the sequencer, the block cache's encoding;
 *   - `totals`: per half second, the summed ms and calls of each of those parts.
 *
 * Times are wall-clock ms (performance.timeOrigin + now), the clock the generator stamps
 * keystrokes with, so a late keystroke can be laid beside what the server did then.
 * Bench-only: nothing of the server imports it.
 */
import { monitorEventLoopDelay, PerformanceObserver, constants } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';
import { SqliteLogStore } from '../../server/src/store/sqlite-log-store.js';
import { Room } from '../../server/src/room.js';
import { BlockCache } from '../../server/src/block-cache.js';
import { RoomCore } from '../../shared/src/room/room-core.js';

const out = process.env.EVENTIDE_PROBE_FILE;
const wall = () => performance.timeOrigin + performance.now();
const t0 = wall();

type Span = [name: string, at: number, ms: number];
/** [when, ms late, CPU ms the process used meanwhile (all threads): about the lag if it worked, near 0 if it waited (I/O, descheduled)]. */
const lags: [number, number, number][] = [];
const gc: [number, string, number][] = [];
const spans: Span[] = [];
const eld: [number, number, number][] = [];
const totals: { at: number; parts: Record<string, [ms: number, calls: number]> }[] = [];
let window: Record<string, [number, number]> = {};

const kinds: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

function note(name: string, at: number, ms: number): void {
  const w = (window[name] ??= [0, 0]);
  w[0] += ms;
  w[1]++;
  if (ms >= 1) spans.push([name, Math.round(at - t0), Math.round(ms * 100) / 100]);
}

/** Wraps `proto[name]` to time its synchronous part (an async method's body up to its first await). */
function time(proto: object, name: string, label: string): void {
  const p = proto as Record<string, unknown>;
  const f = p[name];
  if (typeof f !== 'function') throw new Error(`server-probe: no method ${label}`);
  p[name] = function (this: unknown, ...args: unknown[]) {
    const s = wall();
    try {
      return (f as (...a: unknown[]) => unknown).apply(this, args);
    } finally {
      note(label, s, wall() - s);
    }
  };
}

time(SqliteLogStore.prototype, 'appendMany', 'store.append');
time(SqliteLogStore.prototype, 'putCheckpoint', 'store.checkpoint');
time(SqliteLogStore.prototype, 'sealDue', 'store.sealDue');
// Deferred sealing's steps, one a turn: a seal of a full block, or a merge of a run of small blocks (R25).
time(SqliteLogStore.prototype, 'sealStep', 'store.sealStep');
time(SqliteLogStore.prototype, 'settleStep', 'store.settleStep');
time(SqliteLogStore.prototype, 'sealAll', 'store.sealAll');
time(Room.prototype, 'committedItems', 'room.fanOut');
time(Room.prototype, 'sequence', 'room.sequence');
time(BlockCache.prototype, 'warm', 'blocks.warm');
time(RoomCore.prototype, 'dueCheckpoint', 'core.dueCheckpoint');

const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.duration < 2) continue;
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    gc.push([Math.round(performance.timeOrigin + e.startTime - t0), kinds[kind ?? -1] ?? String(kind), Math.round(e.duration * 100) / 100]);
  }
});
obs.observe({ entryTypes: ['gc'] });

const h = monitorEventLoopDelay({ resolution: 5 });
h.enable();
let last = wall();
let lastCpu = process.cpuUsage();
setInterval(() => {
  const t = wall();
  const cpu = process.cpuUsage();
  if (t - last > 25) lags.push([Math.round(last - t0), Math.round(t - last - 5), Math.round((cpu.user + cpu.system - lastCpu.user - lastCpu.system) / 1000)]);
  last = t;
  lastCpu = cpu;
}, 5).unref();
setInterval(() => {
  const at = Math.round(wall() - t0);
  eld.push([at, Math.round(h.max / 1e5) / 10, Math.round(h.percentile(99) / 1e5) / 10]);
  h.reset();
  const parts: Record<string, [number, number]> = {};
  for (const [k, [ms, n]] of Object.entries(window)) parts[k] = [Math.round(ms * 10) / 10, n];
  totals.push({ at, parts });
  window = {};
}, 500).unref();

process.on('exit', () => {
  if (out === undefined) return;
  writeFileSync(out, JSON.stringify({ t0, lags, eld, gc, spans, totals }));
});
