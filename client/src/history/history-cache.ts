/**
 * The history panel's IndexedDB cache: log pages fetched from the server, and the server
 * checkpoints that came with them, kept so a browser that joined late fetches each range
 * of a document's history once, and can scrub it offline afterwards. The checkpoints are
 * where the panel starts (near the head) and the bases of the older stretches it loads
 * backwards (history-model.ts).
 *
 * Why a database of its own ('eventide-history': a store of events and one of server
 * checkpoints, both keyed by [docId, seq]) rather than the local store's tail: the local store keeps what the
 * document needs to open (a checkpoint, the tail after it, HISTORY_KEEP events below
 * it) and trims the rest; the history of a long document is much larger and is only
 * wanted while the panel is used, so it lives and can be dropped on its own, without
 * touching the store whose writes guarantee O1.
 *
 * Events in the log never change (L1), and a server checkpoint is the fold of the events
 * before it, so a cached event or checkpoint is right forever. Every
 * failure is a value: a broken cache only means fetching from the server again.
 */
import { openDB, type IDBPDatabase } from 'idb';
import type { Checkpoint, CodedError, DocEvent, Result } from '../../../shared/src/index.js';
import { err, ok } from '../../../shared/src/index.js';
import type { LocalEvents } from './event-source.js';
import type { CheckpointLookup } from './history-model.js';

const DB_NAME = 'eventide-history';
/** 1: events; 2: and server checkpoints. */
const DB_VERSION = 2;
const STORE = 'events';
const CHECKPOINTS = 'checkpoints';

export class HistoryCache {
  private constructor(private readonly db: IDBPDatabase) {}

  /** Opens the cache; null when IndexedDB is unavailable or does not open in time. */
  static async open(timeoutMs = 3000): Promise<HistoryCache | null> {
    if ((globalThis as { indexedDB?: IDBFactory }).indexedDB === undefined) return null;
    try {
      const opening = openDB(DB_NAME, DB_VERSION, {
        upgrade(db, oldVersion) {
          // Each version adds a store; what an older version cached stays.
          if (oldVersion < 1) db.createObjectStore(STORE);
          if (oldVersion < 2) db.createObjectStore(CHECKPOINTS);
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
      return ok((await this.db.getAll(STORE, IDBKeyRange.bound([docId, from + 1], [docId, to]), limit)) as DocEvent[]);
    } catch (e) {
      return err('storage', `the history cache could not be read: ${(e as Error).message}`);
    }
  }

  /** The newest cached server checkpoint with seq ≤ `seq`, or null. */
  async checkpointAtOrBefore(docId: string, seq: number): Promise<Result<Checkpoint | null, CodedError>> {
    if (!(seq >= 0)) return ok(null);
    try {
      const cursor = await this.db.transaction(CHECKPOINTS).store.openCursor(IDBKeyRange.bound([docId, 0], [docId, seq]), 'prev');
      return ok(cursor === null ? null : (cursor.value as Checkpoint));
    } catch (e) {
      return err('storage', `the history cache could not be read: ${(e as Error).message}`);
    }
  }

  /** Cached server checkpoints with `from < seq ≤ to`, in seq order. */
  async checkpoints(docId: string, from: number, to: number): Promise<Result<Checkpoint[], CodedError>> {
    if (to <= from) return ok([]);
    try {
      return ok((await this.db.getAll(CHECKPOINTS, IDBKeyRange.bound([docId, from + 1], [docId, to]))) as Checkpoint[]);
    } catch (e) {
      return err('storage', `the history cache could not be read: ${(e as Error).message}`);
    }
  }

  /** Keeps `events` and server `checkpoints` (of one document), in one transaction. */
  async put(docId: string, events: readonly DocEvent[], checkpoints: readonly Checkpoint[] = []): Promise<Result<null, CodedError>> {
    if (events.length === 0 && checkpoints.length === 0) return ok(null);
    try {
      const tx = this.db.transaction([STORE, CHECKPOINTS], 'readwrite');
      const store = tx.objectStore(STORE);
      const cps = tx.objectStore(CHECKPOINTS);
      for (const e of events) void store.put(e, [docId, e.seq]);
      for (const c of checkpoints) if (c.docId === docId) void cps.put(c, [docId, c.seq]);
      await tx.done;
      return ok(null);
    } catch (e) {
      return err('storage', `the history cache could not be written: ${(e as Error).message}`);
    }
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
