/**
 * The SQLite log store's settings and their defaults (sqlite-log-store.ts uses them; the
 * server sets some from its environment, options.ts). Why each default is what it is:
 * docs/storage.md.
 */
import type { CheckpointRetention } from '../../../shared/src/index.js';
import type { LayoutStep } from './sqlite-layout.js';

/** Events per sealed block: the seal happens once a document has this many unsealed events. */
export const SEAL_EVERY = 1000;

/** A document idle this long has its unsealed rows sealed (see `idleSealMs`). */
export const IDLE_SEAL_MS = 60_000;

/**
 * Compaction (R25): runs of smaller blocks are merged into blocks of at most this many
 * events, or COMPACT_BYTES stored bytes, whichever comes first. Automerge-paper's log is
 * 184.5 kB in blocks of 1,000 and 121.5 kB in blocks of 16,384 (109.5 kB as one block), and a
 * block this size still decodes in a few ms (bench/results/sqlite-size-2026-12-05.txt).
 */
export const COMPACT_EVENTS = 16_384;

/** See COMPACT_EVENTS. */
export const COMPACT_BYTES = 64 * 1024;

/**
 * A document appended to within this long is busy, and its merges (R25) wait until it has
 * been quiet this long (its seals do not). A merge decodes and re-encodes up to 16,384 events
 * in one synchronous transaction: measured 130-160 ms at 300 typists, a stall of everything
 * the process serves, and the largest of the crowded document's p99 stalls
 * (bench/results/crowded-3-2026-12-06.md). Blocks of 1,000 read the same, only a little larger.
 */
export const MERGE_QUIET_MS = 1000;

/**
 * The longest a busy document's merges wait for it to be quiet (MERGE_QUIET_MS): past it one
 * merge goes ahead and the wait starts again, so a document typed without pause still has its
 * runs merged, at one stall each 30 s rather than one each run (every 5 s at 3,000 events/s).
 */
export const MERGE_MAX_WAIT_MS = 30_000;

/**
 * The page size of a new file, bytes (PRAGMA page_size; a file keeps the size it was created
 * with). 1,024 rather than SQLite's 4,096: a log store is a dozen b-trees of which most are
 * nearly empty for a settled document (rows, their index) and whose blocks end part-way into
 * an overflow page, and every such page is whole on disk. On automerge-paper, imported and
 * VACUUMed, 4,096-byte pages took 262 kB and 1,024-byte pages 217 kB, with no measurable
 * change to appends or range reads (bench/results/sqlite-size-2026-12-05.txt).
 */
export const PAGE_SIZE = 1024;

export interface SqliteLogStoreOptions {
  /** FULL (default): durable across power loss. NORMAL: only across a process crash (benchmarks). */
  synchronous?: 'FULL' | 'NORMAL';
  /** The page size if the file is new (default PAGE_SIZE); an existing file keeps its own. */
  pageSize?: 512 | 1024 | 2048 | 4096 | 8192 | 16384 | 32768 | 65536;
  /** Caps the file at this many pages (PRAGMA max_page_count): a quota, and a full disk in tests. */
  maxPageCount?: number;
  /** How long a write waits for another connection's lock before failing, ms (default 5000). */
  busyTimeoutMs?: number;
  /** Events per block (default SEAL_EVERY). */
  sealEvery?: number;
  /** Compaction's limits (R25): events and stored bytes of a merged block (defaults COMPACT_EVENTS, COMPACT_BYTES). */
  compactEvents?: number;
  compactBytes?: number;
  /**
   * When a due seal runs: `deferred` (default) on the next turn of the event loop, after
   * the append's caller has sent its acks; `inline` before `append` returns, still in a
   * transaction of its own (tools and tests that want the blocks at once).
   */
  sealing?: 'deferred' | 'inline';
  /**
   * A document with no append for this long is settled (`settle`): its remaining rows
   * sealed as one (shorter) block, its small blocks compacted, its checkpoints written
   * smaller; ms, 0 turns it off. Default IDLE_SEAL_MS. Only with `sealing: 'deferred'`.
   */
  idleSealMs?: number;
  /**
   * With `sealing: 'deferred'`: a document's merges wait until it has had no append for this
   * long (default MERGE_QUIET_MS; 0: merge as soon as a run is complete). Inline sealing
   * merges at once.
   */
  mergeQuietMs?: number;
  /** The longest a merge waits for quiet (default MERGE_MAX_WAIT_MS): then one goes ahead. */
  mergeMaxWaitMs?: number;
  /** Which checkpoints a document keeps (default CHECKPOINT_RETENTION, spec R16); applied in each putCheckpoint's transaction. */
  checkpointRetention?: CheckpointRetention;
  /** Hears of each committed step of finishing the layout when the file is opened (a migration). */
  progress?: (step: LayoutStep) => void;
  /** A seal or layout step that failed (full disk, I/O); the rows stay and it is tried again. Default: console.error. */
  onSealError?: (message: string) => void;
}
