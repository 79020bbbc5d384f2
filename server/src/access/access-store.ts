/**
 * Where the server keeps who may use a document: the SHA-256 of its edit token and of
 * its view token (shared/src/access/capability.ts), never the tokens. A document without
 * a record cannot be joined at all; a record is written when the creator's first hello
 * (or `npm run import`) registers the document, and changed only when an editor replaces
 * the links (`rotate-links`): both hashes at once, so the old tokens stop at once.
 *
 * Asynchronous like the log store (store/log-store.ts). Three implementations: SQLite
 * (sqlite-access-store.ts) and PostgreSQL (store/pg-log-store.ts, beside the logs) for
 * the server, memory for in-process tests.
 */

/** A document's access record. */
export interface AccessRecord {
  readonly docId: string;
  /** SHA-256 hex of the edit token. */
  readonly editHash: string;
  /** SHA-256 hex of the view token. */
  readonly viewHash: string;
  /** Server time of registration, ms since the epoch. */
  readonly createdAt: number;
}

export interface AccessStore {
  get(docId: string): Promise<AccessRecord | null>;
  /**
   * Registers a document. Returns false (and changes nothing) if `docId` already has a
   * record: the first registration wins, forever (also between processes sharing the
   * store). Rejects if the store fails.
   */
  register(record: AccessRecord): Promise<boolean>;
  /**
   * Replaces both hashes of a registered document (new links). Resolves false (and changes
   * nothing) when `docId` has no record. Rejects if the store fails.
   */
  replace(docId: string, editHash: string, viewHash: string): Promise<boolean>;
  close(): Promise<void>;
}

/** In memory, for tests and the in-process server with a memory log store. */
export class MemoryAccessStore implements AccessStore {
  private readonly records = new Map<string, AccessRecord>();
  async get(docId: string): Promise<AccessRecord | null> {
    return this.records.get(docId) ?? null;
  }
  async register(record: AccessRecord): Promise<boolean> {
    if (this.records.has(record.docId)) return false;
    this.records.set(record.docId, { ...record });
    return true;
  }
  async replace(docId: string, editHash: string, viewHash: string): Promise<boolean> {
    const old = this.records.get(docId);
    if (old === undefined) return false;
    this.records.set(docId, { ...old, editHash, viewHash });
    return true;
  }
  async close(): Promise<void> {}
}
