/**
 * The LogStore on disk: one SQLite file (better-sqlite3, synchronous), see docs/storage.md.
 *
 * Durability. WAL journal with `synchronous = FULL`: every committed append has had its
 * WAL frames fsynced before `append` returns, so an acknowledged event survives a process
 * crash and an OS crash or power loss (as far as the disk honours fsync). NORMAL would
 * only survive a process crash; docs/storage.md has the measured cost of FULL.
 *
 * Failures. Writes never throw for I/O: a full disk (SQLITE_FULL), an I/O error, a
 * read-only or locked file come back as `store-failed`, and the transaction is rolled
 * back, so nothing of that call is stored. The calls that return plain values (head,
 * range, …) cannot return a failure: they throw, and a row that fails validation
 * throws a `CorruptEventError` naming the document and the seq. Caller bugs (seqs that
 * do not continue the head, an id appended twice, a checkpoint beyond the head) throw
 * like in the memory store.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LogStore, DocumentInfo } from './log-store.js';
import {
  type Checkpoint,
  type DocEvent,
  type EventId,
  type EventKind,
  type EventMeta,
  type Result,
  ok,
  err,
  eventKinds,
  decodeOp,
  encodeCheckpoint,
  decodeCheckpoint,
} from '../../../shared/src/index.js';
import { checkContinues, checkCheckpoint, duplicateId, headMismatch } from './memory-log-store.js';

/** The schema this code reads and writes (PRAGMA user_version). */
export const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  doc_id     TEXT    NOT NULL,
  seq        INTEGER NOT NULL,
  client     TEXT    NOT NULL,
  client_seq INTEGER NOT NULL,
  base       INTEGER NOT NULL,
  author     TEXT    NOT NULL,
  time       INTEGER NOT NULL,
  kind       TEXT    NOT NULL,
  op         TEXT    NOT NULL,
  meta       TEXT,
  PRIMARY KEY (doc_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS events_by_id ON events (doc_id, client, client_seq);
CREATE TABLE IF NOT EXISTS checkpoints (
  doc_id TEXT    NOT NULL,
  seq    INTEGER NOT NULL,
  data   TEXT    NOT NULL,
  PRIMARY KEY (doc_id, seq)
);
CREATE TABLE IF NOT EXISTS documents (
  doc_id     TEXT    NOT NULL PRIMARY KEY,
  head       INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS documents_by_update ON documents (updated_at DESC, doc_id);
`;

export interface SqliteLogStoreOptions {
  /** FULL (default): durable across power loss. NORMAL: only across a process crash (benchmarks). */
  synchronous?: 'FULL' | 'NORMAL';
  /** Caps the file at this many pages (PRAGMA max_page_count): a quota, and a full disk in tests. */
  maxPageCount?: number;
  /** How long a write waits for another connection's lock before failing, ms (default 5000). */
  busyTimeoutMs?: number;
}

/** A stored event that fails validation on the way out: the log is damaged at `seq`. */
export class CorruptEventError extends Error {
  constructor(
    readonly docId: string,
    readonly seq: number,
    detail: string,
  ) {
    super(`SqliteLogStore: document ${JSON.stringify(docId)}, seq ${seq}: corrupt event: ${detail}`);
    this.name = 'CorruptEventError';
  }
}

type Entry = { docId: string; expectedHead: number; events: readonly DocEvent[] };

/** A row of the range query, raw: seq, client, client_seq, base, author, time, kind, op, meta. */
type EventRow = [number, string, number, number, string, number, string, string, string | null];

class HeadMismatch {
  constructor(readonly result: ReturnType<typeof headMismatch>) {}
}

const kinds = new Set<string>(eventKinds);

export class SqliteLogStore implements LogStore {
  private readonly db: Database.Database;
  private readonly st: ReturnType<typeof prepare>;
  private readonly writeEvents: Database.Transaction<(entries: readonly Entry[]) => void>;
  private readonly writeCheckpoint: Database.Transaction<(cp: Checkpoint) => void>;

  /**
   * Opens (creating if needed, with its folder) the store at `file`. Throws if the file
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
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`SqliteLogStore: ${db.name} has schema version ${version}; this server reads up to ${SCHEMA_VERSION}`);
    }
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal' && db.name !== ':memory:') throw new Error(`SqliteLogStore: ${db.name}: cannot use WAL (journal_mode is ${String(mode)})`);
    db.pragma(`synchronous = ${options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
    db.pragma('cache_size = -32000'); // 32 MB of page cache for range reads
    db.pragma('journal_size_limit = 67108864'); // truncate the WAL back to 64 MB after checkpoints
    if (options.maxPageCount !== undefined) db.pragma(`max_page_count = ${Math.floor(options.maxPageCount)}`);
    if (version < SCHEMA_VERSION) {
      db.transaction(() => {
        db.exec(SCHEMA);
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      }).immediate();
    }
    this.st = prepare(db);
    this.writeEvents = db.transaction((entries: readonly Entry[]) => this.writeTx(entries));
    this.writeCheckpoint = db.transaction((cp: Checkpoint) => {
      checkCheckpoint(cp, this.headIn(cp.docId));
      this.st.putCheckpoint.run(cp.docId, cp.seq, encodeCheckpoint(cp));
    });
  }

  append(docId: string, expectedHead: number, events: readonly DocEvent[]): Result<null> {
    return this.appendMany([{ docId, expectedHead, events }]);
  }

  appendMany(entries: readonly Entry[]): Result<null> {
    try {
      // IMMEDIATE: take the write lock before reading the heads, so the check and the
      // insert see the same log even with another connection (e.g. an import) writing.
      this.writeEvents.immediate(entries);
      return ok(null);
    } catch (e) {
      if (e instanceof HeadMismatch) return e.result;
      return storeFailed('append', e);
    }
  }

  head(docId: string): number {
    return this.headIn(docId);
  }

  range(docId: string, from: number, to: number): DocEvent[] {
    const lo = Math.max(0, Math.floor(from));
    const hi = Math.min(Number.MAX_SAFE_INTEGER, Math.floor(to));
    if (!(hi > lo)) return [];
    // iterate() rather than all(): no intermediate array of row arrays (about twice as fast at 100k rows).
    const out: DocEvent[] = [];
    let expected = lo + 1;
    for (const row of this.st.range.iterate(docId, lo, hi) as IterableIterator<EventRow>) {
      if (row[0] !== expected) throw new CorruptEventError(docId, expected, `missing (the next stored seq is ${row[0]})`);
      out.push(rowToEvent(docId, row));
      expected++;
    }
    return out;
  }

  seqOf(docId: string, id: EventId): number | undefined {
    return this.st.seqOf.get(docId, id.client, id.clientSeq) as number | undefined;
  }

  lastClientSeq(docId: string, client: string): number {
    return (this.st.lastClientSeq.get(docId, client) as number | null) ?? 0;
  }

  putCheckpoint(cp: Checkpoint): Result<null> {
    try {
      this.writeCheckpoint.immediate(cp);
      return ok(null);
    } catch (e) {
      return storeFailed('putCheckpoint', e);
    }
  }

  checkpointAtOrBefore(docId: string, at: number): Checkpoint | null {
    // Newest first; one that does not decode (or does not match its row) is skipped:
    // checkpoints are a cache, an older one or the empty document gives the same state (L5).
    for (const row of this.st.checkpointsDown.iterate(docId, at) as IterableIterator<[number, string]>) {
      const cp = decodeCheckpoint(row[1]);
      if (cp.ok && cp.value.docId === docId && cp.value.seq === row[0]) return cp.value;
    }
    return null;
  }

  checkpointSeqs(docId: string, from: number, to: number): number[] {
    return this.st.checkpointSeqs.all(docId, from, to) as number[];
  }

  listDocuments(): DocumentInfo[] {
    return (this.st.documents.all() as [string, number, number][]).map(([docId, head, updatedAt]) => ({ docId, head, updatedAt }));
  }

  close(): void {
    if (this.db.open) this.db.close();
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

  private headIn(docId: string): number {
    return (this.st.head.get(docId) as number | undefined) ?? 0;
  }

  /** Runs inside the write transaction: any throw rolls everything back. */
  private writeTx(entries: readonly Entry[]): void {
    const heads = new Map<string, { head: number; time: number }>();
    for (const { docId, expectedHead, events } of entries) {
      const head = heads.get(docId)?.head ?? this.headIn(docId);
      if (head !== expectedHead) throw new HeadMismatch(headMismatch(docId, expectedHead, head));
      checkContinues(docId, expectedHead, events);
      if (events.length === 0) continue;
      const insert = this.st.insertEvent;
      for (const e of events) {
        try {
          insert.run(
            docId,
            e.seq,
            e.id.client,
            e.id.clientSeq,
            e.base,
            e.author,
            e.time,
            e.kind,
            JSON.stringify(e.op),
            e.meta === undefined || e.meta === null ? null : JSON.stringify(e.meta),
          );
        } catch (x) {
          if (isSqliteError(x) && x.code.startsWith('SQLITE_CONSTRAINT')) throw duplicateId(docId, e);
          throw x;
        }
      }
      heads.set(docId, { head: expectedHead + events.length, time: events[events.length - 1].time });
    }
    for (const [docId, { head, time }] of heads) this.st.upsertDocument.run(docId, head, time);
  }
}

function prepare(db: Database.Database) {
  return {
    head: db.prepare('SELECT head FROM documents WHERE doc_id = ?').pluck(),
    range: db
      .prepare(
        'SELECT seq, client, client_seq, base, author, time, kind, op, meta FROM events WHERE doc_id = ? AND seq > ? AND seq <= ? ORDER BY seq',
      )
      .raw(),
    seqOf: db.prepare('SELECT seq FROM events WHERE doc_id = ? AND client = ? AND client_seq = ?').pluck(),
    lastClientSeq: db.prepare('SELECT max(client_seq) FROM events WHERE doc_id = ? AND client = ?').pluck(),
    insertEvent: db.prepare(
      'INSERT INTO events (doc_id, seq, client, client_seq, base, author, time, kind, op, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    upsertDocument: db.prepare(
      'INSERT INTO documents (doc_id, head, updated_at) VALUES (?, ?, ?) ON CONFLICT (doc_id) DO UPDATE SET head = excluded.head, updated_at = excluded.updated_at',
    ),
    putCheckpoint: db.prepare('INSERT OR REPLACE INTO checkpoints (doc_id, seq, data) VALUES (?, ?, ?)'),
    checkpointsDown: db.prepare('SELECT seq, data FROM checkpoints WHERE doc_id = ? AND seq <= ? ORDER BY seq DESC').raw(),
    checkpointSeqs: db.prepare('SELECT seq FROM checkpoints WHERE doc_id = ? AND seq >= ? AND seq <= ? ORDER BY seq').pluck(),
    documents: db.prepare('SELECT doc_id, head, updated_at FROM documents WHERE head > 0 ORDER BY updated_at DESC, doc_id').raw(),
  };
}

/** Validates one stored row on the way out: cheap checks plus the op codec (see docs/storage.md). */
function rowToEvent(docId: string, row: EventRow): DocEvent {
  const [seq, client, clientSeq, base, author, time, kind, opText, metaText] = row;
  const bad = (detail: string) => new CorruptEventError(docId, seq, detail);
  if (typeof client !== 'string' || typeof author !== 'string') throw bad('client and author must be text');
  if (!Number.isInteger(clientSeq) || !Number.isInteger(base) || typeof time !== 'number') throw bad('client_seq, base and time must be numbers');
  if (!kinds.has(kind)) throw bad(`unknown kind ${JSON.stringify(kind)}`);
  let json: unknown;
  try {
    json = JSON.parse(opText);
  } catch (e) {
    throw bad(`op is not JSON (${(e as Error).message})`);
  }
  const op = decodeOp(json);
  if (!op.ok) throw bad(`op: ${op.error.message}`);
  const ev = { id: { client, clientSeq }, seq, base, author, time, op: op.value, kind: kind as EventKind } as {
    -readonly [K in keyof DocEvent]: DocEvent[K];
  };
  if (metaText !== null) {
    let meta: unknown;
    try {
      meta = JSON.parse(metaText);
    } catch (e) {
      throw bad(`meta is not JSON (${(e as Error).message})`);
    }
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) throw bad('meta must be an object');
    ev.meta = meta as EventMeta;
  }
  return ev;
}

interface SqliteErrorLike extends Error {
  code: string;
}

function isSqliteError(e: unknown): e is SqliteErrorLike {
  return e instanceof Database.SqliteError;
}

/** I/O and database errors become `store-failed`; anything else is a bug and is rethrown. */
function storeFailed(what: string, e: unknown) {
  if (isSqliteError(e)) return err('store-failed', `${what} failed, nothing stored: ${e.code}: ${e.message}`);
  throw e;
}
