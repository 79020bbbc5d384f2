/**
 * The history panel's IndexedDB cache: log pages fetched from the server, and the server
 * checkpoints that came with them, kept so a browser that joined late fetches each range
 * of a document's history once, and can scrub it offline afterwards. The checkpoints are
 * where the panel starts (near the head) and the bases of the older stretches it loads
 * backwards (history-model.ts).
 *
 * Why a database of its own ('eventide-history') rather than the local store's tail: the
 * local store keeps what the document needs to open (a checkpoint, the tail after it,
 * HISTORY_KEEP events below it) and trims the rest; the history of a long document is much
 * larger and is only wanted while the panel is used, so it lives and can be dropped on its
 * own, without touching the store whose writes guarantee O1.
 *
 * Layout (version 3). Events are blocks of the core's codec, keyed [docId, last seq], never
 * crossing a chunk of CACHE_CHUNK seqs (local/event-blocks.ts): a page is a block of its own
 * until its chunk is complete, then the chunk is merged into one block, however the pages
 * fell (deflate finds little in the text of 1,000 keystrokes, much more in 10,000).
 *
 * Checkpoints are keyed [docId, seq] and are either kept whole (the codec's bytes) or only
 * marked (`bytes: null`): the server had one there, and its state is the replay of the
 * cached events from the nearest whole one below, or from 0 (L5). At most one whole one is
 * kept per CHECKPOINT_SPACING seqs. Why: the server sends a checkpoint with every 1,000
 * events, each the whole text; for automerge-paper six whole ones took 116 KB, so all 260
 * would take some 4 MB, forty times the log itself (109 KB). Marks keep every base the
 * panel asks for (the same seqs, the same states) at the price of replaying up to
 * CHECKPOINT_SPACING events; one replay yields every mark on its way, and the last MEMO of
 * them are remembered, which is what the panel asks for next as it walks backwards.
 *
 * Events in the log never change (L1), and a server checkpoint is the fold of the events
 * before it, so a cached event or checkpoint is right forever. Every failure is a value:
 * a broken cache (an unreadable block, a mark that cannot be replayed) only means fetching
 * from the server again. Versions 1 (events as rows) and 2 (and whole checkpoint objects)
 * are upgraded in place in the upgrade transaction, keeping what they cached.
 */
import { openDB, type IDBPDatabase, type IDBPObjectStore, type IDBPTransaction } from 'idb';
import type { Checkpoint, CodedError, DocEvent, Result } from '../../../shared/src/index.js';
import { Rope, checkpointOf, err, ok, ropeFromCheckpoint, replayInto } from '../../../shared/src/index.js';
import { mergeIntoChunks, readEvents } from '../local/event-blocks.js';
import { decodeStoredCheckpoint, encodeStoredCheckpoint } from '../local/stored-codec.js';
import type { LocalEvents } from './event-source.js';
import type { CheckpointLookup } from './history-model.js';

const DB_NAME = 'eventide-history';
/** 1: events as rows; 2: and server checkpoints (objects); 3: events as blocks, checkpoints as bytes or marks. */
const DB_VERSION = 3;
const OLD_EVENTS = 'events';
const BLOCKS = 'blocks';
const CHECKPOINTS = 'checkpoints';

/** At most one whole checkpoint per this many seqs; the others are marks, replayed when asked for. */
export const CHECKPOINT_SPACING = 250_000;

/**
 * Seqs per block of the cache: bigger than the local store's (no keystroke waits on these
 * writes), because the text column of 1,000 keystrokes is too short for deflate to find much.
 */
export const CACHE_CHUNK = 10_000;

/** A cached server checkpoint: whole (`bytes`), or a mark of where one was (`bytes: null`). */
interface CheckpointRecord {
  readonly seq: number;
  readonly bytes: Uint8Array | null;
}

/** Replayed checkpoints remembered per open cache (each is a whole text). */
const MEMO = 64;
/** Events replayed between two turns of the page when a mark is replayed. */
const REPLAY_SLICE = 20_000;
const INF = Number.POSITIVE_INFINITY;

export class HistoryCache {
  private readonly memo = new Map<string, Checkpoint>();

  private constructor(private readonly db: IDBPDatabase) {}

  /** Opens the cache; null when IndexedDB is unavailable, the upgrade fails or it does not open in time. */
  static async open(timeoutMs = 3000): Promise<HistoryCache | null> {
    if ((globalThis as { indexedDB?: IDBFactory }).indexedDB === undefined) return null;
    try {
      const opening = openDB(DB_NAME, DB_VERSION, {
        upgrade(db, oldVersion, _newVersion, tx) {
          if (oldVersion < 2) db.createObjectStore(CHECKPOINTS);
          if (oldVersion < 3) db.createObjectStore(BLOCKS);
          if (oldVersion >= 1 && oldVersion < 3) {
            // A failure aborts the upgrade: the old cache stays as it was, and this page does without.
            tx.done.catch(() => undefined);
            upgradeCache(tx, db, oldVersion).catch(() => {
              try {
                tx.abort();
              } catch {
                /* already aborted */
              }
            });
          }
        },
        blocking() {
          void opening.then((d) => d.close());
        },
      });
      const r = await Promise.race([opening, new Promise<null>((res) => setTimeout(() => res(null), timeoutMs))]);
      if (r === null) {
        void opening.then((d) => d.close()).catch(() => undefined);
        return null;
      }
      return new HistoryCache(r);
    } catch {
      return null;
    }
  }

  close(): void {
    this.db.close();
  }

  /** Cached events `from < seq ≤ to`, in seq order, at most `limit` (there may be gaps). */
  async events(docId: string, from: number, to: number, limit = 1000): Promise<Result<DocEvent[], CodedError>> {
    if (to <= from) return ok([]);
    try {
      const tx = this.db.transaction(BLOCKS);
      const r = await readEvents(null, tx.store, docId, from, to, limit);
      await tx.done;
      if (r.problems.length > 0) {
        // A damaged block is dropped, so the pages fetched again in its place are kept.
        const del = this.db.transaction(BLOCKS, 'readwrite');
        for (const p of r.problems) void del.store.delete([docId, p.last]);
        await del.done;
      }
      return ok(r.events);
    } catch (e) {
      return err('storage', `the history cache could not be read: ${(e as Error).message}`);
    }
  }

  /** The newest cached server checkpoint with seq ≤ `seq` that can be had, or null. */
  async checkpointAtOrBefore(docId: string, seq: number): Promise<Result<Checkpoint | null, CodedError>> {
    if (!(seq >= 0)) return ok(null);
    try {
      const records = await this.records(docId, 0, seq, 'prev', 4);
      for (const rec of records) {
        const cp = await this.resolve(docId, rec);
        if (cp !== null) return ok(cp);
      }
      return ok(null);
    } catch (e) {
      return err('storage', `the history cache could not be read: ${(e as Error).message}`);
    }
  }

  /** Cached server checkpoints with `from < seq ≤ to` that can be had, in seq order. */
  async checkpoints(docId: string, from: number, to: number): Promise<Result<Checkpoint[], CodedError>> {
    if (to <= from) return ok([]);
    try {
      const out: Checkpoint[] = [];
      for (const rec of await this.records(docId, from + 1, to, 'next', INF)) {
        const cp = await this.resolve(docId, rec);
        if (cp !== null) out.push(cp);
      }
      return ok(out);
    } catch (e) {
      return err('storage', `the history cache could not be read: ${(e as Error).message}`);
    }
  }

  /** Keeps `events` and server `checkpoints` (of one document), in one transaction. */
  async put(docId: string, events: readonly DocEvent[], checkpoints: readonly Checkpoint[] = []): Promise<Result<null, CodedError>> {
    if (events.length === 0 && checkpoints.length === 0) return ok(null);
    try {
      const tx = this.db.transaction([BLOCKS, CHECKPOINTS], 'readwrite');
      await mergeIntoChunks(tx.objectStore(BLOCKS), docId, events, CACHE_CHUNK, false);
      const cps = tx.objectStore(CHECKPOINTS);
      for (const c of checkpoints) {
        if (c.docId !== docId || (await cps.getKey([docId, c.seq])) !== undefined) continue;
        const whole = (await wholeNear(cps, docId, c.seq)) === null;
        await cps.put({ seq: c.seq, bytes: whole ? encodeStoredCheckpoint(c) : null } satisfies CheckpointRecord, [docId, c.seq]);
      }
      await tx.done;
      return ok(null);
    } catch (e) {
      return err('storage', `the history cache could not be written: ${(e as Error).message}`);
    }
  }

  /**
   * Drops everything cached of `docId` (its blocks and checkpoints), in one transaction: the
   * document was removed from this browser (C20), so its history must not stay behind.
   */
  async forget(docId: string): Promise<Result<null, CodedError>> {
    try {
      const tx = this.db.transaction([BLOCKS, CHECKPOINTS], 'readwrite');
      const all = IDBKeyRange.bound([docId, -INF], [docId, INF]);
      await Promise.all([tx.objectStore(BLOCKS).delete(all), tx.objectStore(CHECKPOINTS).delete(all), tx.done]);
      return ok(null);
    } catch (e) {
      return err('storage', `the history cache could not be cleared: ${(e as Error).message}`);
    }
  }

  private async records(docId: string, lo: number, hi: number, dir: 'next' | 'prev', max: number): Promise<CheckpointRecord[]> {
    const out: CheckpointRecord[] = [];
    let cursor = await this.db.transaction(CHECKPOINTS).store.openCursor(IDBKeyRange.bound([docId, lo], [docId, hi]), dir);
    while (cursor !== null && out.length < max) {
      out.push(cursor.value as CheckpointRecord);
      cursor = await cursor.continue();
    }
    return out;
  }

  /**
   * A record as a checkpoint: decoded when whole; when a mark, replayed from the nearest
   * whole one below through the cached events (remembering every mark on the way). Null
   * when it cannot be had (unreadable, or events missing): the panel then asks the server.
   */
  private async resolve(docId: string, rec: CheckpointRecord): Promise<Checkpoint | null> {
    if (rec.bytes !== null) {
      const d = decodeStoredCheckpoint(rec.bytes);
      return d.ok && d.value.seq === rec.seq && d.value.docId === docId ? d.value : null;
    }
    const known = this.memo.get(memoKey(docId, rec.seq));
    if (known !== undefined) return known;
    const below = await this.records(docId, 0, rec.seq, 'prev', INF);
    const baseRec = below.find((r) => r.bytes !== null);
    const base = baseRec === undefined ? null : await this.resolve(docId, baseRec);
    const from = base?.seq ?? 0;
    const marks = below.filter((r) => r.bytes === null && r.seq > from).map((r) => r.seq).reverse();
    const got = await this.events(docId, from, rec.seq, INF);
    if (!got.ok) return null;
    const events = got.value;
    if (events.length !== rec.seq - from || (events.length > 0 && events[0].seq !== from + 1)) return null;
    try {
      const rope = base === null ? Rope.empty() : ropeFromCheckpoint(base);
      // Only the last MEMO marks are kept, so only those are made; the replay gives the
      // page a turn every REPLAY_SLICE events (it may be a long one).
      const kept = new Set(marks.slice(-MEMO));
      let at = from;
      for (const m of marks) {
        while (at < m) {
          const to = Math.min(m, at + REPLAY_SLICE);
          replayInto(rope, at, events.slice(at - from, to - from));
          at = to;
          if (at < rec.seq) await new Promise((r) => setTimeout(r, 0));
        }
        if (kept.has(m)) this.remember(checkpointOf(docId, m, rope));
      }
    } catch {
      return null; // the cached events do not replay: the server has them
    }
    return this.memo.get(memoKey(docId, rec.seq)) ?? null;
  }

  private remember(cp: Checkpoint): void {
    const key = memoKey(cp.docId, cp.seq);
    this.memo.delete(key);
    this.memo.set(key, cp);
    while (this.memo.size > MEMO) this.memo.delete(this.memo.keys().next().value as string);
  }
}

function memoKey(docId: string, seq: number): string {
  return `${seq}@${docId}`;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyTx = IDBPTransaction<any, any, 'versionchange'>;
type Store = IDBPObjectStore<any, any, any, 'readwrite' | 'versionchange'>;
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The seq of a whole checkpoint within CHECKPOINT_SPACING of `seq` (either side), or null. */
async function wholeNear(cps: Store, docId: string, seq: number): Promise<number | null> {
  let cursor = await cps.openCursor(IDBKeyRange.bound([docId, Math.max(0, seq - CHECKPOINT_SPACING + 1)], [docId, seq + CHECKPOINT_SPACING - 1]));
  while (cursor !== null) {
    const rec = cursor.value as CheckpointRecord;
    if (rec.bytes !== null) return rec.seq;
    cursor = await cursor.continue();
  }
  return null;
}

/** Versions 1 and 2 to 3, in the upgrade transaction: rows into blocks, checkpoint objects into bytes or marks. */
async function upgradeCache(tx: AnyTx, db: IDBPDatabase, oldVersion: number): Promise<void> {
  const blocks = tx.objectStore(BLOCKS);
  let cursor = await tx.objectStore(OLD_EVENTS).openCursor();
  let doc: string | null = null;
  let pending: DocEvent[] = [];
  const flush = async () => {
    try {
      if (doc !== null && pending.length > 0) await mergeIntoChunks(blocks, doc, pending, CACHE_CHUNK, false);
    } catch (e) {
      // Rows that do not make a block (another version's bug): dropped, the server has them.
      if (!(e instanceof Error) || (e as { name?: string }).name !== 'Error') throw e;
    }
    pending = [];
  };
  while (cursor !== null) {
    const [docId] = cursor.key as [string, number];
    if (docId !== doc || pending.length >= CACHE_CHUNK) {
      await flush();
      doc = docId;
    }
    pending.push(cursor.value as DocEvent);
    cursor = await cursor.continue();
  }
  await flush();
  db.deleteObjectStore(OLD_EVENTS);
  if (oldVersion < 2) return;
  // Version 2's checkpoints were whole objects: in seq order, keep one whole per spacing.
  const cps = tx.objectStore(CHECKPOINTS);
  let c = await cps.openCursor();
  const lastWhole = new Map<string, number>();
  while (c !== null) {
    const [docId] = c.key as [string, number];
    const cp = c.value as Checkpoint;
    const prev = lastWhole.get(docId);
    const whole = prev === undefined || cp.seq - prev >= CHECKPOINT_SPACING;
    let bytes: Uint8Array | null = null;
    try {
      if (whole) bytes = encodeStoredCheckpoint(cp);
    } catch {
      // Not a checkpoint after all (encoding checks its promises): forgotten, the server has it.
      await c.delete();
      c = await c.continue();
      continue;
    }
    if (bytes !== null) lastWhole.set(docId, cp.seq);
    await c.update({ seq: cp.seq, bytes } satisfies CheckpointRecord);
    c = await c.continue();
  }
}

/** The cache's checkpoints of one document, as the history model asks for them. */
export function checkpointsOf(cache: HistoryCache | null, docId: string): CheckpointLookup | null {
  if (cache === null) return null;
  return {
    atOrBefore: (seq) => cache.checkpointAtOrBefore(docId, seq),
    inRange: (from, to) => cache.checkpoints(docId, from, to),
  };
}

/**
 * The local events the event source reads: the local store first (what the document
 * keeps), then this cache, whichever has the start of the range.
 */
export function localWithCache(store: LocalEvents | null, cache: HistoryCache | null): LocalEvents | null {
  if (cache === null) return store;
  return {
    async events(docId, from, to, limit) {
      if (store !== null) {
        const r = await store.events(docId, from, to, limit);
        if (r.ok && r.value.length > 0 && r.value[0].seq === from + 1) return r;
      }
      return cache.events(docId, from, to, limit);
    },
  };
}
