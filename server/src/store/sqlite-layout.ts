/**
 * Brings a file's contents to the version 2 layout, in small transactions, on every open.
 *
 * Why on every open, and why this is the migration. After `ensureSchema` a version 1
 * file is a valid version 2 file: its events are all rows (nothing sealed yet) and its
 * checkpoints are JSON text. Every read already works on that. What is left is what the
 * store does anyway as documents grow: seal full runs of rows into blocks. So the
 * migration of a data directory is "seal everything that is due, and re-encode the
 * checkpoints that are still text", each block and each batch of checkpoints one
 * transaction. A crash (kill -9, power loss) between two of them leaves a valid file with
 * some rows sealed and some not; a crash inside one rolls that one back. The next open
 * does what is still left, and finds nothing to do once it is done. The same pass also
 * seals what a crashed server had due but had not sealed yet (sealing is deferred until
 * after the ack, see sqlite-log-store.ts), so rows never pile up across restarts.
 *
 * A version 1 checkpoint that does not decode was never usable (the version 1 store
 * skipped it too); it is left as it is and is skipped when read, never guessed at. The
 * store reads a text checkpoint that does decode, so a pass stopped by a full disk
 * loses no checkpoint either.
 */
import type Database from 'better-sqlite3';
import { decodeCheckpoint, encodeCheckpointBlock } from '../../../shared/src/index.js';
import type { SealedBlocks } from './sqlite-blocks.js';
import { isSqliteError } from './sqlite-rows.js';

/** One committed step of finishing the layout, for progress reports (a long migration). */
export type LayoutStep =
  | { readonly kind: 'checkpoints'; readonly converted: number }
  | { readonly kind: 'block'; readonly docId: string; readonly first: number; readonly last: number }
  | { readonly kind: 'compacted'; readonly docId: string; readonly first: number; readonly last: number; readonly blocks: number };

/** The store's block sizes: seals of `sealEvery` rows, compaction's limits (R25). */
export interface BlockSizes {
  sealEvery: number;
  compactEvents: number;
  compactBytes: number;
}

/** Checkpoints re-encoded per transaction (each can be megabytes of text). */
const CHECKPOINT_BATCH = 16;

/** What one pass did. */
export interface LayoutSummary {
  checkpoints: number;
  blocks: number;
  /** Blocks written by compaction (each replacing a run of smaller ones). */
  compacted: number;
}

/**
 * Re-encodes text checkpoints, seals every document's full runs of `sealEvery` rows and
 * merges its complete runs of small blocks (R25, as a busy store does after a seal),
 * each step its own IMMEDIATE transaction; `progress` hears of each step once committed.
 * A step that fails for I/O (a full disk, a lock) is rolled back and reported to
 * `onError`, and the pass stops there: the file is valid as it is (rows and text
 * checkpoints are read as well as blocks), and the next open tries again.
 */
export function finishLayout(
  db: Database.Database,
  blocks: SealedBlocks,
  sizes: BlockSizes,
  progress: ((step: LayoutStep) => void) | undefined,
  onError: (message: string) => void,
): LayoutSummary {
  const summary: LayoutSummary = { checkpoints: 0, blocks: 0, compacted: 0 };
  try {
    passes(db, blocks, sizes, summary, progress);
  } catch (e) {
    if (!isSqliteError(e)) throw e;
    onError(`SqliteLogStore: finishing the layout stopped, to be resumed at the next open (rows and text checkpoints stay readable): ${e.code}: ${e.message}`);
  }
  return summary;
}

function passes(
  db: Database.Database,
  blocks: SealedBlocks,
  { sealEvery, compactEvents, compactBytes }: BlockSizes,
  summary: LayoutSummary,
  progress: ((step: LayoutStep) => void) | undefined,
): void {
  const textCheckpoints = db
    .prepare(`SELECT rowid, doc_id, seq, data FROM checkpoints WHERE rowid > ? AND typeof(data) = 'text' ORDER BY rowid LIMIT ${CHECKPOINT_BATCH}`)
    .raw();
  const setData = db.prepare('UPDATE checkpoints SET data = ? WHERE rowid = ?');
  const convert = db.transaction((after: number): { last: number; seen: number; converted: number } => {
    const rows = textCheckpoints.all(after) as [number, string, number, string][];
    let converted = 0;
    for (const [rowid, docId, seq, text] of rows) {
      const cp = decodeCheckpoint(text);
      if (!cp.ok || cp.value.docId !== docId || cp.value.seq !== seq) continue;
      setData.run(encodeCheckpointBlock(cp.value), rowid);
      converted++;
    }
    return { last: rows.length > 0 ? rows[rows.length - 1][0] : after, seen: rows.length, converted };
  });
  for (let after = 0; ; ) {
    const r = convert.immediate(after);
    if (r.seen === 0) break;
    after = r.last;
    summary.checkpoints += r.converted;
    if (r.converted > 0) progress?.({ kind: 'checkpoints', converted: r.converted });
  }

  const docs = db.prepare('SELECT doc_id, head FROM documents ORDER BY doc_id').raw().all() as [string, number][];
  const seal = db.transaction((docId: string) => blocks.sealNext(docId, sealEvery));
  for (const [docId, head] of docs) {
    while (head - blocks.sealedHead(docId) >= sealEvery) {
      const b = seal.immediate(docId);
      if (b === null) break; // fewer rows than the head says: reads will report the damage
      summary.blocks++;
      progress?.({ kind: 'block', docId, first: b.first, last: b.last });
    }
  }
  const compact = db.transaction((docId: string) => blocks.compactNext(docId, compactEvents, compactBytes, false));
  for (const [docId] of docs) {
    if (!blocks.compactionDue(docId, compactEvents, compactBytes, false)) continue;
    for (let c = compact.immediate(docId); c !== null; c = compact.immediate(docId)) {
      summary.compacted++;
      progress?.({ kind: 'compacted', docId, ...c });
    }
  }
}
