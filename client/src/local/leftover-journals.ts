/**
 * Journals left by pages that are gone (issue 16, spec C19).
 *
 * A page that goes right after an ack, or right after a keystroke, may leave its last
 * IndexedDB write uncommitted: the navigation aborts it. Its unload journal (journal.ts)
 * holds what that write had (the acknowledged events, the outbox as it was then), and the
 * next open of the document applies it. The document list on `/` opens no document, so
 * until then the store's outbox can overstate what is unsent (edits the server has
 * acknowledged still counted) or understate it (a keystroke that only the journal holds).
 * Before the list judges whether a copy may be removed, it applies the journals itself: the
 * same write the next open would make, for each slot that no live page holds (a slot's Web
 * Lock, local/slot.ts, is held by the page using it; that page's persister is the truth for
 * its slot, and a journal it left when it was hidden is its own to settle).
 */
import type { LocalStore } from './local-store.js';
import { applyJournal, defaultJournalStorage, journaledClients, type JournalStorage } from './journal.js';
import { lockName } from './slot.js';

export interface LeftoverOptions {
  /** localStorage by default. */
  readonly storage?: JournalStorage | null;
  /** navigator.locks by default; without Web Locks every journal is applied (one tab per document then). */
  readonly locks?: LockManager;
}

/** The slot number of a client id (`<base id>-<slot>`, slot.ts), or null. */
function slotNumber(client: string): number | null {
  const n = Number(client.slice(client.lastIndexOf('-') + 1));
  return Number.isInteger(n) && n >= 0 ? n : null;
}

/**
 * Applies every journal of `docId` whose slot no live page holds (see the file comment).
 * Returns how many were applied; a journal that cannot be applied is left as it was (the
 * next open tries again), so this never loses anything.
 */
export async function applyLeftoverJournals(store: LocalStore, docId: string, options: LeftoverOptions = {}): Promise<number> {
  const storage = options.storage === undefined ? defaultJournalStorage() : options.storage;
  const clients = journaledClients(storage, docId);
  if (clients.length === 0) return 0;
  const locks = options.locks ?? (typeof navigator !== 'undefined' ? navigator.locks : undefined);
  let applied = 0;
  for (const client of clients) {
    const slot = slotNumber(client);
    const apply = async () => {
      if (await applyJournal(store, storage, docId, client)) applied++;
    };
    if (locks === undefined || slot === null) {
      await apply();
      continue;
    }
    try {
      await locks.request(lockName(docId, slot), { mode: 'exclusive', ifAvailable: true }, async (lock) => {
        if (lock !== null) await apply();
      });
    } catch {
      /* no lock, no journal applied: the next open does it */
    }
  }
  return applied;
}
