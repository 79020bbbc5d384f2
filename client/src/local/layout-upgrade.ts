/**
 * Moving a version 1 local store to version 2, in place, inside the browser's upgrade
 * transaction (`LocalStore.open`).
 *
 * Version 1 kept every confirmed event as a row and each checkpoint as a JSON string.
 * Version 2 adds the `blocks` store and keeps checkpoints as the codec's bytes; rows stay
 * rows until their chunk is whole (event-blocks.ts). So the upgrade only has to
 *   1. re-encode each checkpoint (one that does not decode stays a string, exactly as it
 *      was: the loader still reads strings, and reports it as before), and
 *   2. seal every whole chunk of each document's rows into blocks.
 * The outbox, the slot records (nextClientSeq, outboxBase), the document list and the
 * settings (the browser id, start-over bases and backups) have the same shape in both
 * versions and are not touched at all: above all, unsent edits of an offline session
 * come out exactly as they went in, under the same client id.
 *
 * Why in the upgrade transaction and not lazily afterwards: it is the one transaction
 * that no other tab can interleave with, and if anything in it fails (quota, a crash, a
 * tab closed mid-way) the browser rolls the whole database back to version 1, which this
 * code can upgrade again at the next open. There is no half-upgraded state to recover.
 * The cost is one pass over the stored events, once.
 */
import type { IDBPTransaction } from 'idb';
import { decodeCheckpoint } from '../../../shared/src/index.js';
import { sealChunks, type BlockStore, type CountingRowStore } from './event-blocks.js';
import { encodeStoredCheckpoint } from './stored-codec.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type UpgradeTx = IDBPTransaction<any, any, 'versionchange'>;

/** Re-encodes checkpoints and seals the rows of every document; throws (aborting) on a storage failure. */
export async function upgradeToBlocks(tx: UpgradeTx): Promise<void> {
  const checkpoints = tx.objectStore('checkpoints');
  let cursor = await checkpoints.openCursor();
  while (cursor !== null) {
    const rec = cursor.value as { docId: string; seq: number; data: unknown };
    if (typeof rec.data === 'string') {
      const d = decodeCheckpoint(rec.data);
      if (d.ok && d.value.seq === rec.seq) await cursor.update({ docId: rec.docId, seq: rec.seq, data: encodeStoredCheckpoint(d.value) });
    }
    cursor = await cursor.continue();
  }
  const docs = (await tx.objectStore('docs').getAll()) as { docId: string; head: number }[];
  const rows = tx.objectStore('tail') as unknown as CountingRowStore;
  const blocks = tx.objectStore('blocks') as unknown as BlockStore;
  for (const doc of docs) await sealChunks(rows, blocks, doc.docId, doc.head);
}
