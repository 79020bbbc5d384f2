/**
 * The LogStore on disk: one SQLite file (better-sqlite3, synchronous), see docs/storage.md.
 *
 * Layout (sqlite-schema.ts). A document's newest events are rows, one per event, as in
 * version 1; older ones are sealed blocks (sqlite-blocks.ts). An append only inserts
 * rows and commits: the ack waits for that one small durable write (L2). Once a document
 * has `sealEvery` (1,000) unsealed events, the oldest of them are sealed into one block,
 * in a transaction of its own, after the append has returned (on the next turn of the
 * event loop, so the acks of the batch go out first). A crash before the seal loses
 * nothing: the rows are still there, and the next open seals what is due
 * (sqlite-layout.ts), which is also how a version 1 file is migrated. A document that goes
 * idle (no append for `idleSealMs`, a minute) has its remaining rows sealed as a shorter
 * block, so a finished document is all blocks. A bulk load (the import) skips rows:
 * `appendSealed` writes blocks and their id index directly.
 *
 * Durability. WAL journal with `synchronous = FULL`: every committed append has had its
 * WAL frames fsynced before `append` returns, so an acknowledged event survives a process
 * crash and an OS crash or power loss (as far as the disk honours fsync). NORMAL would
 * only survive a process crash; bench/results/figures-from-docs.md has the measured cost of FULL.
 *
 * Failures. Writes never throw for I/O: a full disk (SQLITE_FULL), an I/O error, a
 * read-only or locked file come back as `store-failed`, and the transaction is rolled
 * back, so nothing of that call is stored. A seal that fails the same way leaves the rows
 * as they were (reported through `onSealError`) and is tried again later. The calls that
 * return plain values (head, range, …) cannot return a failure: they throw, and a row or
 * block that fails validation throws a `CorruptEventError` naming the document and the
 * seq. Caller bugs (seqs that do not continue the head, a malformed event, an id
 * appended twice, a checkpoint beyond the head) throw like in the memory store.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LogStore, DocumentInfo } from './log-store.js';
import {
  type Checkpoint,
  type DocEvent,
  type EventId,
  type Result,
  ok,
  err,
  CHECKPOINT_RETENTION,
  idKey,
  checkRetention,
} from '../../../shared/src/index.js';
import { checkEvents, duplicateId, headMismatch } from './memory-log-store.js';
import { StoredCheckpoints } from './sqlite-checkpoints.js';
import { ensureSchema, SCHEMA_VERSION } from './sqlite-schema.js';
import { EventRows, isSqliteError } from './sqlite-rows.js';
import { SealedBlocks } from './sqlite-blocks.js';
import { finishLayout } from './sqlite-layout.js';
import { SEAL_EVERY, IDLE_SEAL_MS, COMPACT_EVENTS, COMPACT_BYTES, MERGE_QUIET_MS, MERGE_MAX_WAIT_MS, PAGE_SIZE, type SqliteLogStoreOptions } from './sqlite-options.js';
import { QuietDocs } from './quiet-docs.js';

export { SCHEMA_VERSION } from './sqlite-schema.js';
export { CorruptEventError } from './sqlite-rows.js';
export type { LayoutStep } from './sqlite-layout.js';
export { SEAL_EVERY, IDLE_SEAL_MS, COMPACT_EVENTS, COMPACT_BYTES, PAGE_SIZE, type SqliteLogStoreOptions } from './sqlite-options.js';

type Entry = { docId: string; expectedHead: number; events: readonly DocEvent[] };

class HeadMismatch {
  constructor(readonly result: ReturnType<typeof headMismatch>) {}
}

export class SqliteLogStore implements LogStore {
  private readonly db: Database.Database;
  private readonly st: ReturnType<typeof prepare>;
  private readonly rows: EventRows;
  private readonly blocks: SealedBlocks;
  private readonly sealEvery: number;
  private readonly compactEvents: number;
  private readonly compactBytes: number;
  private readonly checkpoints: StoredCheckpoints;
  private readonly sealing: 'deferred' | 'inline';
  private readonly onSealError: (message: string) => void;
  private readonly writeEvents: Database.Transaction<(entries: readonly Entry[]) => Map<string, number>>;
  private readonly writeSealedTx: Database.Transaction<(docId: string, expectedHead: number, events: readonly DocEvent[]) => void>;
  private readonly sealTx: Database.Transaction<(docId: string) => { first: number; last: number } | null>;
  private readonly sealRestTx: Database.Transaction<(docId: string) => { first: number; last: number } | null>;
  private readonly compactTx: Database.Transaction<(docId: string, tail: boolean) => { first: number; last: number } | null>;
  /** A range is read in one transaction: blocks and rows from one snapshot of the file. */
  private readonly readRangeTx: Database.Transaction<(docId: string, lo: number, hi: number) => DocEvent[]>;
  /** Documents that may have a seal or a compaction due. */
  private readonly due = new Set<string>();
  private sealTimer: NodeJS.Immediate | null = null;
  /** Idle documents being settled, one step per turn of the event loop (after the due seals). */
  private readonly settling = new Set<string>();
  private readonly idleSealMs: number;
  /** Documents with unsealed rows, by the time of their last append (Date.now()). */
  private readonly lastAppend = new Map<string, number>();
  private idleTimer: NodeJS.Timeout | null = null;
  /** Busy documents' merges wait for them to be quiet (MERGE_QUIET_MS). */
  private readonly quiet: QuietDocs;

  /**
   * Opens (creating if needed, with its folder) the store at `file`, upgrading a version 1
   * file and finishing its layout first (docs/storage.md, "Migration"). Throws if the file
   * cannot be opened, is not a database, or has a newer schema: that is a startup failure.
   */
  static open(file: string, options: SqliteLogStoreOptions = {}): SqliteLogStore {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file);
    try {
      return new SqliteLogStore(db, options);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  private constructor(db: Database.Database, options: SqliteLogStoreOptions) {
    this.db = db;
    this.sealEvery = Math.max(1, Math.floor(options.sealEvery ?? SEAL_EVERY));
    this.compactEvents = Math.max(1, Math.floor(options.compactEvents ?? COMPACT_EVENTS));
    this.compactBytes = Math.max(1, Math.floor(options.compactBytes ?? COMPACT_BYTES));
    this.sealing = options.sealing ?? 'deferred';
    this.onSealError = options.onSealError ?? ((m) => console.error(m));
    const retention = checkRetention(options.checkpointRetention ?? CHECKPOINT_RETENTION);
    this.idleSealMs = this.sealing === 'deferred' ? Math.max(0, options.idleSealMs ?? IDLE_SEAL_MS) : 0;
    this.quiet = new QuietDocs(
      this.sealing === 'deferred' ? Math.max(0, options.mergeQuietMs ?? MERGE_QUIET_MS) : 0,
      (docId) => {
        this.due.add(docId);
        this.wakeSealing();
      },
      Math.max(0, options.mergeMaxWaitMs ?? MERGE_MAX_WAIT_MS),
    );
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    // Before anything writes: a newer file is refused untouched.
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`SqliteLogStore: ${db.name} has schema version ${version}; this server reads up to ${SCHEMA_VERSION}`);
    }
    // Only a file with no pages yet takes it; WAL mode is what writes the first page.
    db.pragma(`page_size = ${options.pageSize ?? PAGE_SIZE}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal' && db.name !== ':memory:') throw new Error(`SqliteLogStore: ${db.name}: cannot use WAL (journal_mode is ${String(mode)})`);
    db.pragma(`synchronous = ${options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
    db.pragma('cache_size = -32000'); // 32 MB of page cache for range reads
    db.pragma('journal_size_limit = 67108864'); // truncate the WAL back to 64 MB after checkpoints
    if (options.maxPageCount !== undefined) db.pragma(`max_page_count = ${Math.floor(options.maxPageCount)}`);
    ensureSchema(db);
    this.st = prepare(db);
    this.rows = new EventRows(db);
    this.blocks = new SealedBlocks(db, this.rows);
    this.writeEvents = db.transaction((entries: readonly Entry[]) => this.writeTx(entries));
    this.readRangeTx = db.transaction((docId: string, lo: number, hi: number) => this.readRange(docId, lo, hi));
    this.checkpoints = new StoredCheckpoints(db, retention, (docId) => this.headIn(docId));
    this.writeSealedTx = db.transaction((docId: string, expectedHead: number, events: readonly DocEvent[]) => this.writeSealed(docId, expectedHead, events));
    this.sealTx = db.transaction((docId: string) => this.blocks.sealNext(docId, this.sealEvery));
    this.sealRestTx = db.transaction((docId: string) => this.blocks.sealNext(docId, this.sealEvery, 1));
    this.compactTx = db.transaction((docId: string, tail: boolean) => this.blocks.compactNext(docId, this.compactEvents, this.compactBytes, tail));
    finishLayout(db, this.blocks, { sealEvery: this.sealEvery, compactEvents: this.compactEvents, compactBytes: this.compactBytes }, options.progress, this.onSealError);
  }

  async append(docId: string, expectedHead: number, events: readonly DocEvent[]): Promise<Result<null>> {
    return this.appendMany([{ docId, expectedHead, events }]);
  }

  async appendMany(entries: readonly Entry[]): Promise<Result<null>> {
    let heads: Map<string, number>;
    try {
      // IMMEDIATE: take the write lock before reading the heads, so the check and the
      // insert see the same log even with another connection (e.g. an import) writing.
      heads = this.writeEvents.immediate(entries);
    } catch (e) {
      if (e instanceof HeadMismatch) return e.result;
      return storeFailed('append', e);
    }
    // Committed: from here on nothing can take the append back. Sealing is separate work.
    const at = performance.now();
    for (const [docId, head] of heads) {
      this.settling.delete(docId); // busy again: its next idle time settles it
      const due = head - this.blocks.sealedHead(docId) >= this.sealEvery;
      this.quiet.appended(docId, at, due);
      if (due) this.due.add(docId);
      if (this.idleSealMs > 0) {
        this.lastAppend.delete(docId); // re-inserted last: the map stays in order of last append
        this.lastAppend.set(docId, Date.now());
      }
    }
    if (this.idleSealMs > 0 && this.idleTimer === null && this.lastAppend.size > 0) this.armIdle(this.idleSealMs);
    if (this.due.size > 0) {
      if (this.sealing === 'inline') this.sealDue();
      else this.wakeSealing();
    }
    return ok(null);
  }

  /**
   * `append` for bulk loads (the import): the events go straight into blocks of `sealEvery`
   * (the last one shorter if they do not fill it), with their id index, in one transaction,
   * never as rows. Same checks and results as `append`. The document must have no unsealed
   * rows (true of a document only ever written this way; a head that moved is head-mismatch).
   */
  async appendSealed(docId: string, expectedHead: number, events: readonly DocEvent[]): Promise<Result<null>> {
    try {
      this.writeSealedTx.immediate(docId, expectedHead, events);
      return ok(null);
    } catch (e) {
      if (e instanceof HeadMismatch) return e.result;
      return storeFailed('appendSealed', e);
    }
  }

  /**
   * Seals every full block that is due now, and compacts every complete run of small blocks
   * (R25), each in its own transaction, and returns how many blocks it wrote. A failure
   * (full disk, lock) stops that document's work and is reported to `onSealError`: the rows
   * and blocks stay as they were, and its next append, or the next open, tries again.
   */
  sealDue(): number {
    let written = 0;
    for (const docId of this.due) {
      this.due.delete(docId);
      while (this.sealStep(docId)) written++;
    }
    return written;
  }

  /**
   * Deferred sealing: one block per turn of the event loop, documents in turn, so that a
   * backlog (many documents due at once) never holds up acks for more than one seal or
   * merge. Idle documents are settled the same way, one step a turn, when nothing is due.
   */
  private sealOneTurn(): void {
    this.sealTimer = null;
    if (this.due.size > 0) {
      for (const docId of this.due) {
        this.due.delete(docId);
        if (this.sealStep(docId, () => !this.quiet.busy(docId, performance.now()))) this.due.add(docId); // maybe more: looked at on a later turn
        break;
      }
    } else {
      for (const docId of this.settling) {
        this.settling.delete(docId);
        if (this.settleStep(docId)) this.settling.add(docId);
        break;
      }
    }
    this.wakeSealing();
  }

  private wakeSealing(): void {
    if (this.due.size + this.settling.size > 0) this.sealTimer ??= setImmediate(() => this.sealOneTurn());
  }

  /** One step of settling an idle document (see `settle`); false once there is nothing left, or it failed (reported). */
  private settleStep(docId: string): boolean {
    try {
      if (this.headIn(docId) > this.blocks.sealedHead(docId)) return this.sealRestTx.immediate(docId) !== null;
      if (this.compactTx.immediate(docId, true) !== null) return true;
      return this.checkpoints.settleOne(docId);
    } catch (e) {
      if (!isSqliteError(e)) throw e;
      this.onSealError(`SqliteLogStore: settling ${JSON.stringify(docId)} stopped, its rows, blocks and checkpoints stay as they are: ${e.code}: ${e.message}`);
      return false;
    }
  }

  /**
   * Seals `docId`'s next full block if one is due, else (with `merge`) merges its oldest
   * complete run of small blocks if there is one (`merge` asked only then); false if neither was done, or it failed
   * (reported).
   */
  private sealStep(docId: string, merge: () => boolean = () => true): boolean {
    let sealing = true;
    try {
      sealing = this.headIn(docId) - this.blocks.sealedHead(docId) >= this.sealEvery;
      if (sealing) return this.sealTx.immediate(docId) !== null;
      // Asked only when a merge is what this step would do: a busy document's one merge past
      // its longest wait (QuietDocs) is not spent on a seal.
      return merge() && this.compactTx.immediate(docId, false) !== null;
    } catch (e) {
      if (!isSqliteError(e)) throw e;
      const what = sealing ? 'sealing' : 'compacting';
      const left = sealing ? 'its events stay rows' : 'its blocks stay as they were';
      this.onSealError(`SqliteLogStore: ${what} ${JSON.stringify(docId)} failed, ${left}: ${e.code}: ${e.message}`);
      return false;
    }
  }

  /**
   * Seals all of `docId`'s unsealed rows, the last block shorter than `sealEvery` if need
   * be (a document that went idle); returns the blocks written. A
   * failure is reported like any seal's and leaves the rows.
   */
  sealAll(docId: string): number {
    let written = 0;
    try {
      while (this.headIn(docId) > this.blocks.sealedHead(docId)) {
        if (this.sealRestTx.immediate(docId) === null) break;
        written++;
      }
    } catch (e) {
      if (!isSqliteError(e)) throw e;
      this.onSealError(`SqliteLogStore: sealing ${JSON.stringify(docId)} failed, its events stay rows: ${e.code}: ${e.message}`);
    }
    return written;
  }

  /**
   * Brings `docId` to its most compact form now, as the store does by itself, a step a turn,
   * when it goes idle: seals its remaining rows (`sealAll`), merges all its runs of small
   * blocks, the newest too (R25), and writes the checkpoints this process wrote at level 1
   * again at level 9 (sqlite-checkpoints.ts). Each step is a transaction of its own; a
   * failure is reported like a seal's and leaves the document as it was before that step.
   * Returns the blocks and checkpoints written. For tools (the import): it holds the thread
   * for all the steps (a merge of 16,384 events is tens of ms).
   */
  settle(docId: string): { blocks: number; checkpoints: number } {
    let blocks = this.sealAll(docId);
    let checkpoints = 0;
    try {
      while (this.compactTx.immediate(docId, true) !== null) blocks++;
      checkpoints = this.checkpoints.settle(docId);
    } catch (e) {
      if (!isSqliteError(e)) throw e;
      this.onSealError(`SqliteLogStore: settling ${JSON.stringify(docId)} stopped, its blocks and checkpoints stay as they are: ${e.code}: ${e.message}`);
    }
    return { blocks, checkpoints };
  }

  /** Settles the documents idle for idleSealMs, then waits for the next one to be. */
  private armIdle(ms: number): void {
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      const now = Date.now();
      for (const [docId, at] of this.lastAppend) {
        const wait = at + this.idleSealMs - now;
        if (wait > 0) return this.armIdle(wait); // in order of last append: the rest are newer
        this.lastAppend.delete(docId);
        this.settling.add(docId);
        this.wakeSealing();
      }
    }, ms);
    this.idleTimer.unref(); // an idle seal never keeps the process alive
  }

  async head(docId: string): Promise<number> {
    return this.headIn(docId);
  }

  async range(docId: string, from: number, to: number): Promise<DocEvent[]> {
    const lo = Math.max(0, Math.floor(from));
    const hi = Math.min(Number.MAX_SAFE_INTEGER, Math.floor(to));
    if (!(hi > lo)) return [];
    return this.readRangeTx(docId, lo, hi);
  }

  async seqOf(docId: string, id: EventId): Promise<number | undefined> {
    return this.rows.seqOf(docId, id.client, id.clientSeq) ?? this.blocks.seqOf(docId, id.client, id.clientSeq);
  }

  async lastClientSeq(docId: string, client: string): Promise<number> {
    return Math.max(this.rows.lastClientSeq(docId, client), this.blocks.lastClientSeq(docId, client));
  }

  async putCheckpoint(cp: Checkpoint): Promise<Result<null>> {
    try {
      this.checkpoints.put.immediate(cp);
      return ok(null);
    } catch (e) {
      return storeFailed('putCheckpoint', e);
    }
  }

  async checkpointAtOrBefore(docId: string, at: number): Promise<Checkpoint | null> {
    return this.checkpoints.atOrBefore(docId, at);
  }

  async checkpointSeqs(docId: string, from: number, to: number): Promise<number[]> {
    return this.checkpoints.seqs(docId, from, to);
  }

  async listDocuments(): Promise<DocumentInfo[]> {
    return (this.st.documents.all() as [string, number, number][]).map(([docId, head, updatedAt]) => ({ docId, head, updatedAt }));
  }

  /** Seals what is due, then releases the file. */
  async close(): Promise<void> {
    if (!this.db.open) return;
    if (this.sealTimer !== null) clearImmediate(this.sealTimer);
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.quiet.close();
    this.sealTimer = null;
    this.idleTimer = null;
    this.sealDue();
    this.db.close();
  }

  /** The file and the durability settings in force (for tests and the startup log). */
  settings(): { file: string; journalMode: string; synchronous: string } {
    const sync = this.db.pragma('synchronous', { simple: true }) as number;
    return {
      file: this.db.name,
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: ['OFF', 'NORMAL', 'FULL', 'EXTRA'][sync] ?? String(sync),
    };
  }

  /** Blocks first (seqs up to the sealed head), then rows; inside the read transaction. */
  private readRange(docId: string, lo: number, hi: number): DocEvent[] {
    const out: DocEvent[] = [];
    const reached = this.blocks.read(docId, lo, hi, out);
    if (reached < hi) this.rows.read(docId, reached, hi, out);
    return out;
  }

  private headIn(docId: string): number {
    return (this.st.head.get(docId) as number | undefined) ?? 0;
  }

  /** appendSealed's transaction: any throw rolls everything back. */
  private writeSealed(docId: string, expectedHead: number, events: readonly DocEvent[]): void {
    const head = this.headIn(docId);
    if (head !== expectedHead) throw new HeadMismatch(headMismatch(docId, expectedHead, head));
    checkEvents(docId, expectedHead, events);
    if (events.length === 0) return;
    const sealed = this.blocks.sealedHead(docId);
    if (sealed !== head) throw new Error(`SqliteLogStore: appendSealed ${JSON.stringify(docId)}: seqs ${sealed + 1}…${head} are rows; blocks cannot follow them`);
    const seen = new Set<string>();
    for (const e of events) {
      const key = idKey(e.id);
      if (seen.has(key)) throw duplicateId(docId, e);
      seen.add(key);
    }
    const dup = this.blocks.sealedDuplicate(docId, events);
    if (dup !== undefined) throw duplicateId(docId, dup);
    this.blocks.writeSealed(docId, events, this.sealEvery);
    this.st.upsertDocument.run(docId, head + events.length, events[events.length - 1].time);
  }

  /** Runs inside the write transaction: any throw rolls everything back. Returns the new heads. */
  private writeTx(entries: readonly Entry[]): Map<string, number> {
    const heads = new Map<string, { head: number; time: number }>();
    for (const { docId, expectedHead, events } of entries) {
      const head = heads.get(docId)?.head ?? this.headIn(docId);
      if (head !== expectedHead) throw new HeadMismatch(headMismatch(docId, expectedHead, head));
      checkEvents(docId, expectedHead, events);
      if (events.length === 0) continue;
      const sealed = this.blocks.sealedDuplicate(docId, events);
      if (sealed !== undefined) throw duplicateId(docId, sealed);
      for (const e of events) {
        try {
          this.rows.insert(docId, e);
        } catch (x) {
          // The id index: a caller's bug (L3). A clash on (doc_id, seq) would mean the
          // documents table and the events disagree: a damaged file, so store-failed.
          if (isSqliteError(x) && x.code === 'SQLITE_CONSTRAINT_UNIQUE') throw duplicateId(docId, e);
          throw x;
        }
      }
      heads.set(docId, { head: expectedHead + events.length, time: events[events.length - 1].time });
    }
    const out = new Map<string, number>();
    for (const [docId, { head, time }] of heads) {
      this.st.upsertDocument.run(docId, head, time);
      out.set(docId, head);
    }
    return out;
  }
}

function prepare(db: Database.Database) {
  return {
    head: db.prepare('SELECT head FROM documents WHERE doc_id = ?').pluck(),
    upsertDocument: db.prepare(
      'INSERT INTO documents (doc_id, head, updated_at) VALUES (?, ?, ?) ON CONFLICT (doc_id) DO UPDATE SET head = excluded.head, updated_at = excluded.updated_at',
    ),
    documents: db.prepare('SELECT doc_id, head, updated_at FROM documents WHERE head > 0 ORDER BY updated_at DESC, doc_id').raw(),
  };
}

/** I/O and database errors become `store-failed`; anything else is a bug and is rethrown. */
function storeFailed(what: string, e: unknown) {
  if (isSqliteError(e)) return err('store-failed', `${what} failed, nothing stored: ${e.code}: ${e.message}`);
  throw e;
}
