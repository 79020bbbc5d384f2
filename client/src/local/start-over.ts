/**
 * Starting a document over from the server's log, when the server refused this copy
 * (`base-ahead` on hello: its log ends before this copy's confirmed seq, e.g. it was
 * restored from an older backup or reset). This copy cannot be rebased onto that log: its
 * confirmed events are not events of it. The person chooses what happens (see
 * app/BaseAheadRecovery.tsx); this module does the storage part without losing anything
 * silently:
 *
 *   1. In one transaction (`LocalStore.startOver`): the text of the local copy is kept as
 *      a backup, the stored document (checkpoint, tail, every slot's outbox) is deleted,
 *      and the document gets a new client-id base. If it fails, nothing is discarded.
 *      The new ids matter: the server's log may hold events of the old ids (reused
 *      clientSeqs would be answered as duplicates: silent loss) or have lost the end of
 *      their run (the next clientSeq would be refused as out of order, for ever).
 *   2. The unload journals of the document (every tab's) are removed, so the next open
 *      does not bring the old outbox back.
 *
 * The caller must have closed its `SyncClient` first (closing writes what is queued), and
 * then opens a fresh one: with nothing stored it says hello with `last = 0` and takes the
 * server's state. `replaceWith` then turns the server's text into the local one as one
 * edit (the common prefix and suffix kept), for "put my version on the server".
 */
import { ok, type Result } from '../../../shared/src/index.js';
import { diffChange, randomId, type SyncClient } from '../sync/sync-client.js';
import type { LocalStore, StorageError } from './local-store.js';
import { defaultJournalStorage, journalKey, type JournalStorage } from './journal.js';

/** Web Storage as the journal uses it, plus enumeration (localStorage has both). */
type KeyedStorage = JournalStorage & { readonly length?: number; key?(i: number): string | null };

/** Backs up `text`, then forgets the stored copy of `docId`. */
export async function discardLocalCopy(
  store: LocalStore | null,
  docId: string,
  text: string,
  options: { now?: number; journalStorage?: KeyedStorage | null } = {},
): Promise<Result<null, StorageError>> {
  if (store !== null) {
    const done = await store.startOver(docId, text, options.now ?? Date.now(), randomId());
    if (!done.ok) return done;
  }
  // Without a store there is nothing stored to forget, and the next client gets a random id anyway.
  const journals = options.journalStorage === undefined ? defaultJournalStorage() : options.journalStorage;
  removeJournals(journals as KeyedStorage | null, docId);
  return ok(null);
}

function removeJournals(storage: KeyedStorage | null, docId: string): void {
  if (storage === null || typeof storage.key !== 'function' || typeof storage.length !== 'number') return;
  const prefix = journalKey(docId, '');
  const keys: string[] = [];
  try {
    for (let i = 0; i < storage.length; i++) {
      const k = storage.key(i);
      if (k !== null && k.startsWith(prefix)) keys.push(k);
    }
    for (const k of keys) storage.removeItem(k);
  } catch {
    /* no storage: no journals either */
  }
}

/**
 * Waits until `client` has caught up with the server (status `online`: joined, welcome
 * taken, nothing unsent), then makes its text `text` with one edit. Resolves with the
 * edit's result; never times out (the text stays in memory meanwhile, and in the backup).
 */
export function replaceWith(client: SyncClient, text: string): Promise<Result<null, { code: string; message: string }>> {
  return new Promise((resolve) => {
    let done = false;
    let unsubscribe: () => void = () => {};
    const check = () => {
      if (done) return;
      const s = client.getSnapshot();
      if (s.fatal !== null) {
        done = true;
        unsubscribe();
        resolve({ ok: false, error: { code: 'fatal', message: s.fatal } });
        return;
      }
      if (s.status !== 'online') return;
      done = true;
      unsubscribe();
      const current = client.text();
      if (current === text) {
        resolve(ok(null));
        return;
      }
      const r = client.edit(diffChange(current, text).op);
      resolve(r.ok ? ok(null) : { ok: false, error: r.error });
    };
    unsubscribe = client.subscribe(check);
    check();
  });
}
