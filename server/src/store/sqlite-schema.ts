/**
 * The SQLite layout of the log store, version 2, and the one step that brings a file to
 * it. docs/storage.md has the why; in short:
 *
 *   events     the newest events of each document, one row each, exactly as in version 1:
 *              an append inserts a few small rows and fsyncs, so an ack waits for nothing
 *              bigger (L2). Only seqs after the document's last block live here.
 *   blocks     sealed runs of events, `encodeBlock` bytes, keyed by (doc_id, last_seq);
 *              contiguous from seq 1 up to the sealed head, rewritten only by
 *              compaction (R25: a run merged into one block of the same events).
 *   block_ids  per block and client: the lowest and highest clientSeq the client has in
 *              the block. What L3 needs over sealed events: `lastClientSeq` is one index
 *              seek, and `seqOf` decodes only the block(s) whose run holds the clientSeq.
 *   checkpoints  as before, but `data` is the binary checkpoint encoding (a BLOB).
 *   documents  head and time of the last event, as before.
 *
 * Upgrading a version 1 file is two parts. This file does the first, in one transaction:
 * create the new tables and set `user_version = 2` (from then on the version 1 code
 * refuses the file instead of reading a log with blocks it cannot see). The second part,
 * moving rows into blocks and re-encoding checkpoints, is work the version 2 store does
 * anyway (sealing) and is done in bounded transactions by sqlite-layout.ts on every open,
 * so a crash in the middle leaves a valid version 2 file that the next open finishes.
 */
import type Database from 'better-sqlite3';

/** The schema this code reads and writes (PRAGMA user_version). */
export const SCHEMA_VERSION = 2;

/**
 * The tables version 1 had. A version 1 file declares checkpoints' `data` as TEXT; SQLite
 * stores a BLOB in a TEXT column as it is, so the migration re-encodes in place.
 */
const TABLES_V1 = `
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
  data   BLOB    NOT NULL,
  PRIMARY KEY (doc_id, seq)
);
CREATE TABLE IF NOT EXISTS documents (
  doc_id     TEXT    NOT NULL PRIMARY KEY,
  head       INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS documents_by_update ON documents (updated_at DESC, doc_id);
`;

/** What version 2 adds. Blocks are a rowid table: their rows are kilobytes. */
const TABLES_V2 = `
CREATE TABLE IF NOT EXISTS blocks (
  doc_id    TEXT    NOT NULL,
  last_seq  INTEGER NOT NULL,
  first_seq INTEGER NOT NULL,
  data      BLOB    NOT NULL,
  PRIMARY KEY (doc_id, last_seq)
);
CREATE TABLE IF NOT EXISTS block_ids (
  doc_id   TEXT    NOT NULL,
  client   TEXT    NOT NULL,
  max_cs   INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  min_cs   INTEGER NOT NULL,
  PRIMARY KEY (doc_id, client, max_cs, last_seq)
) WITHOUT ROWID;
`;

/**
 * Brings `db` to SCHEMA_VERSION's tables (a new file, or a version 1 file: the first part
 * of its upgrade). Throws for a newer schema: that is a startup failure.
 */
export function ensureSchema(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(`SqliteLogStore: ${db.name} has schema version ${version}; this server reads up to ${SCHEMA_VERSION}`);
  }
  if (version === SCHEMA_VERSION) return;
  db.transaction(() => {
    db.exec(TABLES_V1);
    db.exec(TABLES_V2);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
