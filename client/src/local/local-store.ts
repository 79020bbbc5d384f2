/**
 * The browser's copy of documents, in IndexedDB (through `idb`). It is a cache of the
 * server's log plus the one thing only the browser has: the outbox, the local edits the
 * server has not acknowledged yet (docs/spec.md O1, O2).
 *
 * Per document it keeps
 *   - the latest checkpoint (the core's checkpoint block) and the confirmed tail after
 *     it, so the document shows at once on open, with or without a network. Confirmed
 *     events are rows while new and blocks of the core's codec once their chunk has
 *     enough of them (event-blocks.ts): every write stays small (O1), and the footprint
 *     is about the server's;
 *   - per client slot (see slot.ts: one per open tab), the outbox in clientSeq order,
 *     `nextClientSeq`, and `outboxBase`: the confirmed seq the stored outbox forms
 *     apply after. The outbox is rebased whenever remote events arrive, and the stored
 *     forms must match the stored tail, so every write says where its outbox stands;
 *   - a summary for the document list (title = first line, last edit time).
 *
 * Every write is one transaction: tail appends, outbox changes, the slot record, the
 * summary and (sometimes) a checkpoint commit together or not at all, so the stored
 * state is always one the client actually had.
 *
 * Checkpoints. A checkpoint at seq c lets the tail up to c go. Another tab's outbox may
 * still be stored at an older base b < c, and restoring it needs the state at b, so a
 * checkpoint is not written while such an outbox exists (the write says so and the
 * caller tries again later). Tail entries at or below the checkpoint are ignored on
 * load and kept as a history cache (`events`), the last HISTORY_KEEP of them.
 *
 * Failures are values (`StorageError`): quota, a blocked upgrade, IndexedDB missing or
 * broken, an upgrade from the version 1 layout that failed (store-layout.ts: nothing
 * changed), a block that cannot be read under unsent edits. Nothing here throws for
 * them; the caller keeps working from memory.
 */
import { documentTitle } from '../markdown/title.js';
import { openDB, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import {
  type Checkpoint,
  type DocEvent,
  type LocalEvent,
  type Result,
  type CodedError,
  ok,
  err,
} from '../../../shared/src/index.js';
import { type BlockProblem, describeProblem, firstStoredSeq, readEvents, sealChunks } from './event-blocks.js';
import { encodeStoredCheckpoint } from './stored-codec.js';
import { type DocSummary, type EventideDB, DB_NAME, DB_VERSION, readCheckpoint, upgradeLayout } from './store-layout.js';

export type StorageErrorCode = 'quota' | 'blocked' | 'unavailable' | 'failed';
export type StorageError = CodedError<StorageErrorCode>;

export { DB_NAME, DB_VERSION, type DocSummary } from './store-layout.js';

/** A document as stored for one client slot. */
export interface StoredDoc {
  readonly checkpoint: Checkpoint | null;
  /** Confirmed events after the checkpoint, contiguous. */
  readonly tail: readonly DocEvent[];
  /** This slot's outbox, in order, in forms that apply after `outboxBase`. */
  readonly outbox: readonly LocalEvent[];
  /** Where the outbox applies: checkpoint seq ≤ outboxBase ≤ the tail's last seq. */
  readonly outboxBase: number;
  readonly nextClientSeq: number;
  /** Something stored could not be used (a broken checkpoint, an outbox past the tail). */
  readonly problems: readonly string[];
}

/** One transaction's worth of changes to a document, for one client slot. */
export interface DocWrite {
  /** Confirmed events to append to the tail (in seq order). */
  readonly tail: readonly DocEvent[];
  /**
   * Outbox entries to store. With `replace` they are the whole outbox (its forms changed
   * by a rebase, or the store is being brought back in line); otherwise new entries.
   */
  readonly outbox: { readonly replace: boolean; readonly events: readonly LocalEvent[] };
  /** clientSeq of the oldest unconfirmed event (or nextClientSeq): entries below it go. */
  readonly outboxHead: number;
  /** The confirmed seq the outbox forms apply after. */
  readonly outboxBase: number;
  /** The size of the whole outbox after this write. */
  readonly outboxSize: number;
  readonly nextClientSeq: number;
  /** A checkpoint at `outboxBase`, written if nothing still needs the older tail. */
  readonly checkpoint?: Checkpoint;
  /**
   * Write the checkpoint even if another slot's outbox is stored at an older base (used
   * when the state was replaced by a server checkpoint and the tail before it is unknown).
   */
  readonly forceCheckpoint?: boolean;
  /** New list entry values (title, time); omitted to keep them. */
  readonly summary?: { readonly title: string; readonly updatedAt: number };
}

export interface WriteOutcome {
  /** Whether the checkpoint (if any) was stored; false when another slot needs older state. */
  readonly checkpointWritten: boolean;
}

export interface OpenOptions {
  /** The database name (tests use one per case). */
  readonly name?: string;
  /** Give up waiting for a blocked open after this long. */
  readonly timeoutMs?: number;
  /** Called when the connection breaks later (e.g. the browser closed it). */
  readonly onTerminated?: (e: StorageError) => void;
}

/** A storage failure as a value, from whatever IndexedDB threw. */
export function storageError(e: unknown): StorageError {
  const name = (e as { name?: unknown } | null)?.name;
  const message = e instanceof Error ? e.message : String(e);
  if (name === 'QuotaExceededError') return { code: 'quota', message: `storage is full: ${message}` };
  if (name === 'InvalidStateError' || name === 'UnknownError') return { code: 'unavailable', message: `storage unavailable: ${message}` };
  return { code: 'failed', message: `storage failed: ${message}` };
}

const INF = Number.POSITIVE_INFINITY;

/**
 * Confirmed events kept below the checkpoint as a history cache (undo, the history
 * panel: client/src/history/event-source.ts). Loading never reads them (it starts at the
 * checkpoint), so opening stays as fast; older ones go at the next checkpoint.
 */
export const HISTORY_KEEP = 50_000;

export class LocalStore {
  private constructor(
    private readonly db: IDBPDatabase<EventideDB>,
    /** Set when the browser or another tab took the connection away (see `open`). */
    private readonly gone: { error: StorageError | null },
  ) {}

  /** Runs `f` as one storage operation; a failure, or a connection taken away, is a value. */
  private guard<T>(f: () => Promise<T>): Promise<Result<T, StorageError>> {
    const gone = this.gone.error;
    if (gone !== null) return Promise.resolve(err(gone.code, gone.message));
    return guard(f).then((r) => (r.ok || this.gone.error === null ? r : err(this.gone.error.code, this.gone.error.message)));
  }

  /** Opens (creating or upgrading) the database; a failure is a value. */
  static async open(options: OpenOptions = {}): Promise<Result<LocalStore, StorageError>> {
    if ((globalThis as { indexedDB?: IDBFactory }).indexedDB === undefined) {
      return err('unavailable', 'IndexedDB is not available in this browser');
    }
    const name = options.name ?? DB_NAME;
    const timeoutMs = options.timeoutMs ?? 5000;
    let blocked = false;
    const gone: { error: StorageError | null } = { error: null };
    let timer: ReturnType<typeof setTimeout> | undefined;
    let opening: Promise<IDBPDatabase<EventideDB>>;
    // Why an upgrade failed: its transaction is aborted, so the version 1 copy stays whole.
    let upgradeFailure: StorageError | null = null;
    let upgrading = false; // from then on the open is working, not waiting on another tab
    try {
      opening = openDB<EventideDB>(name, DB_VERSION, {
        upgrade(db, oldVersion, _newVersion, tx) {
          upgrading = true;
          upgradeLayout(db, oldVersion, tx, (e) => {
            const se = storageError(e);
            upgradeFailure = {
              code: se.code,
              message: `the documents stored in this browser could not be moved to the new storage layout (${se.message}); nothing was changed, and they are kept as they were until a later try succeeds`,
            };
          });
        },
        blocked() {
          blocked = true;
        },
        blocking() {
          // A newer version wants to upgrade, or another tab deletes the database: let it,
          // and say why every later operation fails.
          gone.error = { code: 'blocked', message: 'another tab of this app is upgrading or deleting the storage, so this tab let go of it; reload once that tab is done' };
          void opening.then((db) => db.close());
        },
        terminated() {
          gone.error = { code: 'unavailable', message: 'the browser closed the storage connection' };
          options.onTerminated?.(gone.error);
        },
      });
    } catch (e) {
      // Some browsers throw synchronously (e.g. private modes that forbid storage).
      const se = storageError(e);
      return err(se.code, se.message);
    }
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      let r = await Promise.race([opening, timeout]);
      if (r === 'timeout' && upgrading) r = await opening; // a large old layout takes its time
      if (r === 'timeout') {
        // Close it if it ever opens, so it does not block anyone.
        void opening.then((db) => db.close()).catch(() => undefined);
        // Either way the open is waiting on another connection: an upgrade of ours waits for an
        // older tab (blocked), or ours waits behind another tab's upgrade or deletion that is
        // itself held up. Both clear only when that other tab lets go.
        return blocked
          ? err('blocked', 'storage is blocked by another tab with an older version of the app; close it and reload')
          : err('blocked', `storage did not open within ${timeoutMs} ms: another tab is holding it (an upgrade or deletion is waiting); close other tabs of this app and reload`);
      }
      return ok(new LocalStore(r, gone));
    } catch (e) {
      const se = upgradeFailure ?? storageError(e);
      return err(se.code, se.message);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.db.close();
  }

  /** A value kept per browser (created with `make` the first time). */
  async setting(key: string, make: () => string): Promise<Result<string, StorageError>> {
    return this.guard(async () => {
      const tx = this.db.transaction('settings', 'readwrite');
      const have = await tx.store.get(key);
      const value = have ?? make();
      if (have === undefined) await tx.store.put(value, key);
      await tx.done;
      return value;
    });
  }

  /** Every stored document, most recently changed first. */
  async listDocuments(): Promise<Result<DocSummary[], StorageError>> {
    return this.guard(async () => {
      const all = await this.db.getAll('docs');
      return all.sort((a, b) => b.updatedAt - a.updatedAt || (a.docId < b.docId ? -1 : 1));
    });
  }

  async summary(docId: string): Promise<Result<DocSummary | null, StorageError>> {
    return this.guard(async () => (await this.db.get('docs', docId)) ?? null);
  }

  /** The document as stored, with `client`'s outbox. */
  async load(docId: string, client: string): Promise<Result<StoredDoc, StorageError>> {
    return this.guard(async () => {
      const tx = this.db.transaction(['checkpoints', 'tail', 'blocks', 'outbox', 'slots'], 'readonly');
      const [cpRec, slot] = await Promise.all([tx.objectStore('checkpoints').get(docId), tx.objectStore('slots').get([docId, client])]);
      const problems: string[] = [];
      let checkpoint: Checkpoint | null = null;
      if (cpRec !== undefined) {
        const d = readCheckpoint(cpRec);
        if (d.ok && d.value.seq === cpRec.seq) checkpoint = d.value;
        else problems.push(`the stored checkpoint at ${cpRec.seq} is unusable${d.ok ? '' : `: ${d.error.message}`}`);
      }
      const from = checkpoint?.seq ?? 0;
      const tail: DocEvent[] = [];
      const unreadable: BlockProblem[] = [];
      if (cpRec === undefined || checkpoint !== null) {
        const stored = await readEvents(tx.objectStore('tail'), tx.objectStore('blocks'), docId, from, INF);
        for (const ev of stored.events) {
          if (ev.seq !== from + tail.length + 1) break; // a gap: what follows is unusable
          tail.push(ev);
        }
        for (const p of stored.problems) if (p.last > from + tail.length) unreadable.push(p);
      }
      const head = from + tail.length;
      let outbox = await tx.objectStore('outbox').getAll(IDBKeyRange.bound([docId, client, 0], [docId, client, INF]));
      let outboxBase = slot?.outboxBase ?? head;
      if (unreadable.length > 0 && outbox.length > 0 && outboxBase > head) {
        // The unsent edits apply after events this device can no longer read. Restoring
        // without them would drop them at the next write; as a failure, the page works from
        // memory and never writes over the stored copy, so they stay where they are.
        await tx.done;
        throw new UnreadableCopy(
          `${describeProblem(unreadable[0])}; the ${outbox.length} unsent edits stored after them cannot be placed, so they are kept in this browser's storage untouched and this page works from memory`,
        );
      }
      for (const p of unreadable) problems.push(describeProblem(p));
      if (outbox.length > 0 && outboxBase === 0 && from > 0) {
        // Made on an empty document (e.g. offline in a new document) before a checkpoint
        // arrived: the empty document is always at hand; catch-up fetches the events.
        await tx.done;
        return { checkpoint: null, tail: [], outbox, outboxBase: 0, nextClientSeq: Math.max(slot?.nextClientSeq ?? 1, outbox[outbox.length - 1].id.clientSeq + 1), problems };
      }
      if (outbox.length > 0 && (outboxBase < from || outboxBase > head)) {
        problems.push(`${outbox.length} unsent edits were stored against version ${outboxBase}, which is no longer stored here; they cannot be restored`);
        outbox = [];
      }
      if (outbox.length === 0) outboxBase = head;
      await tx.done;
      const maxOwn = outbox.length > 0 ? outbox[outbox.length - 1].id.clientSeq : 0;
      return {
        checkpoint,
        tail,
        outbox,
        outboxBase,
        nextClientSeq: Math.max(slot?.nextClientSeq ?? 1, maxOwn + 1),
        problems,
      };
    });
  }

  /** Applies one write in one transaction. */
  async write(docId: string, client: string, w: DocWrite): Promise<Result<WriteOutcome, StorageError>> {
    return this.guard(async () => {
      const tx = this.db.transaction(['docs', 'checkpoints', 'tail', 'blocks', 'outbox', 'slots'], 'readwrite');
      const docs = tx.objectStore('docs');
      const tail = tx.objectStore('tail');
      const blocks = tx.objectStore('blocks');
      const outbox = tx.objectStore('outbox');
      const slots = tx.objectStore('slots');
      const pending: Promise<unknown>[] = [];
      const old = await docs.get(docId);
      let checkpointSeq = old?.checkpointSeq ?? 0;
      let head = old?.head ?? 0;

      for (const ev of w.tail) {
        if (ev.seq <= checkpointSeq) continue;
        pending.push(tail.put(ev, [docId, ev.seq]));
        head = Math.max(head, ev.seq);
      }
      head = Math.max(head, w.outboxBase);

      if (w.outbox.replace) {
        pending.push(outbox.delete(IDBKeyRange.bound([docId, client, 0], [docId, client, INF])));
      } else if (w.outboxHead > 1) {
        pending.push(outbox.delete(IDBKeyRange.bound([docId, client, 0], [docId, client, w.outboxHead - 1])));
      }
      for (const e of w.outbox.events) {
        if (e.id.clientSeq < w.outboxHead) continue;
        pending.push(outbox.put(e, [docId, client, e.id.clientSeq]));
      }
      pending.push(
        slots.put(
          { docId, client, nextClientSeq: w.nextClientSeq, outboxBase: w.outboxBase, outboxSize: w.outboxSize },
          [docId, client],
        ),
      );

      let checkpointWritten = false;
      const cp = w.checkpoint;
      if (cp !== undefined && cp.seq > checkpointSeq) {
        const others = await slots.getAll(IDBKeyRange.bound([docId, ''], [docId, '\uffff']));
        const needsOlder =
          w.forceCheckpoint !== true &&
          others.some((s) => s.client !== client && s.outboxSize > 0 && s.outboxBase > 0 && s.outboxBase < cp.seq);
        if (!needsOlder) {
          pending.push(tx.objectStore('checkpoints').put({ docId, seq: cp.seq, data: encodeStoredCheckpoint(cp) }));
          // The tail before the checkpoint stays as a history cache, up to HISTORY_KEEP events.
          if (cp.seq - HISTORY_KEEP > 0) {
            pending.push(tail.delete(IDBKeyRange.bound([docId, 0], [docId, cp.seq - HISTORY_KEEP])));
            pending.push(blocks.delete(IDBKeyRange.bound([docId, 0], [docId, cp.seq - HISTORY_KEEP])));
          }
          checkpointSeq = cp.seq;
          head = Math.max(head, cp.seq);
          checkpointWritten = true;
        }
      }

      pending.push(
        docs.put({
          docId,
          title: w.summary?.title ?? old?.title ?? '',
          updatedAt: w.summary?.updatedAt ?? old?.updatedAt ?? 0,
          head,
          checkpointSeq,
        }),
      );
      await Promise.all(pending);
      // Whole chunks of rows become blocks (event-blocks.ts): about once every SEAL_EVENTS events.
      await sealChunks(tail, blocks, docId, head);
      await tx.done;
      return { checkpointWritten };
    });
  }

  /**
   * Stored confirmed events with `from < seq ≤ to`, in seq order, at most `limit` (the
   * tail and the history cache below the checkpoint; there may be gaps).
   */
  async events(docId: string, from: number, to: number, limit = 1000): Promise<Result<DocEvent[], StorageError>> {
    if (to <= from) return ok([]);
    return this.guard(async () => {
      const tx = this.db.transaction(['tail', 'blocks'], 'readonly');
      const r = await readEvents(tx.objectStore('tail'), tx.objectStore('blocks'), docId, from, to, limit);
      await tx.done;
      // A block that cannot be read is a gap here: the event source then asks the server.
      return r.events;
    });
  }

  /** The lowest stored confirmed seq of a document (0: none). */
  async firstEventSeq(docId: string): Promise<Result<number, StorageError>> {
    return this.guard(async () => {
      const tx = this.db.transaction(['tail', 'blocks'], 'readonly');
      const first = await firstStoredSeq(tx.objectStore('tail'), tx.objectStore('blocks'), docId);
      await tx.done;
      return first;
    });
  }

  /**
   * Starts a document over (after `base-ahead`: the server's log is not the one this copy
   * came from), in one transaction: keeps `text` as a backup, forgets the stored copy
   * (every slot), and gives the document a new client-id base, so its next events never
   * reuse an id the server may hold (it would answer them as duplicates) nor continue a
   * clientSeq run the server lost (it would refuse them as out of order).
   */
  async startOver(docId: string, text: string, time: number, newClientBase: string): Promise<Result<null, StorageError>> {
    return this.guard(async () => {
      const tx = this.db.transaction(['docs', 'checkpoints', 'tail', 'blocks', 'outbox', 'slots', 'settings'], 'readwrite');
      await Promise.all([
        tx.objectStore('settings').put(JSON.stringify({ docId, time, text }), backupKey(docId, time)),
        tx.objectStore('settings').put(newClientBase, clientBaseKey(docId)),
        ...forget(tx, docId),
      ]);
      await tx.done;
      return null;
    });
  }

  /** The client-id base a started-over document uses instead of the browser's id (null: none). */
  async clientBase(docId: string): Promise<Result<string | null, StorageError>> {
    return this.guard(async () => (await this.db.get('settings', clientBaseKey(docId))) ?? null);
  }

  /** The texts kept by `startOver`, oldest first. */
  async backups(docId: string): Promise<Result<{ time: number; text: string }[], StorageError>> {
    return this.guard(async () => {
      const prefix = backupPrefix(docId);
      const all = await this.db.getAll('settings', IDBKeyRange.bound(prefix, `${prefix}\uffff`));
      return all
        .map((v) => {
          const { time, text } = JSON.parse(v) as { time: number; text: string };
          return { time, text };
        })
        .sort((a, b) => a.time - b.time);
    });
  }

  /** Forgets a document entirely (every slot). */
  async deleteDocument(docId: string): Promise<Result<null, StorageError>> {
    return this.guard(async () => {
      const tx = this.db.transaction(['docs', 'checkpoints', 'tail', 'blocks', 'outbox', 'slots'], 'readwrite');
      await Promise.all(forget(tx, docId));
      await tx.done;
      return null;
    });
  }

  /** The outbox sizes of every slot of a document (for diagnostics and tests). */
  async slotsOf(docId: string): Promise<Result<{ client: string; outboxSize: number; outboxBase: number; nextClientSeq: number }[], StorageError>> {
    return this.guard(async () => {
      const all = await this.db.getAll('slots', IDBKeyRange.bound([docId, ''], [docId, '\uffff']));
      return all.map((s) => ({ client: s.client, outboxSize: s.outboxSize, outboxBase: s.outboxBase, nextClientSeq: s.nextClientSeq }));
    });
  }
}

/** Where `startOver` keeps a text: `backup:<docId>:<time, 15 digits>` (sorts by time). */
function backupKey(docId: string, time: number): string {
  return `${backupPrefix(docId)}${String(Math.max(0, Math.floor(time))).padStart(15, '0')}`;
}

function clientBaseKey(docId: string): string {
  return `client-base:${docId}`;
}

function backupPrefix(docId: string): string {
  return `backup:${docId}:`;
}

/** The title the document list shows (markdown/title.ts: the first heading, else the first line). */
export function titleOf(firstChars: string): string {
  return documentTitle(firstChars);
}

/** A stored copy that cannot be used without losing something: `failed`, with its reason. */
class UnreadableCopy extends Error {}

async function guard<T>(f: () => Promise<T>): Promise<Result<T, StorageError>> {
  try {
    return ok(await f());
  } catch (e) {
    if (e instanceof UnreadableCopy) return err('failed', `the stored copy cannot be used: ${e.message}`);
    const se = storageError(e);
    return err(se.code, se.message);
  }
}

/** The deletes that forget a document's stored copy, every slot included, in `tx`. */
function forget(
  tx: IDBPTransaction<EventideDB, StoreNames<EventideDB>[], 'readwrite'>,
  docId: string,
): Promise<void>[] {
  return [
    tx.objectStore('docs').delete(docId),
    tx.objectStore('checkpoints').delete(docId),
    tx.objectStore('tail').delete(IDBKeyRange.bound([docId, 0], [docId, INF])),
    tx.objectStore('blocks').delete(IDBKeyRange.bound([docId, 0], [docId, INF])),
    tx.objectStore('outbox').delete(IDBKeyRange.bound([docId, '', 0], [docId, '\uffff', INF])),
    tx.objectStore('slots').delete(IDBKeyRange.bound([docId, ''], [docId, '\uffff'])),
  ];
}
