/**
 * What a server stored, read straight from its SQLite file with plain SQL on a read-only
 * connection (the server may still be running): the one reader that server tests and
 * e2e tests both use to check the log against what clients saw. It does not go through
 * the server's store code on purpose, so a bug there cannot hide itself.
 */
import Database from 'better-sqlite3';
import { decodeCheckpoint, unwrap, type Checkpoint, type DocEvent, type EventKind, type Op } from '../../../shared/src/index.js';

/** The log of `docId` as stored, read with plain SQL from a read-only connection. */
export function readLog(dbFile: string, docId: string): DocEvent[] {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare('SELECT seq, client, client_seq, base, author, time, kind, op, meta FROM events WHERE doc_id = ? ORDER BY seq')
      .raw()
      .all(docId) as [number, string, number, number, string, number, string, string, string | null][];
    return rows.map(([seq, client, clientSeq, base, author, time, kind, op, meta]) => ({
      id: { client, clientSeq },
      seq,
      base,
      author,
      time,
      kind: kind as EventKind,
      op: JSON.parse(op) as Op,
      ...(meta !== null ? { meta: JSON.parse(meta) as DocEvent['meta'] } : {}),
    }));
  } finally {
    db.close();
  }
}

/** The stored server checkpoints of `docId`, decoded, by seq. */
export function readCheckpoints(dbFile: string, docId: string): Checkpoint[] {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT data FROM checkpoints WHERE doc_id = ? ORDER BY seq').pluck().all(docId) as string[];
    return rows.map((data) => unwrap(decodeCheckpoint(data)));
  } finally {
    db.close();
  }
}
