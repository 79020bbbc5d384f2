/**
 * The first half of opening a document: everything before any network. It takes a client
 * slot (local/slot.ts), applies the previous page's unload journal (local/journal.ts), and
 * restores checkpoint + tail + outbox from the local store (local/restore.ts), so the
 * document shows at once, with or without a network.
 *
 * The client id is the browser id plus the slot. Slots with a stored outbox come first (a
 * stored outbox can only be sent under the client id it was made with); a document started
 * over (local/start-over.ts) has its own base id instead of the browser's.
 *
 * A stored copy that cannot be read is never written over: the page then works from
 * memory, under a fresh client id, since the slot's used clientSeqs are unknown and the
 * server would answer a reused one as a duplicate (and the edit would be lost).
 */
import { ClientState, type User } from '../../../shared/src/index.js';
import type { LocalStore, StorageError } from '../local/local-store.js';
import { restoreState } from '../local/restore.js';
import { applyJournal, defaultJournalStorage } from '../local/journal.js';
import { acquireSlot, clientIdOf, slotOf, type Slot } from '../local/slot.js';
import type { JournalStorage } from '../local/journal.js';

/** What opening a document reads (`SyncClientOptions` extends it). */
export interface LoadOptions {
  readonly docId: string;
  readonly user: User;
  /**
   * The author this page's events carry: unique to this browser (the app passes the name
   * with a stable browser id, identity.ts), since undo steps are per author (U1). By
   * default the name alone (tests).
   */
  readonly author?: string;
  /** null: no local store (storageError says why); the document lives in memory. */
  readonly store: LocalStore | null;
  readonly storageError?: StorageError | null;
  readonly locks?: LockManager;
  /** Where the unload journal lives (localStorage by default). */
  readonly journalStorage?: JournalStorage | null;
}

/** A document as this device has it, ready to be synced. */
export interface LoadedDocument {
  /** The client slot taken (released when the client closes). */
  readonly slot: Slot;
  readonly state: ClientState;
  /** The last clientSeq the local store holds (0 if none). */
  readonly storedClientSeq: number;
  /** The local store's failure, if any (also the options' own). */
  readonly storageError: StorageError | null;
  /** What restoring found wrong (shown as `restore` errors). */
  readonly problems: readonly string[];
  /** Restoring changed the stored outbox's forms: the persister is to write them again. */
  readonly rebased: boolean;
  /** The stored copy could not be read: the page must not use the store (never write over it). */
  readonly unreadable: boolean;
}

/** Takes a slot and restores what the local store holds of the document (its failures are values). */
export async function loadDocument(options: LoadOptions): Promise<LoadedDocument> {
  const { store, docId } = options;
  let browserId = randomId();
  let storageError = options.storageError ?? null;
  let withOutbox: number[] = [];
  if (store !== null) {
    const id = await store.setting('browserId', randomId);
    if (id.ok) browserId = id.value;
    else storageError = id.error;
    // A document started over (local/start-over.ts) uses fresh client ids: the server's log may hold, or have lost, the old ones' events.
    const base = await store.clientBase(docId);
    if (base.ok && base.value !== null) browserId = base.value;
    const slots = await store.slotsOf(docId);
    if (slots.ok) {
      withOutbox = slots.value
        .filter((s) => s.outboxSize > 0)
        .map((s) => slotOf(browserId, s.client))
        .filter((n): n is number => n !== null);
    }
  }
  const slot = await acquireSlot(docId, { withOutbox, locks: options.locks });
  const client = clientIdOf(browserId, slot.slot);
  const author = options.author ?? (options.user.name || 'anonymous');
  let state = new ClientState({ client, author });
  let problems: readonly string[] = [];
  let rebased = false;
  let storedClientSeq = 0;
  let unreadable = false;
  const journalStorage = options.journalStorage === undefined ? defaultJournalStorage() : options.journalStorage;
  if (store !== null) {
    // What the previous page wrote synchronously as it went (journal.ts).
    await applyJournal(store, journalStorage, docId, client);
    const loaded = await store.load(docId, client);
    if (loaded.ok) {
      const r = restoreState(loaded.value, client, author);
      state = r.state;
      problems = r.problems;
      rebased = r.rebased;
      storedClientSeq = state.nextClientSeq - 1;
    } else {
      // The stored copy cannot be read: work from memory, never write over it, and under a
      // fresh client id (this slot's used clientSeqs are unknown; the server would answer a
      // reused one as a duplicate, and the edit would be lost).
      storageError = loaded.error;
      unreadable = true;
      state = new ClientState({ client: `${randomId()}-0`, author });
    }
  }
  return { slot, state, storedClientSeq, storageError, problems, rebased, unreadable };
}

/** A random id for this browser (letters and digits, as the protocol wants). */
export function randomId(): string {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_-'[b & 63]).join('');
}
