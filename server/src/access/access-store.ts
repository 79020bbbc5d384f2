/**
 * Where the server keeps who may use a document: the SHA-256 of its edit token and of
 * its view token (shared/src/access/capability.ts), never the tokens. A document without
 * a record cannot be joined at all; a record is written when the creator's first hello
 * (or `npm run import`) registers the document, and changed only when an editor replaces
 * the links (`rotate-links`): both hashes at once, so the old tokens stop at once.
 *
 * Synchronous like the log store (better-sqlite3). Two implementations: SQLite
 * (sqlite-access-store.ts) for the server, memory for in-process tests.
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
  get(docId: string): AccessRecord | null;
  /**
   * Registers a document. Returns false (and changes nothing) if `docId` already has a
   * record: the first registration wins, forever. Throws if the store does.
   */
  register(record: AccessRecord): boolean;
  /**
   * Replaces both hashes of a registered document (new links). Returns false (and changes
   * nothing) when `docId` has no record. Throws if the store does.
   */
  replace(docId: string, editHash: string, viewHash: string): boolean;
  close(): void;
}

/** In memory, for tests and the in-process server with a memory log store. */
export class MemoryAccessStore implements AccessStore {
  private readonly records = new Map<string, AccessRecord>();
  get(docId: string): AccessRecord | null {
    return this.records.get(docId) ?? null;
  }
  register(record: AccessRecord): boolean {
    if (this.records.has(record.docId)) return false;
    this.records.set(record.docId, { ...record });
    return true;
  }
  replace(docId: string, editHash: string, viewHash: string): boolean {
    const old = this.records.get(docId);
    if (old === undefined) return false;
    this.records.set(docId, { ...old, editHash, viewHash });
    return true;
  }
  close(): void {}
}
