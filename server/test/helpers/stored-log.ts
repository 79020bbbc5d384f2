/**
 * What a server stored, read straight from its SQLite file with plain SQL on a read-only
 * connection (the server may still be running): the one reader that server tests and
 * e2e tests both use to check the log against what clients saw. It does not go through
 * the server's store code on purpose, so a bug there cannot hide itself. It reads the
 * sealed blocks (decoded with the core's codec) and the unsealed rows, in one read
 * transaction so a seal cannot move events between the two reads; a version 1 file
 * (rows only, text checkpoints) is read too.
 */
import Database from 'better-sqlite3';
import {
  decodeBlock,
  decodeCheckpoint,
  decodeCheckpointBlock,
  unwrap,
  type Checkpoint,
  type DocEvent,
  type EventKind,
  type Op,
} from '../../../shared/src/index.js';

/**
 * The log of `docId` as stored, read with plain SQL from a read-only connection: the
 * sealed blocks (decoded with the core's block codec) then the unsealed rows, checked
 * to run 1, 2, 3, … without a gap or an overlap.
 */
export function readLog(dbFile: string, docId: string): DocEvent[] {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return db.transaction(() => readLogIn(db, docId))();
  } finally {
    db.close();
  }
}

/** readLog inside a read transaction: one snapshot, so a seal cannot move events between the reads. */
function readLogIn(db: Database.Database, docId: string): DocEvent[] {
  const out: DocEvent[] = [];
  const hasBlocks = db.prepare(`SELECT count(*) FROM sqlite_master WHERE name = 'blocks'`).pluck().get() === 1;
  if (hasBlocks) {
    for (const data of db.prepare('SELECT data FROM blocks WHERE doc_id = ? ORDER BY last_seq').pluck().all(docId) as Uint8Array[]) {
      out.push(...unwrap(decodeBlock(data)));
    }
  }
  const rows = db
    .prepare('SELECT seq, client, client_seq, base, author, time, kind, op, meta FROM events WHERE doc_id = ? ORDER BY seq')
    .raw()
    .all(docId) as [number, string, number, number, string, number, string, string, string | null][];
  for (const [seq, client, clientSeq, base, author, time, kind, op, meta] of rows) {
    out.push({
      id: { client, clientSeq },
      seq,
      base,
      author,
      time,
      kind: kind as EventKind,
      op: JSON.parse(op) as Op,
      ...(meta !== null ? { meta: JSON.parse(meta) } : {}),
    });
  }
  out.forEach((e, i) => {
    if (e.seq !== i + 1) throw new Error(`readLog: ${docId}: seq ${e.seq} where ${i + 1} belongs`);
  });
  return out;
}

/** The last seq of `docId` in a sealed block (0: none), read with plain SQL. */
export function sealedHead(dbFile: string, docId: string): number {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT max(last_seq) FROM blocks WHERE doc_id = ?').pluck().get(docId) as number | null) ?? 0;
  } finally {
    db.close();
  }
}

/** The stored server checkpoints of `docId`, decoded, by seq. */
export function readCheckpoints(dbFile: string, docId: string): Checkpoint[] {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT data FROM checkpoints WHERE doc_id = ? ORDER BY seq').pluck().all(docId) as (Uint8Array | string)[];
    return rows.map((data) => unwrap(typeof data === 'string' ? decodeCheckpoint(data) : decodeCheckpointBlock(data)));
  } finally {
    db.close();
  }
}
