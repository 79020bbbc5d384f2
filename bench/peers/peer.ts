/**
 * What a peer library must offer the benchmark, and the one runner that measures any
 * peer. Each library lives in its own module (yjs.ts, jsonjoy.ts, loro.ts,
 * automerge.ts) and only translates the trace into that library's calls; the timing,
 * the correctness checks and the time budgets are here, identical for every peer.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Patch } from '../../tools/trace-file.js';
import { type Latencies, type Timing, gc, hashText, timeEach, timeRuns } from '../measure.js';
import { type MemoryResult, measureMemoryInChild } from '../memory.js';

/** A document with its history, able to give the text at each of the chosen versions. */
export interface PeerHistory {
  /** The text at `versions[i]` (the versions passed to `history`). */
  textAt(i: number): string;
  /** Releases WASM memory, for the peers that have it. */
  free?(): void;
}

export interface Peer {
  /** Short id: the JSON key and the module name under bench/peers/. */
  readonly name: string;
  /** Library and version, as printed. */
  readonly label: string;
  /** Timed replay runs (median taken); slow peers use fewer. */
  readonly replayRuns: number;
  /** Whether to warm up with a full untimed replay, or only with a prefix (slow peers). */
  readonly fullWarmup: boolean;
  /** Timed open runs. */
  readonly openRuns: number;
  /** What a reader of the figures must know about how this peer was driven. */
  readonly notes: readonly string[];
  /** Applies every patch from empty, one change per patch, and returns the final text. */
  replay(patches: readonly Patch[]): string;
  /** Other ways to replay with the same library, timed alike and reported next to `replay`. */
  readonly replayVariants?: readonly { name: string; replay(patches: readonly Patch[]): string }[];
  /** The document after every patch, in the form the library saves it. */
  save(patches: readonly Patch[]): Uint8Array;
  /**
   * The document saved with its whole history (every version readable again), for the
   * "full history" row, and what that form keeps (times, authors, deleted text); absent
   * when the library has no such form.
   */
  readonly fullHistory?: { save(patches: readonly Patch[]): Uint8Array; keeps: string };
  /** Loads a saved document and reads its text; `doc` is kept alive for the memory figure. */
  open(bytes: Uint8Array): { text: string; doc: unknown };
  /** Releases an opened document (WASM peers); called outside the timing. */
  close?(doc: unknown): void;
  /** Replays keeping what is needed to read the text at `versions` (sorted, 1-based); null if unsupported. */
  history(patches: readonly Patch[], versions: readonly number[]): PeerHistory | null;
}

/** Thrown by a peer that gives up on a measurement (e.g. over its time cap). */
export class Skipped extends Error {}

/** One figure: a value, or why there is none. */
export interface Cell {
  value: number | null;
  status: 'ok' | 'not-finished' | 'skipped' | 'n/a' | 'pending' | 'error';
  note?: string;
  detail?: unknown;
}

export interface TraceContext {
  trace: string;
  patches: readonly Patch[];
  endContent: string;
  /** Each patch's time from the trace (ms since the epoch; 0 where it has none). */
  times: readonly number[];
  /** The 1,000 versions, ascending. */
  versions: readonly number[];
  /** The order the versions are asked for (indices into `versions`), shared by all sides. */
  order: readonly number[];
  /** Hash of the expected text at each version. */
  expected: readonly string[];
  versionsBudgetMs: number;
  tmpDir: string;
}

/** Figures for one side (ours or a peer) on one trace, keyed by measurement name. */
export type SideResults = Record<string, Cell>;

export function timingCell(t: Timing, note?: string): Cell {
  return { value: t.ms, status: 'ok', detail: { runs: t.runs }, ...(note ? { note } : {}) };
}

export function latencyCells(l: Latencies): { p50: Cell; p99: Cell } {
  const status = l.finished ? 'ok' : 'not-finished';
  const note = l.finished ? undefined : `stopped after ${l.done}/${l.requested} versions (${(l.totalMs / 1000).toFixed(0)} s budget)`;
  return {
    p50: { value: l.p50, status, detail: l, ...(note ? { note } : {}) },
    p99: { value: l.p99, status, detail: l, ...(note ? { note } : {}) },
  };
}

export function failCell(e: unknown): Cell {
  const msg = e instanceof Error ? e.message : String(e);
  return e instanceof Skipped ? { value: null, status: 'skipped', note: msg } : { value: null, status: 'error', note: msg };
}

/** Runs every measurement of one peer on one trace; a failing measurement is recorded, not fatal. */
export async function runPeer(peer: Peer, ctx: TraceContext, log: (s: string) => void): Promise<SideResults> {
  const out: SideResults = {};
  const checkEnd = (text: string) => {
    if (text !== ctx.endContent) throw new Error(`${peer.name} on ${ctx.trace}: final text differs from endContent`);
  };

  log(`${peer.name}: replay`);
  try {
    // A short untimed prefix always: module loading and the WASM start-up are not replay.
    peer.replay(ctx.patches.slice(0, 2000));
    out.replay = timingCell(
      timeRuns(() => peer.replay(ctx.patches), { runs: peer.replayRuns, warmup: peer.fullWarmup ? 1 : 0, check: checkEnd }),
      peer.replayRuns < 3 ? `${peer.replayRuns} run(s) only: slow` : undefined,
    );
    for (const v of peer.replayVariants ?? []) {
      const t = timeRuns(() => v.replay(ctx.patches), { runs: peer.replayRuns, warmup: 1, check: checkEnd });
      out[`replay:${v.name}`] = timingCell(t);
    }
  } catch (e) {
    if (!(e instanceof Skipped)) throw e;
    out.replay = failCell(e);
  }

  log(`${peer.name}: save + open`);
  let bytes: Uint8Array | null = null;
  try {
    bytes = peer.save(ctx.patches);
    const saved = bytes;
    const check = (r: { text: string; doc: unknown }) => {
      peer.close?.(r.doc);
      checkEnd(r.text);
    };
    // Opening is short, so V8 needs a few runs to settle; slow peers get one.
    const warmup = peer.fullWarmup ? 3 : 1;
    out.open = timingCell(timeRuns(() => peer.open(saved), { runs: peer.openRuns, warmup, check }));
    out.openSize = { value: saved.length, status: 'ok', note: 'saved document' };
    out.encodedSize = { value: saved.length, status: 'ok' };
    out.encodedSizeGzip = { value: gzipSync(saved).length, status: 'ok' };
  } catch (e) {
    if (!(e instanceof Skipped)) throw e;
    out.open = out.openSize = out.encodedSize = out.encodedSizeGzip = failCell(e);
  }

  if (peer.fullHistory !== undefined) {
    log(`${peer.name}: full history`);
    try {
      out.historySize = { value: peer.fullHistory.save(ctx.patches).length, status: 'ok', note: peer.fullHistory.keeps };
    } catch (e) {
      if (!(e instanceof Skipped)) throw e;
      out.historySize = failCell(e);
    }
  }

  log(`${peer.name}: state at ${ctx.versions.length} versions`);
  gc();
  const t0 = performance.now();
  let hist: PeerHistory | null = null;
  let skipped: Cell | null = null;
  try {
    hist = peer.history(ctx.patches, ctx.versions);
  } catch (e) {
    if (!(e instanceof Skipped)) throw e;
    skipped = failCell(e);
  }
  const buildMs = performance.now() - t0;
  if (skipped !== null) {
    out.versionsP50 = out.versionsP99 = skipped;
  } else if (hist === null) {
    out.versionsP50 = out.versionsP99 = { value: null, status: 'n/a', note: 'no way to read an old version' };
  } else {
    const h = hist;
    const lat = timeEach(
      ctx.order,
      (i) => h.textAt(i),
      (i, text) => {
        if (hashText(text) !== ctx.expected[i]) {
          throw new Error(`${peer.name} on ${ctx.trace}: wrong text at version ${ctx.versions[i]}`);
        }
      },
      ctx.versionsBudgetMs,
    );
    h.free?.();
    const cells = latencyCells(lat);
    out.versionsP50 = { ...cells.p50, detail: { ...lat, buildMs } };
    out.versionsP99 = cells.p99;
  }
  gc();

  if (bytes !== null) {
    log(`${peer.name}: memory (child process)`);
    const file = join(ctx.tmpDir, `${peer.name}-${ctx.trace}.bin`);
    await writeFile(file, bytes);
    out.memory = memoryCell(await measureMemoryInChild(peer.name, file));
  }
  return out;
}

export function memoryCell(m: MemoryResult): Cell {
  return {
    value: m.heapDelta + m.externalDelta,
    status: 'ok',
    note: 'JS heap + external (WASM/ArrayBuffer) growth after load',
    detail: m,
  };
}
