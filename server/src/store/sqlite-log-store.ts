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
 * do not continue the head, a malformed event, an id appended twice, a checkpoint beyond
 * the head) throw like in the memory store.
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
import { checkEvents, checkCheckpoint, duplicateId, headMismatch } from './memory-log-store.js';

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
type EventRow = [number, unknown, unknown, unknown, unknown, unknown, unknown, unknown, unknown];

class HeadMismatch {
  constructor(readonly result: ReturnType<typeof headMismatch>) {}
}

const kinds = new Set<string>(eventKinds);

/** Rows per query of a range read (bounds the JSON text of one chunk to about a megabyte). */
const READ_CHUNK = 10_000;

export class SqliteLogStore implements LogStore {
  private readonly db: Database.Database;
  private readonly st: ReturnType<typeof prepare>;
  private readonly writeEvents: Database.Transaction<(entries: readonly Entry[]) => void>;
  private readonly writeCheckpoint: Database.Transaction<(cp: Checkpoint) => void>;
  /** A range of several chunks is read in one transaction: one snapshot of the file. */
  private readonly readRangeTx: Database.Transaction<(docId: string, lo: number, hi: number) => DocEvent[]>;

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
    this.readRangeTx = db.transaction((docId: string, lo: number, hi: number) => this.readRange(docId, lo, hi));
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
    return hi - lo <= READ_CHUNK ? this.readRange(docId, lo, hi) : this.readRangeTx(docId, lo, hi);
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

  /**
   * Reads seqs lo+1…hi in one read transaction (one snapshot), by chunks of READ_CHUNK.
   * Fast path: SQLite writes a chunk as one JSON text and JSON.parse reads it, about twice
   * as fast as fetching the columns row by row through the driver (docs/storage.md). If SQLite or JSON.parse
   * rejects a chunk (a damaged row), the chunk is read again row by row, which names the
   * bad seq. Either way every event is validated (below), so nothing unchecked gets out.
   */
  private readRange(docId: string, lo: number, hi: number): DocEvent[] {
    const out: DocEvent[] = [];
    for (let a = lo; a < hi; a += READ_CHUNK) {
      const b = Math.min(hi, a + READ_CHUNK);
      const before = out.length;
      if (!this.readChunkFast(docId, a, b, out)) {
        out.length = before;
        this.readChunkRows(docId, a, b, out);
      }
      if (out.length - before < b - a) break; // the log ends here
    }
    return out;
  }

  /** Appends seqs a+1… (up to b) to `out`; false if the chunk must be read row by row. */
  private readChunkFast(docId: string, a: number, b: number, out: DocEvent[]): boolean {
    let rows: unknown;
    try {
      const text = this.st.rangeJson.get(docId, a, b) as string | null;
      if (text === null) return true; // no rows
      rows = JSON.parse(text);
    } catch (e) {
      if (e instanceof SyntaxError || isSqliteError(e)) return false;
      throw e;
    }
    if (!Array.isArray(rows)) return false;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i] as unknown[];
      if (!Array.isArray(r) || r.length !== 9 || r[0] !== a + i + 1) return false;
    }
    for (const r of rows as unknown[][]) out.push(toEvent(docId, r[0] as number, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]));
    return true;
  }

  /** The slow path: one row at a time, naming the first bad or missing seq. */
  private readChunkRows(docId: string, a: number, b: number, out: DocEvent[]): void {
    let expected = a + 1;
    for (const row of this.st.range.iterate(docId, a, b) as IterableIterator<EventRow>) {
      const [seq, client, clientSeq, base, author, time, kind, opText, metaText] = row;
      if (seq !== expected) throw new CorruptEventError(docId, expected, `missing (the next stored seq is ${seq})`);
      const op = parseColumn(docId, seq, 'op', opText);
      const meta = metaText === null ? null : parseColumn(docId, seq, 'meta', metaText);
      out.push(toEvent(docId, seq, client, clientSeq, base, author, time, kind, op, meta));
      expected++;
    }
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
      checkEvents(docId, expectedHead, events);
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
            e.meta === undefined ? null : JSON.stringify(e.meta),
          );
        } catch (x) {
          // The id index: a caller's bug (L3). A clash on (doc_id, seq) would mean the
          // documents table and the events disagree: a damaged file, so store-failed.
          if (isSqliteError(x) && x.code === 'SQLITE_CONSTRAINT_UNIQUE') throw duplicateId(docId, e);
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
    // One chunk as one JSON text: an array of [seq, client, client_seq, base, author, time,
    // kind, op, meta] per row. json() fails on a malformed op or meta and json_array on a
    // blob, so a damaged row fails the query; readChunkFast falls back to the row path then.
    // group_concat keeps the subquery's order in practice (not promised by SQL; the seqs are
    // checked anyway); `ORDER BY` inside group_concat would cost a temp b-tree.
    rangeJson: db
      .prepare(
        `SELECT '[' || group_concat(j, ',') || ']' FROM (SELECT json_array(seq, client, client_seq, base, author, time, kind, json(op), json(meta)) AS j FROM events WHERE doc_id = ? AND seq > ? AND seq <= ? ORDER BY seq)`,
      )
      .pluck(),
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

/**
 * Validates one stored event on the way out (op and meta already parsed): types, the
 * kind, and the op through the codec. Measured at about a tenth of the read's cost
 * (docs/storage.md), so it is always on: a damaged row never reaches a replay.
 */
function toEvent(
  docId: string,
  seq: number,
  client: unknown,
  clientSeq: unknown,
  base: unknown,
  author: unknown,
  time: unknown,
  kind: unknown,
  opJson: unknown,
  meta: unknown,
): DocEvent {
  const bad = (detail: string) => new CorruptEventError(docId, seq, detail);
  if (typeof client !== 'string' || typeof author !== 'string') throw bad('client and author must be text');
  if (!Number.isInteger(clientSeq) || !Number.isInteger(base) || typeof time !== 'number') {
    throw bad('client_seq, base and time must be numbers');
  }
  if (typeof kind !== 'string' || !kinds.has(kind)) throw bad(`unknown kind ${JSON.stringify(kind)}`);
  const op = decodeOp(opJson);
  if (!op.ok) throw bad(`op: ${op.error.message}`);
  const ev: { -readonly [K in keyof DocEvent]: DocEvent[K] } = {
    id: { client, clientSeq: clientSeq as number },
    seq,
    base: base as number,
    author,
    time,
    op: op.value,
    kind: kind as EventKind,
  };
  if (meta !== null) {
    if (typeof meta !== 'object' || Array.isArray(meta)) throw bad('meta must be an object');
    ev.meta = meta as EventMeta;
  }
  return ev;
}

function parseColumn(docId: string, seq: number, column: string, text: unknown): unknown {
  if (typeof text !== 'string') throw new CorruptEventError(docId, seq, `${column} must be JSON text`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CorruptEventError(docId, seq, `${column} is not JSON (${(e as Error).message})`);
  }
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
