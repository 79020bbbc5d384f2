/**
 * Where documents' logs and server checkpoints live. Small on purpose: the sequencer
 * (shared/src/sync/sequencer.ts) is the only appender and keeps the document in memory;
 * the store only has to keep what it was given, durably, and read it back.
 *
 * Every call returns a promise: a store over the network (PostgreSQL, pg-log-store.ts)
 * cannot answer in the same turn. The SQLite store stays synchronous inside
 * (better-sqlite3) and answers at once; the room core still reads synchronously, through
 * a per-room read-through view (server/src/room-reads.ts). Every implementation passes
 * the same contract suite (server/test/store/contract.ts).
 *
 * A read that cannot be served (a broken file, a dead database) rejects; the server
 * turns that into `store-failed` in one place (store-guard.ts).
 *
 * Expected failures are values: a full disk or a broken file is a `store-failed`
 * result, after which nothing of that append is stored (an append is all or nothing).
 */
import type { Checkpoint, DocEvent, EventId, Result } from '../../../shared/src/index.js';

export type StoreErrorCode = 'head-mismatch' | 'store-failed';

/** One document in the listing. */
export interface DocumentInfo {
  readonly docId: string;
  /** The last seq (0: no events yet). */
  readonly head: number;
  /** Server time of the last event, ms since the epoch (0 if none). */
  readonly updatedAt: number;
}

export interface LogStore {
  /**
   * Appends `events` (seqs expectedHead + 1, + 2, …) to `docId`'s log in one durable
   * step: when this resolves ok they survive a process crash (L2). Refuses with
   * `head-mismatch` if the log's head is not `expectedHead`, with `store-failed` on
   * an I/O error; either way nothing of the call is stored.
   */
  append(docId: string, expectedHead: number, events: readonly DocEvent[]): Promise<Result<null>>;

  /**
   * Appends to several documents at once, all or nothing (group commit across rooms).
   * Same rules as `append` for each entry.
   */
  appendMany(entries: readonly { docId: string; expectedHead: number; events: readonly DocEvent[] }[]): Promise<Result<null>>;

  /**
   * Optional, for stores shared by several server processes (PostgreSQL, R27): appends
   * like `append`, with the document's appends serialized across processes for the
   * transaction. If the log's head is past `expectedHead` (another process appended
   * first), `rebase` is called inside the transaction with the events beyond it and
   * returns what to append instead, continuing the log's head (nothing: commit nothing);
   * the caller must not let anything else append to the document meanwhile. Correctness
   * still comes from the head check and the primary key, never from the serialization:
   * `head-mismatch` remains a possible answer.
   */
  appendSerialized?(
    docId: string,
    expectedHead: number,
    events: readonly DocEvent[],
    rebase: (missing: readonly DocEvent[]) => Promise<readonly DocEvent[]>,
  ): Promise<Result<null>>;

  /**
   * Optional, for bulk loads (the import): the same as `append`, same rules and results,
   * but written straight into the store's compact form (SQLite: sealed blocks, no rows
   * first). A store without it is written with `append`.
   */
  appendSealed?(docId: string, expectedHead: number, events: readonly DocEvent[]): Promise<Result<null>>;

  /**
   * Optional: brings a document to the store's most compact form now, as the store does by
   * itself once it is idle (SQLite: the last rows sealed, small blocks compacted, R25, and
   * checkpoints written smaller). Never changes what any read returns; a failure is reported
   * by the store and leaves the document as it was.
   */
  settle?(docId: string): unknown;

  /** The last seq of `docId`'s log; 0 for an unknown document. */
  head(docId: string): Promise<number>;

  /** Events with from < seq ≤ to, in seq order (fewer if the log is shorter). */
  range(docId: string, from: number, to: number): Promise<DocEvent[]>;

  /** The seq an event id was appended at, if it was. */
  seqOf(docId: string, id: EventId): Promise<number | undefined>;

  /** The highest clientSeq appended for `client` in `docId`; 0 if none. */
  lastClientSeq(docId: string, client: string): Promise<number>;

  /** Stores a checkpoint; a second one at the same seq replaces the first. */
  putCheckpoint(cp: Checkpoint): Promise<Result<null>>;

  /** The checkpoint with the greatest seq ≤ `at`, or null. */
  checkpointAtOrBefore(docId: string, at: number): Promise<Checkpoint | null>;

  /** The seqs that have checkpoints with from ≤ seq ≤ to, ascending (for history paging). */
  checkpointSeqs(docId: string, from: number, to: number): Promise<number[]>;

  /** Every document with at least one event, most recently edited first. */
  listDocuments(): Promise<DocumentInfo[]>;

  /** Releases files, handles and connections; resolves when they are released. */
  close(): Promise<void>;
}
