/**
 * The sealed part of a document's log: runs of events encoded as one block each
 * (`encodeBlock`), in the `blocks` table, with a per-client id index in `block_ids`.
 *
 * Sealing takes the oldest unsealed rows of a document (seqs right after its last
 * block), encodes them, checks that the bytes decode back to exactly those events, and
 * in one transaction inserts the block and its index rows and deletes the rows. So at
 * every commit each seq is in exactly one place: in a block (seq ≤ the document's sealed
 * head, the last block's last seq) or in a row (seq > it). Blocks are contiguous from
 * seq 1; a block's size is whatever was sealed (normally the store's `sealEvery`) or
 * merged, so reads never assume one. Compaction (`compactNext`, R25) is the one rewrite: a
 * run of consecutive small blocks replaced, in one transaction, by one block of the same
 * events, with the id rows of the old blocks replaced by the new block's.
 *
 * The id index (L3). Appends need two answers about sealed events: "is this id already
 * in the log?" and "what is this client's highest clientSeq?", and a resend after a
 * reconnect needs "which seq did this id get?". Per block and client, `block_ids` keeps
 * the lowest and highest clientSeq the client has in the block. A client's clientSeqs
 * rise with seq, so its ranges over the blocks are disjoint and ordered: the highest
 * clientSeq is one seek to the end of (doc, client), and an id is looked up in the one
 * block whose range holds it, decoded (~1,000 events, a fraction of a millisecond).
 * Nothing in the store relies on clientSeqs rising: overlapping ranges only mean more
 * than one block is decoded. A block of n events by k clients costs k index rows, not n;
 * docs/storage.md compares this with a table of runs.
 */
import type Database from 'better-sqlite3';
import type { DocEvent } from '../../../shared/src/index.js';
import { encodeBlock, decodeBlock } from '../../../shared/src/index.js';
import { CorruptEventError, type EventRows } from './sqlite-rows.js';

type BlockRow = [first: number, last: number, data: Uint8Array];

export class SealedBlocks {
  private readonly st: ReturnType<typeof prepare>;
  /**
   * The blocks decoded last, by "doc, first, last", newest last (at most DECODED_KEPT). A
   * compacted block is read a chunk at a time (the rooms read 1,000 seqs at once) and
   * resends look ids up in runs, so the same block is asked for again and again. The key
   * is safe across compaction: whatever block holds exactly seqs first…last of a document
   * holds the same events. The events are frozen, as the memory store's are (R8).
   */
  private readonly decoded = new Map<string, readonly DocEvent[]>();

  constructor(
    db: Database.Database,
    private readonly rows: EventRows,
  ) {
    this.st = prepare(db);
  }

  /** The last sealed seq of `docId` (0: nothing sealed); rows hold the seqs after it. */
  sealedHead(docId: string): number {
    return (this.st.sealedHead.get(docId) as number | null) ?? 0;
  }

  /**
   * Appends the sealed events with lo < seq ≤ hi to `out`, in order, and returns the seq
   * reached (lo if no block holds any of them): the rows continue from there. Throws
   * CorruptEventError for a block that does not decode to its seqs, or a gap between blocks.
   */
  read(docId: string, lo: number, hi: number, out: DocEvent[]): number {
    let reached = lo;
    for (const [first, last, data] of this.st.blocksFrom.iterate(docId, lo) as IterableIterator<BlockRow>) {
      if (first > reached + 1) throw new CorruptEventError(docId, reached + 1, `missing (the next block starts at seq ${first})`);
      if (first > hi) break;
      const events = this.cached(docId, first, last, data);
      for (let i = Math.max(0, lo + 1 - first), end = Math.min(events.length, hi + 1 - first); i < end; i++) out.push(events[i]);
      reached = Math.min(last, hi);
      if (reached === hi) break;
    }
    return reached;
  }

  /**
   * The seq `client:clientSeq` got, if it is sealed. Resends come in runs (a client
   * reconnecting resends its whole outbox), so the last block decoded here is kept.
   */
  seqOf(docId: string, client: string, clientSeq: number): number | undefined {
    for (const last of this.st.candidates.all(docId, client, clientSeq, clientSeq) as number[]) {
      const row = this.st.block.get(docId, last) as BlockRow | undefined;
      if (row === undefined) continue;
      const events = this.cached(docId, row[0], row[1], row[2]);
      for (const e of events) {
        if (e.id.clientSeq === clientSeq && e.id.client === client) return e.seq;
      }
    }
    return undefined;
  }

  /** The highest clientSeq of `client` in the blocks; 0 if none. */
  lastClientSeq(docId: string, client: string): number {
    return (this.st.maxClientSeq.get(docId, client) as number | null) ?? 0;
  }

  /** The first of `events` whose id is already sealed (a caller's bug, L3), if any. */
  sealedDuplicate(docId: string, events: readonly DocEvent[]): DocEvent | undefined {
    const highest = new Map<string, number>();
    for (const e of events) {
      let max = highest.get(e.id.client);
      if (max === undefined) highest.set(e.id.client, (max = this.lastClientSeq(docId, e.id.client)));
      if (e.id.clientSeq <= max && this.seqOf(docId, e.id.client, e.id.clientSeq) !== undefined) return e;
    }
    return undefined;
  }

  /**
   * Seals the next `size` unsealed events of `docId` into one block, if there are at least
   * `minimum`; returns the block's seqs or null. Must run inside a write transaction (the
   * caller's), so the block, its index rows and the deletion of the rows commit together.
   * Throws if the codec does not give back exactly the events (a bug: nothing is deleted).
   */
  sealNext(docId: string, size: number, minimum = size): { first: number; last: number } | null {
    const sealed = this.sealedHead(docId);
    const events: DocEvent[] = [];
    this.rows.read(docId, sealed, sealed + size, events);
    if (events.length === 0 || events.length < minimum) return null;
    const { first, last } = this.write(docId, events, 'sealing');
    const deleted = this.rows.delete(docId, sealed, last);
    if (deleted !== events.length) throw new Error(`SqliteLogStore: sealing ${docId} ${first}-${last}: deleted ${deleted} rows`);
    return { first, last };
  }

  /**
   * Writes `events` (the seqs right after the sealed head, with no rows after it: a bulk
   * load such as the import) as blocks of `size` with their id index rows, without going
   * through rows. Must run inside the caller's write transaction. Throws, as a seal does, if
   * the codec does not give back exactly the events.
   */
  writeSealed(docId: string, events: readonly DocEvent[], size: number): void {
    for (let i = 0; i < events.length; i += size) this.write(docId, events.slice(i, i + size), 'writing');
  }

  /**
   * Compaction (R25): merges the document's oldest run of consecutive small blocks (fewer
   * than `maxEvents` events each) into one block, if the run is complete: it holds at least
   * two blocks and cannot grow (adding the block after it would pass `maxEvents` events or
   * `maxBytes` stored bytes, or a large block follows it); with `tail`, a run that ends at
   * the sealed head is merged too (an idle document). Returns the merged seqs or null. Must
   * run inside the caller's write transaction: the old blocks and their id rows are deleted
   * and the new block and its id rows inserted together, so each seq is in exactly one
   * block at every commit (R12). Throws, as a seal does, if the codec does not give back
   * exactly the events, and CorruptEventError for a block that does not decode.
   */
  compactNext(docId: string, maxEvents: number, maxBytes: number, tail: boolean): { first: number; last: number; blocks: number } | null {
    const run = this.nextRun(docId, maxEvents, maxBytes, tail);
    if (run === null) return null;
    const events: DocEvent[] = [];
    for (const [first, last] of run) {
      const row = this.st.block.get(docId, last) as BlockRow | undefined;
      if (row === undefined || row[0] !== first) throw new CorruptEventError(docId, first, `block ${first}-${last} went missing while compacting`);
      const part = this.decode(docId, first, last, row[2]);
      for (const [client, { min, max }] of idRuns(part)) this.st.deleteId.run(docId, client, max, last, min);
      this.st.deleteBlock.run(docId, last);
      for (const e of part) events.push(e);
    }
    const { first, last } = this.write(docId, events, 'compacting');
    return { first, last, blocks: run.length };
  }

  /** Whether `compactNext` would merge something now (no decoding: one index scan). */
  compactionDue(docId: string, maxEvents: number, maxBytes: number, tail: boolean): boolean {
    return this.nextRun(docId, maxEvents, maxBytes, tail) !== null;
  }

  /** The oldest complete run of small blocks, as [first, last] pairs, or null. */
  private nextRun(docId: string, maxEvents: number, maxBytes: number, tail: boolean): [number, number][] | null {
    let run: [number, number][] = [];
    let events = 0;
    let bytes = 0;
    for (const [first, last, size] of this.st.smallBlocks.iterate(docId, maxEvents) as IterableIterator<[number, number, number]>) {
      const n = last - first + 1;
      const follows = run.length > 0 && run[run.length - 1][1] + 1 === first;
      if (run.length > 0 && (!follows || events + n > maxEvents || bytes + size > maxBytes)) {
        if (run.length >= 2) return run; // complete: it cannot grow
        run = [];
        events = 0;
        bytes = 0;
      }
      run.push([first, last]);
      events += n;
      bytes += size;
      if (run.length >= 2 && events >= maxEvents) return run; // full: no block fits after it
    }
    return tail && run.length >= 2 ? run : null;
  }

  /** `decode`, through the small cache of decoded blocks. */
  private cached(docId: string, first: number, last: number, data: Uint8Array): readonly DocEvent[] {
    const key = `${docId}\u0000${first}\u0000${last}`;
    const hit = this.decoded.get(key);
    if (hit !== undefined) {
      this.decoded.delete(key);
      this.decoded.set(key, hit);
      return hit;
    }
    const events = this.decode(docId, first, last, data);
    for (const e of events) freeze(e);
    this.decoded.set(key, events);
    if (this.decoded.size > DECODED_KEPT) this.decoded.delete(this.decoded.keys().next().value as string);
    return events;
  }

  /** Encodes `events` as one block, checks it decodes back to exactly them, inserts it and its id index rows. */
  private write(docId: string, events: readonly DocEvent[], what: string): { first: number; last: number } {
    const first = events[0].seq;
    const last = events[events.length - 1].seq;
    const bytes = encodeBlock(events);
    const back = decodeBlock(bytes);
    if (!back.ok) throw new Error(`SqliteLogStore: ${what} ${docId} ${first}-${last}: the block does not decode: ${back.error.message}`);
    const diff = firstDifference(events, back.value);
    if (diff !== null) throw new Error(`SqliteLogStore: ${what} ${docId} ${first}-${last}: the block decodes differently at ${diff}`);
    this.st.insertBlock.run(docId, last, first, bytes);
    for (const [client, { min, max }] of idRuns(events)) this.st.insertId.run(docId, client, max, last, min);
    return { first, last };
  }

  /** Decodes a block and checks it holds exactly seqs first…last. */
  private decode(docId: string, first: number, last: number, data: Uint8Array): DocEvent[] {
    const r = decodeBlock(data);
    if (!r.ok) throw new CorruptEventError(docId, first, `block ${first}-${last}: ${r.error.code}: ${r.error.message}`);
    const events = r.value;
    if (events.length !== last - first + 1) {
      throw new CorruptEventError(docId, first, `block ${first}-${last} holds ${events.length} events`);
    }
    for (let i = 0; i < events.length; i++) {
      if (events[i].seq !== first + i) throw new CorruptEventError(docId, first + i, `block ${first}-${last}: seq ${events[i].seq} in its place`);
    }
    return events;
  }
}

function prepare(db: Database.Database) {
  return {
    sealedHead: db.prepare('SELECT max(last_seq) FROM blocks WHERE doc_id = ?').pluck(),
    // Blocks are disjoint and ordered, so ordering by last_seq orders first_seq too; the
    // reader stops at the first block past the range.
    blocksFrom: db.prepare('SELECT first_seq, last_seq, data FROM blocks WHERE doc_id = ? AND last_seq > ? ORDER BY last_seq').raw(),
    block: db.prepare('SELECT first_seq, last_seq, data FROM blocks WHERE doc_id = ? AND last_seq = ?').raw(),
    candidates: db
      .prepare('SELECT last_seq FROM block_ids WHERE doc_id = ? AND client = ? AND max_cs >= ? AND min_cs <= ? ORDER BY max_cs')
      .pluck(),
    maxClientSeq: db.prepare('SELECT max(max_cs) FROM block_ids WHERE doc_id = ? AND client = ?').pluck(),
    insertBlock: db.prepare('INSERT INTO blocks (doc_id, last_seq, first_seq, data) VALUES (?, ?, ?, ?)'),
    insertId: db.prepare('INSERT INTO block_ids (doc_id, client, max_cs, last_seq, min_cs) VALUES (?, ?, ?, ?, ?)'),
    // Compaction. The scan reads the blocks' sizes, not their bytes; blocks already as
    // large as a merge makes them are skipped.
    smallBlocks: db
      .prepare('SELECT first_seq, last_seq, length(data) FROM blocks WHERE doc_id = ? AND last_seq - first_seq + 1 < ? ORDER BY last_seq')
      .raw(),
    deleteBlock: db.prepare('DELETE FROM blocks WHERE doc_id = ? AND last_seq = ?'),
    deleteId: db.prepare('DELETE FROM block_ids WHERE doc_id = ? AND client = ? AND max_cs = ? AND last_seq = ? AND min_cs = ?'),
  };
}

/** Decoded blocks kept by SealedBlocks (a compacted block of 16,384 events is a few MB decoded). */
const DECODED_KEPT = 2;

/** Per client, the lowest and highest clientSeq it has among `events`: a block's `block_ids` rows. */
function idRuns(events: readonly DocEvent[]): Map<string, { min: number; max: number }> {
  const runs = new Map<string, { min: number; max: number }>();
  for (const e of events) {
    const r = runs.get(e.id.client);
    if (r === undefined) runs.set(e.id.client, { min: e.id.clientSeq, max: e.id.clientSeq });
    else {
      if (e.id.clientSeq < r.min) r.min = e.id.clientSeq;
      if (e.id.clientSeq > r.max) r.max = e.id.clientSeq;
    }
  }
  return runs;
}

/** Freezes a decoded event in place, as deep as it goes (R8: a cached event is handed to many callers). */
function freeze(e: DocEvent): void {
  for (const c of e.op) if (typeof c === 'object') Object.freeze(c);
  Object.freeze(e.op);
  Object.freeze(e.id);
  if (e.meta !== undefined) Object.freeze(e.meta);
  Object.freeze(e);
}

/** Where two event lists differ (a path for the message), or null: every field compared. */
export function firstDifference(a: readonly DocEvent[], b: readonly DocEvent[]): string | null {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    const at = `event ${i} (seq ${x.seq})`;
    if (x.seq !== y.seq || x.base !== y.base || x.time !== y.time || x.kind !== y.kind || x.author !== y.author) return `${at}: header`;
    if (x.id.client !== y.id.client || x.id.clientSeq !== y.id.clientSeq) return `${at}: id`;
    if (x.op.length !== y.op.length) return `${at}: op`;
    for (let k = 0; k < x.op.length; k++) {
      const c = x.op[k];
      const d = y.op[k];
      if (typeof c === 'object' ? typeof d !== 'object' || c.d !== d.d : c !== d) return `${at}: op`;
    }
    if ((x.meta === undefined) !== (y.meta === undefined)) return `${at}: meta`;
    if (x.meta !== undefined && y.meta !== undefined) {
      const kx = Object.keys(x.meta);
      if (kx.length !== Object.keys(y.meta).length) return `${at}: meta`;
      for (const k of kx) if (!Object.is(x.meta[k], y.meta[k]) || !Object.prototype.hasOwnProperty.call(y.meta, k)) return `${at}: meta`;
    }
  }
  return null;
}
