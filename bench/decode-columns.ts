/**
 * Decoding the whole log, issue 13's decode target (≤ 60 ms in Node, stretch ≤ 25 ms): the
 * automerge-paper log, every field of every event, as one block and as blocks of 1,000 as the
 * store seals them, decoded
 *   - into columns (`decodeColumns`, shared/src/log/block/event-columns.ts): what the hot
 *     readers use; the target's figure;
 *   - into DocEvents (`decodeBlock`, built on the columns): what callers that need event
 *     objects pay, reported beside it so that the columns figure is not mistaken for it;
 * and the decoded run folded into the final text (`replayColumnsInto` against `replay` of the
 * events), with Yjs's `Y.applyUpdateV2` of its gc:false update of the same trace (the history
 * with deleted text, its nearest equivalent) as the peer measured in the same process.
 *
 * Figures are CPU time (process.cpuUsage: user + system, every thread of the process, GC and
 * the compiler included), best of N with a forced GC before each run (node --expose-gc): on
 * a shared 2-core machine the wall clock mostly measures the wait for a core.
 *
 * `npm run bench` uses `decodeFigures` (bench/ours.ts); run alone,
 *   node --expose-gc --import tsx bench/decode-columns.ts [runs]
 * prints the figures and the load average for bench/results/.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as Y from 'yjs';
import * as core from '../shared/src/index.js';
import type { DocEvent, EventColumns } from '../shared/src/index.js';
import { cpuBest, hasGc } from './measure.js';
import { peer as yjs } from './peers/yjs.js';
import { flattenPatches, loadTrace, tracesDir, type Patch } from '../tools/trace-file.js';

/** The figures, in ms of CPU (best of `runs`) unless named otherwise. */
export interface DecodeFigures {
  events: number;
  runs: number;
  blockBytes: number;
  blocksBytes: number;
  /** One block of the whole log into columns. */
  columnsCpuMs: number;
  /**
   * The same, best of `runs` back to back with no forced GC between them: the decoder's code
   * stays optimized (a full GC often drops it, and the next decode runs in slower tiers while
   * V8 compiles it again), so this is a warm decode, not the target's figure.
   */
  columnsWarmCpuMs: number;
  /** The log's blocks of 1,000 into columns, one EventColumns each. */
  blocksColumnsCpuMs: number;
  /** One block into DocEvent[] (decodeBlock: the columns, then an object per event). */
  eventsCpuMs: number;
  blocksEventsCpuMs: number;
  /** The decoded columns of the whole log folded into the final text (replayColumnsInto). */
  replayColumnsCpuMs: number;
  /** The decoded DocEvent[] folded into the final text (replay), for comparison. */
  replayEventsCpuMs: number;
  /** Yjs: Y.applyUpdateV2 of the gc:false document's update into a fresh gc:false Y.Doc. */
  yjsApplyCpuMs?: number;
  yjsUpdateBytes?: number;
}

const BLOCK_EVERY = 1000;

/**
 * Measures decoding `events` (a whole log) with the current core; every decode is checked
 * first (columns and events give back the log's final text). `yjsUpdate`, if given, is the
 * gc:false update v2 of the same trace, and must open to `endText`.
 */
export function decodeFigures(events: readonly DocEvent[], endText: string, runs: number, yjsUpdate?: Uint8Array): DecodeFigures {
  const block = core.encodeBlock(events);
  const blocks: Uint8Array[] = [];
  for (let i = 0; i < events.length; i += BLOCK_EVERY) blocks.push(core.encodeBlock(events.slice(i, i + BLOCK_EVERY)));
  const columns = (b: Uint8Array) => core.unwrap(core.decodeColumns(b));
  const decoded = (b: Uint8Array) => core.unwrap(core.decodeBlock(b));
  const foldColumns = (runs: readonly EventColumns[]) => {
    const rope = core.Rope.empty();
    let at = 0;
    for (const c of runs) {
      core.replayColumnsInto(rope, at, c);
      at += c.length;
    }
    return rope.toString();
  };
  const check = (what: string, text: string, n: number) => {
    if (n !== events.length) throw new Error(`decode bench: ${what} gave ${n} events, not ${events.length}`);
    if (text !== endText) throw new Error(`decode bench: ${what} does not replay to the final text`);
  };
  const whole = columns(block);
  check('one block, columns', foldColumns([whole]), whole.length);
  const split = blocks.map(columns);
  check('blocks, columns', foldColumns(split), split.reduce((n, c) => n + c.length, 0));
  const asEvents = decoded(block);
  check('one block, events', core.replay(null, asEvents).toString(), asEvents.length);
  const blockEvents = blocks.flatMap(decoded);
  check('blocks, events', core.replay(null, blockEvents).toString(), blockEvents.length);

  const out: DecodeFigures = {
    events: events.length,
    runs,
    blockBytes: block.length,
    blocksBytes: blocks.reduce((n, b) => n + b.length, 0),
    columnsCpuMs: cpuBest(() => columns(block), runs),
    columnsWarmCpuMs: cpuBestWarm(() => columns(block), runs),
    blocksColumnsCpuMs: cpuBest(() => blocks.map(columns), runs),
    eventsCpuMs: cpuBest(() => decoded(block), runs),
    blocksEventsCpuMs: cpuBest(() => blocks.map(decoded), runs),
    replayColumnsCpuMs: cpuBest(() => foldColumns([whole]), runs),
    replayEventsCpuMs: cpuBest(() => core.replay(null, asEvents).toString(), runs),
  };
  if (yjsUpdate !== undefined) {
    const open = () => {
      const doc = new Y.Doc({ gc: false });
      Y.applyUpdateV2(doc, yjsUpdate);
      return doc;
    };
    const doc = open();
    if (doc.getText('text').toString() !== endText) throw new Error('decode bench: the Yjs update does not open to the final text');
    doc.destroy();
    out.yjsApplyCpuMs = cpuBest(() => open().destroy(), runs);
    out.yjsUpdateBytes = yjsUpdate.length;
  }
  return out;
}

/** Like measure.ts `cpuBest`, without a forced GC before each run. */
function cpuBestWarm(fn: () => unknown, runs: number): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = process.cpuUsage();
    fn();
    const t = process.cpuUsage(t0);
    best = Math.min(best, (t.user + t.system) / 1000);
  }
  return best;
}

/** The gc:false update v2 of a trace, as the Yjs peer saves its full history. */
export function yjsHistoryUpdate(patches: readonly Patch[]): Uint8Array {
  const save = yjs.fullHistory?.save;
  if (save === undefined) throw new Error('decode bench: the Yjs peer has no full-history save');
  return save(patches);
}

/** The figures as lines of text, ratios against the peers measured in the same run. */
export function describeDecode(f: DecodeFigures): string[] {
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  const lines = [
    `decode into columns:    one block (${f.blockBytes} B) ${ms(f.columnsCpuMs)}; 260 blocks of 1,000 (${f.blocksBytes} B) ${ms(f.blocksColumnsCpuMs)}`,
    `  (warm, no forced GC between runs: one block ${ms(f.columnsWarmCpuMs)})`,
    `decode into DocEvent[]: one block ${ms(f.eventsCpuMs)}; blocks ${ms(f.blocksEventsCpuMs)} (decodeBlock: columns, then an object per event)`,
    `replay to final text:   from columns ${ms(f.replayColumnsCpuMs)}; from DocEvent[] ${ms(f.replayEventsCpuMs)} (${x(f.replayColumnsCpuMs, f.replayEventsCpuMs)})`,
    `decode + replay:        columns ${ms(f.columnsCpuMs + f.replayColumnsCpuMs)}; DocEvent[] ${ms(f.eventsCpuMs + f.replayEventsCpuMs)}`,
  ];
  if (f.yjsApplyCpuMs !== undefined) {
    lines.push(
      `Yjs applyUpdateV2 (gc:false, ${f.yjsUpdateBytes} B) ${ms(f.yjsApplyCpuMs)}: columns decode is ${x(f.columnsCpuMs, f.yjsApplyCpuMs)} of it, ` +
        `columns decode + replay ${x(f.columnsCpuMs + f.replayColumnsCpuMs, f.yjsApplyCpuMs)}`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  if (!hasGc()) throw new Error('run with node --expose-gc --import tsx bench/decode-columns.ts');
  const runs = Number(process.argv[2] ?? 15);
  const trace = await loadTrace(join(tracesDir(), 'sequential', 'automerge-paper.json.gz'));
  if (trace.kind !== 'sequential') throw new Error('automerge-paper is a sequential trace');
  const patches = flattenPatches(trace);
  const times = trace.txns.flatMap((t) => t.patches.map(() => Date.parse(t.time) || 0));
  const events = core.traceToEvents(patches, { times });
  const before = loadavg();
  const f = decodeFigures(events, trace.endContent, runs, yjsHistoryUpdate(patches));
  const after = loadavg();
  const load = (l: number[]) => l.map((v) => v.toFixed(1)).join(' ');
  console.log(`automerge-paper, ${f.events} events, CPU ms best of ${f.runs}, node ${process.version}; load average ${load(before)} before, ${load(after)} after`);
  for (const line of describeDecode(f)) console.log(`  ${line}`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
