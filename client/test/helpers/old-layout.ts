/**
 * The local store's version 1 layout (IndexedDB 'eventide' at version 1, before blocks),
 * written record by record, so tests can put a browser in the state the previous app left
 * it in: the unit tests with fake-indexeddb, the e2e test in Chromium (`writeV1Database`
 * is self-contained, so it can be handed to `page.evaluate`).
 *
 * `v1Records` builds exactly what version 1's `LocalStore.write` stored; the unit test
 * checks it against `fixtures/local-store-v1.json`, a dump of a database written by the
 * version 1 code itself (commit d055b9b), so the two cannot drift apart unnoticed.
 */
import type { Checkpoint, DocEvent, LocalEvent } from '../../../shared/src/index.js';

/** One client slot of a document as version 1 kept it. */
export interface V1Slot {
  readonly client: string;
  readonly nextClientSeq: number;
  readonly outboxBase: number;
  /** The slot's unsent events, in clientSeq order, in forms that apply after `outboxBase`. */
  readonly outbox: readonly LocalEvent[];
}

/** One document as version 1 kept it. */
export interface V1Doc {
  readonly docId: string;
  readonly title: string;
  readonly updatedAt: number;
  readonly checkpoint: Checkpoint | null;
  /** Confirmed events as rows (version 1 kept those below the checkpoint too, as history). */
  readonly tail: readonly DocEvent[];
  readonly slots: readonly V1Slot[];
}

/** Every record of a version 1 database, store by store: [key, value] (in-line keys: value only). */
export interface V1Records {
  readonly docs: readonly unknown[];
  readonly checkpoints: readonly unknown[];
  readonly tail: readonly (readonly [IDBValidKey, unknown])[];
  readonly outbox: readonly (readonly [IDBValidKey, unknown])[];
  readonly slots: readonly (readonly [IDBValidKey, unknown])[];
  readonly settings: readonly (readonly [IDBValidKey, unknown])[];
}

/** Version 1's checkpoint JSON (`encodeCheckpoint` at version 1). */
export function v1CheckpointJson(cp: Checkpoint): string {
  const authors: string[] = [];
  const index = new Map<string, number>();
  const runs: number[] = [];
  for (const r of cp.authorship) {
    let i = index.get(r.author);
    if (i === undefined) {
      i = authors.length;
      authors.push(r.author);
      index.set(r.author, i);
    }
    runs.push(i, r.length);
  }
  return JSON.stringify({ v: 1, docId: cp.docId, seq: cp.seq, text: cp.text, authors, runs });
}

export function v1Records(docs: readonly V1Doc[], settings: readonly (readonly [string, string])[]): V1Records {
  const out = { docs: [] as unknown[], checkpoints: [] as unknown[], tail: [] as [IDBValidKey, unknown][], outbox: [] as [IDBValidKey, unknown][], slots: [] as [IDBValidKey, unknown][], settings: settings.map(([k, v]) => [k, v] as [IDBValidKey, unknown]) };
  for (const d of docs) {
    const checkpointSeq = d.checkpoint?.seq ?? 0;
    const head = Math.max(checkpointSeq, ...d.tail.map((e) => e.seq), ...d.slots.map((s) => s.outboxBase));
    out.docs.push({ docId: d.docId, title: d.title, updatedAt: d.updatedAt, head, checkpointSeq });
    if (d.checkpoint !== null) out.checkpoints.push({ docId: d.docId, seq: d.checkpoint.seq, data: v1CheckpointJson(d.checkpoint) });
    for (const e of d.tail) out.tail.push([[d.docId, e.seq], e]);
    for (const s of d.slots) {
      for (const e of s.outbox) out.outbox.push([[d.docId, s.client, e.id.clientSeq], e]);
      out.slots.push([[d.docId, s.client], { docId: d.docId, client: s.client, nextClientSeq: s.nextClientSeq, outboxBase: s.outboxBase, outboxSize: s.outbox.length }]);
    }
  }
  return out;
}

/**
 * Creates database `name` at version 1 with version 1's stores and writes `records`.
 * Self-contained (no imports, no helpers): it runs in a page as well.
 */
export function writeV1Database(args: { name: string; records: V1Records }): Promise<void> {
  const { name, records } = args;
  return new Promise<void>((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore('docs', { keyPath: 'docId' });
      db.createObjectStore('checkpoints', { keyPath: 'docId' });
      db.createObjectStore('tail');
      db.createObjectStore('outbox');
      db.createObjectStore('slots');
      db.createObjectStore('settings');
    };
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const db = req.result;
      const tx = db.transaction(['docs', 'checkpoints', 'tail', 'outbox', 'slots', 'settings'], 'readwrite');
      for (const v of records.docs) tx.objectStore('docs').put(v);
      for (const v of records.checkpoints) tx.objectStore('checkpoints').put(v);
      for (const store of ['tail', 'outbox', 'slots', 'settings'] as const) for (const [k, v] of records[store]) tx.objectStore(store).put(v, k);
      tx.oncomplete = () => {
        db.close();
        resolve();
      };
      tx.onerror = () => reject(tx.error);
    };
  });
}

/** Every record of a database, store by store (for comparing layouts). */
export function dumpDatabase(name: string): Promise<Record<string, [IDBValidKey, unknown][]>> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name);
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const db = req.result;
      const names = [...db.objectStoreNames];
      const tx = db.transaction(names, 'readonly');
      const out: Record<string, [IDBValidKey, unknown][]> = {};
      for (const n of names) {
        const keys = tx.objectStore(n).getAllKeys();
        const values = tx.objectStore(n).getAll();
        values.onsuccess = () => {
          out[n] = keys.result.map((k, i) => [k, values.result[i]]);
        };
      }
      tx.oncomplete = () => {
        db.close();
        resolve(out);
      };
      tx.onerror = () => reject(tx.error);
    };
  });
}
