/**
 * Confirmed events in IndexedDB as sealed blocks plus loose rows.
 *
 * Why both. A keystroke must be in IndexedDB before the UI treats it as done (O1), and an
 * acknowledged event moves to the confirmed tail in the same kind of small transaction:
 * re-encoding a block on every ack would make each of those writes pay for the whole
 * block. So the newest confirmed events are rows (one structured-clone object per event,
 * key [docId, seq]), and once the rows fill a whole chunk of SEAL_EVENTS seqs,
 * `(k·SEAL_EVENTS, (k+1)·SEAL_EVENTS]`, that chunk is sealed: encoded as one block (the
 * codec's bytes, about 1 byte an event instead of ~150) and its rows deleted, in the same
 * transaction, so a reader sees the chunk either as rows or as a block, never neither.
 * Chunks are aligned to seqs rather than counted from the first row so that a block
 * never needs rewriting: a document that loads its tail after a server checkpoint (a
 * multiple of 1,000) seals the same chunks as one that saw every event.
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

/** Events per sealed block: the server's checkpoint spacing, so blocks line up with welcomes. */
export const SEAL_EVENTS = 1000;

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
 * Seals every whole chunk of rows that ends at or before `head` (see the essay), each in
 * this transaction: rows in, blocks out. Returns how many rows were sealed.
 */
export async function sealChunks(rows: RowStore, blocks: BlockStore, docId: string, head: number): Promise<number> {
  let sealed = 0;
  for (;;) {
    const key = (await rows.getKey(IDBKeyRange.bound([docId, 0], [docId, INF]))) as [string, number] | undefined;
    if (key === undefined) return sealed;
    const start = key[1];
    const end = Math.ceil(start / SEAL_EVENTS) * SEAL_EVENTS;
    if (end > head || end < start) return sealed;
    const range = IDBKeyRange.bound([docId, start], [docId, end]);
    const found = (await rows.getAll(range)) as DocEvent[];
    for (const run of contiguousRuns(found)) await blocks.put(blockOf(run), [docId, run[run.length - 1].seq]);
    await rows.delete(range);
    sealed += found.length;
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
