/**
 * The access records on disk: their own SQLite file, `<DATA_DIR>/access.sqlite`, apart
 * from the logs (a table of secrets' hashes has nothing to do with the event log, and
 * keeping it apart leaves the log store's schema alone). WAL, synchronous FULL: a
 * document registered and then edited must not come back after a crash without its
 * record (its edits would be unreachable).
 */
import Database from 'better-sqlite3';
import type { AccessRecord, AccessStore } from './access-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS access (
  doc_id     TEXT    NOT NULL PRIMARY KEY,
  edit_hash  TEXT    NOT NULL,
  view_hash  TEXT    NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** The file inside DATA_DIR. */
export const ACCESS_FILE = 'access.sqlite';

export class SqliteAccessStore implements AccessStore {
  private readonly getStmt: Database.Statement<[string], [string, string, string, number]>;
  private readonly putStmt: Database.Statement<[string, string, string, number]>;
  private readonly replaceStmt: Database.Statement<[string, string, string]>;

  private constructor(private readonly db: Database.Database) {
    this.getStmt = db.prepare('SELECT doc_id, edit_hash, view_hash, created_at FROM access WHERE doc_id = ?').raw() as never;
    this.putStmt = db.prepare('INSERT OR IGNORE INTO access (doc_id, edit_hash, view_hash, created_at) VALUES (?, ?, ?, ?)');
    this.replaceStmt = db.prepare('UPDATE access SET edit_hash = ?, view_hash = ? WHERE doc_id = ?');
  }

  static open(file: string): SqliteAccessStore {
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    return new SqliteAccessStore(db);
  }

  async get(docId: string): Promise<AccessRecord | null> {
    const row = this.getStmt.get(docId);
    if (row === undefined) return null;
    return { docId: row[0], editHash: row[1], viewHash: row[2], createdAt: row[3] };
  }

  async register(r: AccessRecord): Promise<boolean> {
    return this.putStmt.run(r.docId, r.editHash, r.viewHash, r.createdAt).changes === 1;
  }

  async replace(docId: string, editHash: string, viewHash: string): Promise<boolean> {
    return this.replaceStmt.run(editHash, viewHash, docId).changes === 1;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
