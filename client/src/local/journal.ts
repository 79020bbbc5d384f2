/**
 * The last few milliseconds before a reload (O1). An edit is stored by an IndexedDB
 * transaction that takes a few milliseconds to commit, and a page that unloads meanwhile
 * aborts it. So on `pagehide` the persister also writes, synchronously, to localStorage,
 * what the store does not have for certain yet: the confirmed events of writes not yet
 * committed, and the whole outbox at the current base. The next open applies that as
 * one ordinary store write before loading, and removes it.
 *
 * A journal is only applied if it is not older than what the store has (a page that came
 * back from the back/forward cache and kept writing makes its journal stale; the
 * persister removes it after its next successful write as well).
 */
import type { DocEvent, LocalEvent } from '../../../shared/src/index.js';
import type { DocWrite, LocalStore } from './local-store.js';

export interface JournalStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
  /** Listing (localStorage has it): lets the document list find every journal of a document. */
  readonly length?: number;
  key?(index: number): string | null;
}

export interface Journal {
  readonly v: 1;
  readonly docId: string;
  readonly client: string;
  readonly write: DocWrite;
}

/** Larger journals are not written (localStorage holds a few MB per origin). */
export const MAX_JOURNAL_CHARS = 2_000_000;

export function journalKey(docId: string, client: string): string {
  return `${journalPrefix(docId)}${client}`;
}

function journalPrefix(docId: string): string {
  return `eventide.journal.${docId}.`;
}

/** The clients with a journal of `docId` in `storage` (none if it cannot be listed). */
export function journaledClients(storage: JournalStorage | null, docId: string): string[] {
  const out: string[] = [];
  if (storage === null || storage.key === undefined || storage.length === undefined) return out;
  const prefix = journalPrefix(docId);
  try {
    for (let i = 0; i < storage.length; i++) {
      const k = storage.key(i);
      if (k !== null && k.startsWith(prefix)) out.push(k.slice(prefix.length));
    }
  } catch {
    /* unlistable: none */
  }
  return out;
}

export function defaultJournalStorage(): JournalStorage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

/** Writes the journal; false if it could not (too large, storage full or missing). */
export function writeJournal(storage: JournalStorage | null, j: Journal): boolean {
  if (storage === null) return false;
  try {
    const text = JSON.stringify(j);
    if (text.length > MAX_JOURNAL_CHARS) return false;
    storage.setItem(journalKey(j.docId, j.client), text);
    return true;
  } catch {
    return false;
  }
}

export function removeJournal(storage: JournalStorage | null, docId: string, client: string): void {
  try {
    storage?.removeItem(journalKey(docId, client));
  } catch {
    /* nothing to do */
  }
}

function readJournal(storage: JournalStorage | null, docId: string, client: string): Journal | null {
  if (storage === null) return null;
  try {
    const raw = storage.getItem(journalKey(docId, client));
    if (raw === null) return null;
    const j = JSON.parse(raw) as Journal;
    const w = j?.write;
    const okShape =
      j.v === 1 &&
      j.docId === docId &&
      j.client === client &&
      w !== undefined &&
      Array.isArray(w.tail) &&
      Array.isArray(w.outbox?.events) &&
      Number.isInteger(w.outboxBase) &&
      Number.isInteger(w.nextClientSeq) &&
      Number.isInteger(w.outboxHead) &&
      (w.tail as DocEvent[]).every((e, i) => Number.isInteger(e.seq) && (i === 0 || e.seq === w.tail[i - 1].seq + 1)) &&
      (w.outbox.events as LocalEvent[]).every((e) => e.id?.client === client);
    return okShape ? j : null;
  } catch {
    return null;
  }
}

/**
 * Applies a journal left by the previous page, if any and if it is not stale. Returns
 * whether one was applied. Always removes it unless the store refused the write.
 */
export async function applyJournal(store: LocalStore, storage: JournalStorage | null, docId: string, client: string): Promise<boolean> {
  const j = readJournal(storage, docId, client);
  if (j === null) {
    removeJournal(storage, docId, client);
    return false;
  }
  const slots = await store.slotsOf(docId);
  const summary = await store.summary(docId);
  if (!slots.ok || !summary.ok) return false;
  const mine = slots.value.find((s) => s.client === client);
  const w = j.write;
  const stale = mine !== undefined && (mine.nextClientSeq > w.nextClientSeq || mine.outboxBase > w.outboxBase);
  // The journal's tail must continue what is stored (or its base be the stored head already).
  const head = summary.value?.head ?? 0;
  const firstNew = w.tail.find((e) => e.seq > head);
  const connects = w.outboxBase <= head || (firstNew !== undefined && firstNew.seq === head + 1 && w.tail[w.tail.length - 1].seq === w.outboxBase);
  if (stale || !connects) {
    removeJournal(storage, docId, client);
    return false;
  }
  const r = await store.write(docId, client, w);
  if (!r.ok) return false;
  removeJournal(storage, docId, client);
  return true;
}

/** Removes every journal of `docId` (the document is forgotten: a journal must not revive its outbox). */
export function removeJournalsOf(storage: JournalStorage | null, docId: string): void {
  for (const client of journaledClients(storage, docId)) removeJournal(storage, docId, client);
}
