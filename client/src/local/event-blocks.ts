/**
 * Confirmed events in IndexedDB as sealed blocks plus loose rows.
 *
 * Why both. A keystroke must be in IndexedDB before the UI treats it as done (O1), and an
 * acknowledged event moves to the confirmed tail in the same kind of small transaction:
 * re-encoding a block on every ack would make each of those writes pay for the whole
 * block. So the newest confirmed events are rows (one structured-clone object per event,
 * key [docId, seq]), and once ROWS_BEFORE_MERGE of them gather in a chunk of SEAL_EVENTS
 * seqs, `(k·SEAL_EVENTS, (k+1)·SEAL_EVENTS]`, or the chunk is complete, they are merged
 * into the chunk's block (the codec's bytes, about half a byte an event instead of ~150)
 * and deleted, in the same transaction, so a reader sees each event as a row or in a
 * block, never neither. A merge decodes and re-encodes at most one chunk, once every
 * ROWS_BEFORE_MERGE acks, and the rows, the one costly part of the footprint, stay
 * under ROWS_BEFORE_MERGE. Chunks are aligned to seqs rather than counted from the first
 * row so that every store cuts the log the same way: a document that loads its tail
 * after a server checkpoint (a multiple of 1,000) fills the same chunks as one that saw
 * every event.
 *
 * Blocks are keyed [docId, last seq] and hold `first` too, so the blocks overlapping
 * `from < seq ≤ to` are a cursor from [docId, from + 1] that stops at the first block
 * starting after `to`. A run with a gap is sealed as one block per contiguous part.
 * Readers merge blocks and rows by seq, dropping duplicates (a journal re-applied after
 * its rows were sealed writes rows again for seqs a block holds: harmless, the log never
 * changes, L1).
 *
 * A block that does not decode is reported with its range and left in place (it is the
 * only copy this device has; the server has the events), and its events count as missing.
 */
import type { DocEvent, CodedError } from '../../../shared/src/index.js';
import { decodeStoredEvents, encodeStoredEvents } from './stored-codec.js';

/** Seqs per chunk of the local store: the server's checkpoint spacing, so chunks line up with welcomes. */
export const SEAL_EVENTS = 1000;

/**
 * Rows of one chunk kept before they are merged into the chunk's block ahead of time: the
 * rows are ~150 bytes an event, the block ~1, so the footprint stays near the block's while a
 * merge (decode and encode at most SEAL_EVENTS events) comes once every ROWS_BEFORE_MERGE acks.
 */
export const ROWS_BEFORE_MERGE = 100;

/** A sealed block as stored: the codec's bytes of the events `first..last`, contiguous. */
export interface BlockRecord {
  readonly first: number;
  readonly last: number;
  readonly bytes: Uint8Array;
}

/** A block that could not be read, for the caller to report. */
export interface BlockProblem {
  readonly first: number;
  readonly last: number;
  readonly error: CodedError;
}

const INF = Number.POSITIVE_INFINITY;

/*
 * The few IndexedDB calls used here, typed structurally so that the local store's typed
 * transactions, the history cache's untyped ones and an upgrade transaction all fit.
 */
interface Cursor<V> {
  readonly value: V;
  continue(): Promise<Cursor<V> | null>;
}
export interface RowReader {
  getKey(range: IDBKeyRange): Promise<IDBValidKey | undefined>;
  getAll(range: IDBKeyRange, count?: number): Promise<unknown[]>;
}
export interface RowStore extends RowReader {
  delete(range: IDBKeyRange): Promise<void>;
}
export interface BlockReader {
  openCursor(range: IDBKeyRange): Promise<Cursor<unknown> | null>;
}
export interface BlockStore extends BlockReader {
  put(value: BlockRecord, key: [string, number]): Promise<unknown>;
  getAll(range: IDBKeyRange): Promise<unknown[]>;
  delete(range: IDBKeyRange): Promise<void>;
}
export interface CountingRowStore extends RowStore {
  count(range: IDBKeyRange): Promise<number>;
}

/** Splits events in seq order into contiguous runs (duplicates dropped). */
export function contiguousRuns(events: readonly DocEvent[]): DocEvent[][] {
  const runs: DocEvent[][] = [];
  let run: DocEvent[] = [];
  for (const e of events) {
    const prev = run.length > 0 ? run[run.length - 1].seq : null;
    if (prev !== null && e.seq <= prev) continue;
    if (prev !== null && e.seq !== prev + 1) {
      runs.push(run);
      run = [];
    }
    run.push(e);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** A block of a contiguous run. */
export function blockOf(run: readonly DocEvent[]): BlockRecord {
  return { first: run[0].seq, last: run[run.length - 1].seq, bytes: encodeStoredEvents(run) };
}

/**
 * Moves rows into blocks, in this transaction: every chunk of rows that ends at or before
 * `head` (whole), and a chunk holding ROWS_BEFORE_MERGE rows or more (merged ahead of
 * time). Returns how many rows went.
 */
export async function sealChunks(rows: CountingRowStore, blocks: BlockStore, docId: string, head: number): Promise<number> {
  let sealed = 0;
  for (;;) {
    const key = (await rows.getKey(IDBKeyRange.bound([docId, 0], [docId, INF]))) as [string, number] | undefined;
    if (key === undefined) return sealed;
    const start = key[1];
    const end = Math.ceil(start / SEAL_EVENTS) * SEAL_EVENTS;
    const range = IDBKeyRange.bound([docId, start], [docId, end]);
    // The chunk in progress keeps its rows until there are enough to be worth a merge.
    if (end > head && (await rows.count(range)) < ROWS_BEFORE_MERGE) return sealed;
    const found = (await rows.getAll(range)) as DocEvent[];
    await mergeIntoChunks(blocks, docId, found, SEAL_EVENTS);
    await rows.delete(range);
    sealed += found.length;
  }
}

/**
 * Adds events to the blocks, chunk by chunk (`chunk` seqs each). `eager`: each chunk they
 * touch is read, merged with them and written back as one block per contiguous run (the
 * local store, whose merges are already spaced out). Otherwise new events are a block of
 * their own until the chunk is complete, and only then is it merged into one block: a
 * history page costs one encode, a chunk one merge (the history cache). A stored block that
 * no longer decodes is dropped at a merge (its events come again from the server).
 */
export async function mergeIntoChunks(blocks: BlockStore, docId: string, events: readonly DocEvent[], chunk: number, eager = true): Promise<void> {
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  let i = 0;
  while (i < sorted.length) {
    const end = Math.ceil(sorted[i].seq / chunk) * chunk;
    const start = end - chunk + 1;
    const range = IDBKeyRange.bound([docId, start], [docId, end]);
    const stored = (await blocks.getAll(range)) as BlockRecord[];
    const fresh: DocEvent[] = [];
    for (; i < sorted.length && sorted[i].seq <= end; i++) {
      const seq = sorted[i].seq;
      if (!stored.some((b) => b.first <= seq && seq <= b.last)) fresh.push(sorted[i]);
    }
    if (fresh.length === 0) continue; // nothing new in this chunk
    const covered = stored.reduce((n, b) => n + (b.last - b.first + 1), 0) + contiguousRuns(fresh).reduce((n, r) => n + r.length, 0);
    if (!eager && covered < chunk) {
      for (const run of contiguousRuns(fresh)) await blocks.put(blockOf(run), [docId, run[run.length - 1].seq]);
      continue;
    }
    let have: DocEvent[] = [];
    for (const b of stored) {
      const d = decodeStoredEvents(b.bytes);
      if (d.ok) have = mergeBySeq(have, d.value);
    }
    const merged = mergeBySeq(have, fresh);
    await blocks.delete(range);
    for (const run of contiguousRuns(merged)) await blocks.put(blockOf(run), [docId, run[run.length - 1].seq]);
  }
}

/**
 * Stored events `from < seq ≤ to` in seq order without duplicates (there may be gaps),
 * from the blocks and the rows, at most `limit`; plus the blocks that could not be read.
 */
export async function readEvents(
  rows: RowReader | null,
  blocks: BlockReader,
  docId: string,
  from: number,
  to: number,
  limit = INF,
): Promise<{ events: DocEvent[]; problems: BlockProblem[] }> {
  const problems: BlockProblem[] = [];
  const fromBlocks: DocEvent[] = [];
  let cursor = await blocks.openCursor(IDBKeyRange.bound([docId, from + 1], [docId, INF]));
  while (cursor !== null) {
    const b = cursor.value as BlockRecord;
    if (b.first > to) break;
    const d = decodeStoredEvents(b.bytes);
    if (!d.ok) problems.push({ first: b.first, last: b.last, error: d.error });
    else if (d.value.length !== b.last - b.first + 1 || d.value[0].seq !== b.first) {
      problems.push({ first: b.first, last: b.last, error: { code: 'block-malformed', message: `the block holds seqs other than ${b.first}–${b.last}` } });
    } else for (const e of d.value) if (e.seq > from && e.seq <= to) fromBlocks.push(e);
    if (fromBlocks.length >= limit) break;
    cursor = await cursor.continue();
  }
  const loose = rows !== null && to > from ? ((await rows.getAll(IDBKeyRange.bound([docId, from + 1], [docId, to]), Number.isFinite(limit) ? limit : undefined)) as DocEvent[]) : [];
  return { events: mergeBySeq(fromBlocks, loose).slice(0, Number.isFinite(limit) ? limit : undefined), problems };
}

/** Two lists of events in seq order merged into one, each seq once. */
export function mergeBySeq(a: readonly DocEvent[], b: readonly DocEvent[]): DocEvent[] {
  const out: DocEvent[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i].seq <= b[j].seq) ? a[i++] : b[j++];
    if (out.length === 0 || next.seq > out[out.length - 1].seq) out.push(next);
  }
  return out;
}

/** The lowest seq stored as a row or in a block (0: none). */
export async function firstStoredSeq(rows: RowReader, blocks: BlockReader, docId: string): Promise<number> {
  const key = (await rows.getKey(IDBKeyRange.bound([docId, 0], [docId, INF]))) as [string, number] | undefined;
  const cursor = await blocks.openCursor(IDBKeyRange.bound([docId, 0], [docId, INF]));
  const b = cursor === null ? undefined : (cursor.value as BlockRecord);
  const candidates = [key?.[1], b?.first].filter((s): s is number => s !== undefined);
  return candidates.length === 0 ? 0 : Math.min(...candidates);
}

/** A sentence for a block that could not be read. */
export function describeProblem(p: BlockProblem): string {
  return `the stored events ${p.first}–${p.last} could not be read (${p.error.code}: ${p.error.message}); they will come from the server`;
}
