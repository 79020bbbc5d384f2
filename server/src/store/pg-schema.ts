/**
 * The PostgreSQL layout of the log store (pg-log-store.ts) and the access records, version
 * 1, and the one step that brings a database to it.
 *
 *   events       one row per event. PRIMARY KEY (doc_id, seq) is what decides who owns a
 *                seq when several server processes append to one document: the second
 *                insert of a seq hits the key and its whole transaction is refused
 *                (head-mismatch), never an overwrite (R18).
 *   events_by_id UNIQUE (doc_id, client, client_seq): the exactly-once index (L3), across
 *                every process sharing the database.
 *   checkpoints  the binary checkpoint encoding (encodeCheckpointBlock), as in SQLite.
 *   documents    head and time of the last event, for the listing and a cheap head read.
 *   access       the access records (access/access-store.ts): hashes of tokens only.
 *
 * `op` and `meta` are kept as the JSON text the SQLite store keeps (not jsonb, which
 * would reorder meta's keys); `time` as double precision (an event's time is any finite
 * number); seqs and clientSeqs as bigint, read back as numbers (every one is a safe
 * integer, checked on the way in).
 *
 * Why rows and not SQLite's sealed blocks (R12): the PostgreSQL store's first job is
 * several nodes agreeing on one log; blocks are an optimisation of reads that can be
 * added behind the same interface, as they were for SQLite.
 */
import type pg from 'pg';

/** The schema this code reads and writes (eventide_schema.version). */
export const PG_SCHEMA_VERSION = 1;

/**
 * Any number: the key of the advisory lock under which the schema is created, so two
 * processes starting at once on an empty database do not race in CREATE TABLE.
 */
const SCHEMA_LOCK = 0x45766e74; // "Evnt"

const TABLES = `
CREATE TABLE IF NOT EXISTS eventide_schema (
  version integer NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  doc_id     text             NOT NULL,
  seq        bigint           NOT NULL,
  client     text             NOT NULL,
  client_seq bigint           NOT NULL,
  base       bigint           NOT NULL,
  author     text             NOT NULL,
  time       double precision NOT NULL,
  kind       text             NOT NULL,
  op         text             NOT NULL,
  meta       text,
  CONSTRAINT events_pkey PRIMARY KEY (doc_id, seq),
  CONSTRAINT events_by_id UNIQUE (doc_id, client, client_seq)
);
CREATE TABLE IF NOT EXISTS checkpoints (
  doc_id text   NOT NULL,
  seq    bigint NOT NULL,
  data   bytea  NOT NULL,
  PRIMARY KEY (doc_id, seq)
);
CREATE TABLE IF NOT EXISTS documents (
  doc_id     text             NOT NULL PRIMARY KEY,
  head       bigint           NOT NULL,
  updated_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_by_update ON documents (updated_at DESC, doc_id);
CREATE TABLE IF NOT EXISTS access (
  doc_id     text   NOT NULL PRIMARY KEY,
  edit_hash  text   NOT NULL,
  view_hash  text   NOT NULL,
  created_at bigint NOT NULL
);
`;

/**
 * Brings the database to PG_SCHEMA_VERSION's tables (an empty database gets them all).
 * Rejects for a newer schema (a startup failure) or an unreachable database.
 */
export async function ensurePgSchema(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await client.query(TABLES);
    const rows = (await client.query<{ version: number }>('SELECT version FROM eventide_schema')).rows;
    if (rows.length === 0) {
      await client.query('INSERT INTO eventide_schema (version) VALUES ($1)', [PG_SCHEMA_VERSION]);
    } else if (rows[0].version > PG_SCHEMA_VERSION) {
      throw new Error(`PgLogStore: the database has schema version ${rows[0].version}; this server reads up to ${PG_SCHEMA_VERSION}`);
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}
