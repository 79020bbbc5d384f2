/**
 * Our core measured the way the peers are (same traces, same versions in the same
 * order, same timing helpers), through the public surface of shared/src/index.ts.
 *
 * What "the document" means for us differs from a CRDT, and the figures say which:
 * - replay: the whole log folded from empty. The events are built from the trace
 *   beforehand (`traceToEvents`), as they would be read from the log store.
 * - open: what a client or the server does on load: decode the newest checkpoint (the
 *   one at the last multiple of 1,000) and replay the events after it.
 * - state at versions: `HistoryIndex.textAt`, built once over the log (the peers
 *   likewise build their snapshots / heads / frontiers during replay, untimed).
 * - stored size: the server's SQLite file holding the whole history after `npm run import`
 *   and VACUUM (bench/sqlite-size.ts), comparable to the CRDT documents saved with their
 *   history; full history: the log as one block; open size is checkpoint + tail.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as core from '../shared/src/index.js';
import type { Checkpoint, DocEvent, Rope } from '../shared/src/index.js';
import { gc, hashText, median, timeEach, timeRuns, utf8Bytes } from './measure.js';
import { type SequentialTrace, flattenPatches, loadTrace, tracesDir } from '../tools/trace-file.js';
import { measureMemoryInChild } from './memory.js';
import { sqliteStoredSize } from './sqlite-size.js';
import { decodeFigures, yjsHistoryUpdate } from './decode-columns.js';
import type { BlockFigures } from './report.js';
import { type Cell, type SideResults, type TraceContext, failCell, latencyCells, memoryCell, timingCell } from './peers/peer.js';

/** Checkpoints are taken every this many events, on the server and in the history index. */
export const CHECKPOINT_EVERY = 1000;

const DOC_ID = 'bench';

/** The saved form the memory child loads: the newest checkpoint and the events after it. */
interface Saved {
  checkpoint: string;
  tail: string;
}

/** Loads a document from its saved form (decode checkpoint, parse tail, replay). */
export function openSaved(saved: string): { text: string; rope: Rope } {
  const s = JSON.parse(saved) as Saved;
  const rope = openFrom(s.checkpoint, JSON.parse(s.tail) as DocEvent[]);
  return { text: rope.toString(), rope };
}

function openFrom(checkpoint: string, tail: readonly DocEvent[]): Rope {
  const decoded = core.decodeCheckpoint(checkpoint);
  if (!decoded.ok) throw new Error(`bench: checkpoint does not decode: ${decoded.error.code}: ${decoded.error.message}`);
  return core.replay(decoded.value, tail);
}

export async function runOurs(ctx: TraceContext, log: (s: string) => void): Promise<SideResults> {
  const out: SideResults = {};
  const checkEnd = (text: string) => {
    if (text !== ctx.endContent) throw new Error(`ours on ${ctx.trace}: final text differs from endContent`);
  };

  log('ours: events');
  let t0 = performance.now();
  const events = core.traceToEvents(ctx.patches);
  const prepareMs = performance.now() - t0;
  if (events.length !== ctx.patches.length) throw new Error(`ours: ${events.length} events for ${ctx.patches.length} patches`);

  log('ours: replay');
  out.replay = timingCell(
    timeRuns(() => core.replay(null, events).toString(), { runs: 5, warmup: 1, check: checkEnd }),
    `events built beforehand in ${prepareMs.toFixed(0)} ms`,
  );

  log('ours: open (checkpoint + tail)');
  const cpSeq = Math.floor(events.length / CHECKPOINT_EVERY) * CHECKPOINT_EVERY;
  const head = core.replay(null, events.slice(0, cpSeq));
  const cp: Checkpoint = core.checkpointOf(DOC_ID, cpSeq, head);
  const cpText = core.encodeCheckpoint(cp);
  const tail = events.slice(cpSeq);
  const tailJson = JSON.stringify(tail);
  out.open = timingCell(
    timeRuns(() => openFrom(cpText, tail).toString(), { runs: 5, warmup: 3, check: checkEnd }),
    `checkpoint at ${cpSeq} + ${tail.length} events`,
  );
  out.openSize = {
    value: utf8Bytes(cpText) + utf8Bytes(tailJson),
    status: 'ok',
    note: 'checkpoint + tail events (JSON)',
    detail: { checkpointBytes: utf8Bytes(cpText), tailBytes: utf8Bytes(tailJson), runs: cp.authorship.length },
  };

  log('ours: stored size (import into SQLite, VACUUM)');
  try {
    const stored = await sqliteStoredSize(ctx);
    out.encodedSize = stored.size;
    out.encodedSizeGzip = stored.gzip;
  } catch (e) {
    out.encodedSize = out.encodedSizeGzip = failCell(e);
  }

  log('ours: full history as a block');
  out.historySize = fullHistory(ctx, checkEnd);

  log(`ours: state at ${ctx.versions.length} versions`);
  gc();
  t0 = performance.now();
  const index = new core.HistoryIndex(events); // its default spacing, as the history panel uses
  const buildMs = performance.now() - t0;
  const lat = timeEach(
    ctx.order,
    (i) => index.textAt(ctx.versions[i]),
    (i, text) => {
      if (hashText(text) !== ctx.expected[i]) throw new Error(`ours on ${ctx.trace}: wrong text at version ${ctx.versions[i]}`);
    },
    ctx.versionsBudgetMs,
  );
  const cells = latencyCells(lat);
  out.versionsP50 = { ...cells.p50, detail: { ...lat, buildMs } };
  out.versionsP99 = cells.p99;
  gc();

  log('ours: memory (child process)');
  const file = join(ctx.tmpDir, `ours-${ctx.trace}.json`);
  await writeFile(file, JSON.stringify({ checkpoint: cpText, tail: tailJson } satisfies Saved));
  out.memory = memoryCell(await measureMemoryInChild('ours', file));
  return out;
}

/**
 * The whole log, every field (the trace's times as server times), as one block
 * (shared/src/log/block): its size, encode and decode times, and the same log in blocks of
 * 1,000 events as the store seals it. Decoding is measured into columns (`decodeColumns`, what
 * the hot readers use; issue 13's target) and into DocEvent[] (`decodeBlock`), with the fold of
 * each to the final text and Yjs's `applyUpdateV2` of its gc:false update as the peer, all in
 * this process (bench/decode-columns.ts). Every decode is checked by replaying it to the end text.
 */
/** Runs of the decode's CPU figures, best of: issue 13's target is on this figure. */
const DECODE_CPU_RUNS = 12;

function fullHistory(ctx: TraceContext, checkEnd: (text: string) => void): Cell {
  const events = core.traceToEvents(ctx.patches, { times: ctx.times });
  const encode = timeRuns(() => core.encodeBlock(events), { runs: 3, warmup: 1 });
  const block = core.encodeBlock(events);
  const decodeAll = (b: Uint8Array) => core.unwrap(core.decodeBlock(b));
  const check = (decoded: DocEvent[]) => {
    if (decoded.length !== events.length) throw new Error(`ours: the block gave ${decoded.length} events, not ${events.length}`);
    checkEnd(core.replay(null, decoded).toString());
  };
  check(decodeAll(block));
  const decode = timeRuns(() => decodeAll(block), { runs: 7, warmup: 2 });
  const blocks: Uint8Array[] = [];
  for (let i = 0; i < events.length; i += CHECKPOINT_EVERY) blocks.push(core.encodeBlock(events.slice(i, i + CHECKPOINT_EVERY)));
  check(blocks.flatMap(decodeAll));
  const blocksDecode = timeRuns(() => blocks.map(decodeAll), { runs: 5, warmup: 1 });
  const columns = decodeFigures(events, ctx.endContent, DECODE_CPU_RUNS, yjsHistoryUpdate(ctx.patches));
  const detail: BlockFigures = {
    encodeMs: encode.ms,
    decodeMs: decode.ms,
    decodeRuns: decode.runs,
    decodeCpuMs: columns.eventsCpuMs,
    blocksBytes: blocks.reduce((n, b) => n + b.length, 0),
    blocksDecodeMs: blocksDecode.ms,
    blocksDecodeCpuMs: columns.blocksEventsCpuMs,
    columns,
  };
  return {
    value: block.length,
    status: 'ok',
    note: 'one block of the whole log: every field of every event (ids, seqs, bases, authors, server times, kinds, ops with deleted text, meta)',
    detail,
  };
}

/** What `offlineBranchBench` returns, if the core exports it (the agreed slot). */
type OfflineBranchBench = (nPending: number, nRemote: number) => { ms: number };

const REBASE_N = 10_000;

/**
 * Rebasing a long offline branch: 10,000 pending local events over 10,000 remote ones,
 * where OT designs are known to go quadratic. The peers have no equivalent step (a
 * CRDT merge is not comparable), so this is ours only. Sources, in order:
 * 1. `offlineBranchBench(nPending, nRemote)` exported by shared/src/index.ts;
 * 2. `offlineBranch` of bench/offline-branch.ts (the core engineer's scenario on real
 *    traces: automerge-paper after 100,000 events, seph-blog1 keystrokes offline),
 *    which reports the server's sequencing and the client's rebase separately;
 * 3. otherwise "pending".
 */
export async function oursRebase(log: (s: string) => void): Promise<Cell> {
  const fn = (core as unknown as Record<string, unknown>).offlineBranchBench;
  try {
    if (typeof fn === 'function') {
      const bench = fn as OfflineBranchBench;
      bench(1000, 1000); // warm-up
      const runs: number[] = [];
      for (let i = 0; i < 3; i++) {
        gc();
        runs.push(bench(REBASE_N, REBASE_N).ms);
      }
      return { value: median(runs), status: 'ok', note: 'offlineBranchBench(10000, 10000), median of 3', detail: { runs } };
    }
    let scenario: typeof import('./offline-branch.js');
    try {
      scenario = await import('./offline-branch.js');
    } catch {
      return { value: null, status: 'pending', note: 'no offlineBranchBench in shared/src/index.ts and no bench/offline-branch.ts' };
    }
    log('ours: offline branch rebase (bench/offline-branch.ts)');
    const base = core.traceToEvents(flattenPatches(await loadSequential('automerge-paper')));
    const typing = flattenPatches(await loadSequential('seph-blog1'));
    scenario.offlineBranch(base, typing, 1000, 1000); // warm-up
    const server: number[] = [];
    const client: number[] = [];
    for (let i = 0; i < 3; i++) {
      gc();
      const r = scenario.offlineBranch(base, typing, REBASE_N, REBASE_N);
      if (r.pending !== REBASE_N || r.remote !== REBASE_N) throw new Error(`offline branch made ${r.pending} x ${r.remote} events`);
      server.push(r.serverMs);
      client.push(r.clientMs);
    }
    return {
      value: median(server) + median(client),
      status: 'ok',
      note: 'bench/offline-branch.ts: server sequencing + client rebase, medians of 3',
      detail: { serverMs: median(server), clientMs: median(client), server, client },
    };
  } catch (e) {
    return failCell(e);
  }
}

async function loadSequential(name: string): Promise<SequentialTrace> {
  const t = await loadTrace(join(tracesDir(), 'sequential', `${name}.json.gz`));
  if (t.kind !== 'sequential') throw new Error(`${name} is not a sequential trace`);
  return t;
}
