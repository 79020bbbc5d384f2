/**
 * The local store's IndexedDB layout: its object stores, their records, its versions, and
 * the upgrade from each older version, run in the browser's upgrade transaction.
 *
 * Version 1 kept every confirmed event as a row and each checkpoint as a JSON string.
 * Version 2 adds the `blocks` store and keeps checkpoints as the codec's bytes; rows stay
 * rows until their chunk has enough of them (event-blocks.ts). So the upgrade from 1 only
 * has to
 *   1. re-encode each checkpoint (one that does not decode stays a string, exactly as it
 *      was: the loader still reads strings, and reports it as before), and
 *   2. merge each document's rows into blocks by the same rule as any write.
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
import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb';
import { type Checkpoint, type DocEvent, type LocalEvent, type Result, decodeCheckpoint } from '../../../shared/src/index.js';
import { sealChunks, type BlockRecord, type BlockStore, type CountingRowStore } from './event-blocks.js';
import { decodeStoredCheckpoint, encodeStoredCheckpoint } from './stored-codec.js';

/** What the document list shows. */
export interface DocSummary {
  readonly docId: string;
  /** The first line of the text (trimmed, at most 120 units); '' for an empty document. */
  readonly title: string;
  /** Last change seen here, local or remote (ms since the epoch). */
  readonly updatedAt: number;
  /** The highest confirmed seq stored. */
  readonly head: number;
  /** The seq of the stored checkpoint (0: none). */
  readonly checkpointSeq: number;
}

/**
 * The stored checkpoint. `data` is the codec's bytes; a string is the version 1 layout's
 * JSON, kept as it was when the upgrade could not decode it (and still read the old way).
 */
export interface CheckpointRecord {
  readonly docId: string;
  readonly seq: number;
  readonly data: Uint8Array | string;
}

export interface SlotRecord {
  readonly docId: string;
  readonly client: string;
  readonly nextClientSeq: number;
  readonly outboxBase: number;
  readonly outboxSize: number;
}

export interface EventideDB extends DBSchema {
  docs: { key: string; value: DocSummary };
  checkpoints: { key: string; value: CheckpointRecord };
  /** Key [docId, seq]: the newest confirmed events, one row each, until sealed (event-blocks.ts). */
  tail: { key: [string, number]; value: DocEvent };
  /** Key [docId, last seq]: sealed blocks of confirmed events (version 2). */
  blocks: { key: [string, number]; value: BlockRecord };
  /** Key [docId, client, clientSeq]. */
  outbox: { key: [string, string, number]; value: LocalEvent };
  /** Key [docId, client]. */
  slots: { key: [string, string]; value: SlotRecord };
  settings: { key: string; value: string };
}

export const DB_NAME = 'eventide';
/**
 * 1: events as rows, checkpoints as JSON; 2: the `blocks` store, checkpoints as the codec's
 * bytes (upgraded in place, below).
 */
export const DB_VERSION = 2;

/** A stored checkpoint record: the codec's bytes, or the version 1 JSON it replaced. */
export function readCheckpoint(rec: CheckpointRecord): Result<Checkpoint> {
  return typeof rec.data === 'string' ? decodeCheckpoint(rec.data) : decodeStoredCheckpoint(rec.data);
}

/**
 * Creates or upgrades the stores to DB_VERSION in `tx`. A failure of the data's upgrade
 * aborts `tx` (the open then fails and the database stays as it was); `onFailure` hears why.
 */
export function upgradeLayout(
  db: IDBPDatabase<EventideDB>,
  oldVersion: number,
  tx: IDBPTransaction<EventideDB, StoreNames<EventideDB>[], 'versionchange'>,
  onFailure: (e: unknown) => void,
): void {
  if (oldVersion < 1) {
    db.createObjectStore('docs', { keyPath: 'docId' });
    db.createObjectStore('checkpoints', { keyPath: 'docId' });
    db.createObjectStore('tail');
    db.createObjectStore('outbox');
    db.createObjectStore('slots');
    db.createObjectStore('settings');
  }
  if (oldVersion < 2) {
    db.createObjectStore('blocks');
    if (oldVersion === 1) {
      // Its outcome is the open's: an abort rejects `done` and the open alike.
      tx.done.catch(() => undefined);
      upgradeToBlocks(tx as unknown as UpgradeTx).catch((e: unknown) => {
        onFailure(e);
        try {
          tx.abort();
        } catch {
          /* already aborted by the failure */
        }
      });
    }
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type UpgradeTx = IDBPTransaction<any, any, 'versionchange'>;

/** Version 1 to 2: re-encodes checkpoints and merges the rows of every document; throws on a storage failure. */
async function upgradeToBlocks(tx: UpgradeTx): Promise<void> {
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
