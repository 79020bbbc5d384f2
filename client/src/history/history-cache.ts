/**
 * The history panel's IndexedDB cache: log pages fetched from the server, kept so a
 * browser that joined late fetches each range of a document's history once, and can
 * scrub it offline afterwards.
 *
 * Why a database of its own ('eventide-history', one store of events keyed by
 * [docId, seq]) rather than the local store's tail: the local store keeps what the
 * document needs to open (a checkpoint, the tail after it, HISTORY_KEEP events below
 * it) and trims the rest; the history of a long document is much larger and is only
 * wanted while the panel is used, so it lives and can be dropped on its own, without
 * touching the store whose writes guarantee O1.
 *
 * Events in the log never change (L1), so a cached event is right forever. Every
 * failure is a value: a broken cache only means fetching from the server again.
 */
import { openDB, type IDBPDatabase } from 'idb';
import type { CodedError, DocEvent, Result } from '../../../shared/src/index.js';
import { err, ok } from '../../../shared/src/index.js';
import type { LocalEvents } from './event-source.js';

const DB_NAME = 'eventide-history';
const DB_VERSION = 1;
const STORE = 'events';

export class HistoryCache {
  private constructor(private readonly db: IDBPDatabase) {}

  /** Opens the cache; null when IndexedDB is unavailable or does not open in time. */
  static async open(timeoutMs = 3000): Promise<HistoryCache | null> {
    if ((globalThis as { indexedDB?: IDBFactory }).indexedDB === undefined) return null;
    try {
      const opening = openDB(DB_NAME, DB_VERSION, {
        upgrade(db) {
          db.createObjectStore(STORE);
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

  /** Keeps `events` (of one document). */
  async put(docId: string, events: readonly DocEvent[]): Promise<Result<null, CodedError>> {
    if (events.length === 0) return ok(null);
    try {
      const tx = this.db.transaction(STORE, 'readwrite');
      for (const e of events) void tx.store.put(e, [docId, e.seq]);
      await tx.done;
      return ok(null);
    } catch (e) {
      return err('storage', `the history cache could not be written: ${(e as Error).message}`);
    }
  }
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
