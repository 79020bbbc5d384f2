/**
 * The checkpoints of the SQLite log store: one row per (document, seq), `data` the binary
 * checkpoint encoding (`encodeCheckpointBlock`), or JSON text left by a version 1 file whose
 * migration has not reached it yet (sqlite-layout.ts).
 *
 * Two encodings of one format. A checkpoint is written on the server's thread every 1,000
 * events of a busy document, so it is deflated at level 1 (the fastest). The retention rule
 * (R16) keeps a document's two newest and one per 150,000 seqs, and those stay for as long as
 * the document does, so once the document has gone idle the ones this process wrote at level
 * 1 are written again at level 9 (`encodeCheckpointBlockSmallest`), each in a transaction of
 * its own: about 13% fewer bytes for a few ms each, off every ack's path. The store keeps, in
 * memory, which of its checkpoints are still at level 1; one written by a process that
 * stopped before its document went idle stays at level 1, which costs bytes, not correctness
 * (both decode alike).
 */
import type Database from 'better-sqlite3';
import {
  type Checkpoint,
  type CheckpointRetention,
  decodeCheckpoint,
  decodeCheckpointBlock,
  encodeCheckpointBlock,
  encodeCheckpointBlockSmallest,
  prunedCheckpoints,
} from '../../../shared/src/index.js';
import { checkCheckpoint } from './memory-log-store.js';

export class StoredCheckpoints {
  private readonly st: ReturnType<typeof prepare>;
  /** Runs putCheckpoint's transaction (the head read inside it); the caller maps its failures to results. */
  readonly put: Database.Transaction<(cp: Checkpoint) => void>;
  private readonly recompress: Database.Transaction<(docId: string, seq: number) => boolean>;
  /** Checkpoints this process wrote at level 1 and has not yet written again at level 9, by document. */
  private readonly warm = new Map<string, Set<number>>();

  constructor(db: Database.Database, retention: CheckpointRetention, headOf: (docId: string) => number) {
    this.st = prepare(db);
    this.put = db.transaction((cp: Checkpoint) => {
      checkCheckpoint(cp, headOf(cp.docId));
      this.st.put.run(cp.docId, cp.seq, encodeCheckpointBlock(cp));
      // The retention rule, in the same transaction: the file never holds what it prunes.
      const seqs = this.st.seqsAll.all(cp.docId) as number[];
      const pruned = prunedCheckpoints(seqs, retention);
      for (const seq of pruned) this.st.delete.run(cp.docId, seq);
      let warm = this.warm.get(cp.docId);
      if (warm === undefined) this.warm.set(cp.docId, (warm = new Set()));
      warm.add(cp.seq);
      for (const seq of pruned) warm.delete(seq);
    });
    this.recompress = db.transaction((docId: string, seq: number) => {
      const data = this.st.one.get(docId, seq) as unknown;
      if (!(data instanceof Uint8Array)) return false; // gone (pruned by another connection) or text
      const cp = decodeCheckpointBlock(data);
      if (!cp.ok || cp.value.docId !== docId || cp.value.seq !== seq) return false; // skipped when read; left as it is
      const smaller = encodeCheckpointBlockSmallest(cp.value);
      if (smaller.length >= data.length) return false;
      this.st.update.run(smaller, docId, seq);
      return true;
    });
  }

  /**
   * Writes `docId`'s checkpoints that are still at level 1 again at level 9, one transaction
   * each; returns how many were rewritten. Throws SQLite errors (the caller reports them; a
   * checkpoint not rewritten stays as it was, and is tried again at the next idle time).
   */
  settle(docId: string): number {
    const warm = this.warm.get(docId);
    if (warm === undefined) return 0;
    let rewritten = 0;
    for (const seq of [...warm]) {
      if (this.recompress.immediate(docId, seq)) rewritten++;
      warm.delete(seq);
    }
    if (warm.size === 0) this.warm.delete(docId);
    return rewritten;
  }

  /** `settle` for one checkpoint: false if `docId` has none left at level 1. */
  settleOne(docId: string): boolean {
    const warm = this.warm.get(docId);
    if (warm === undefined) return false;
    for (const seq of warm) {
      warm.delete(seq);
      this.recompress.immediate(docId, seq);
      break;
    }
    if (warm.size === 0) this.warm.delete(docId);
    return true;
  }

  /** The newest readable checkpoint at or before `at` (see LogStore). */
  atOrBefore(docId: string, at: number): Checkpoint | null {
    // Newest first; one that does not decode (or does not match its row) is skipped:
    // checkpoints are a cache, an older one or the empty document gives the same state (L5).
    // Text is the version 1 encoding, left by a migration that has not finished.
    for (const [seq, data] of this.st.down.iterate(docId, at) as IterableIterator<[number, unknown]>) {
      const cp = typeof data === 'string' ? decodeCheckpoint(data) : data instanceof Uint8Array ? decodeCheckpointBlock(data) : null;
      if (cp === null) continue;
      if (cp.ok && cp.value.docId === docId && cp.value.seq === seq) return cp.value;
    }
    return null;
  }

  /** The seqs with checkpoints in from…to, ascending. */
  seqs(docId: string, from: number, to: number): number[] {
    return this.st.seqs.all(docId, from, to) as number[];
  }
}

function prepare(db: Database.Database) {
  return {
    put: db.prepare('INSERT OR REPLACE INTO checkpoints (doc_id, seq, data) VALUES (?, ?, ?)'),
    one: db.prepare('SELECT data FROM checkpoints WHERE doc_id = ? AND seq = ?').pluck(),
    update: db.prepare('UPDATE checkpoints SET data = ? WHERE doc_id = ? AND seq = ?'),
    down: db.prepare('SELECT seq, data FROM checkpoints WHERE doc_id = ? AND seq <= ? ORDER BY seq DESC').raw(),
    seqs: db.prepare('SELECT seq FROM checkpoints WHERE doc_id = ? AND seq >= ? AND seq <= ? ORDER BY seq').pluck(),
    seqsAll: db.prepare('SELECT seq FROM checkpoints WHERE doc_id = ? ORDER BY seq').pluck(),
    delete: db.prepare('DELETE FROM checkpoints WHERE doc_id = ? AND seq = ?'),
  };
}
