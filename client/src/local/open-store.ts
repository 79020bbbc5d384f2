/** The page's one connection to the local store, opened on first use. */
import { LocalStore, type StorageError } from './local-store.js';

export interface PageStore {
  readonly store: LocalStore | null;
  readonly error: StorageError | null;
}

let opening: Promise<PageStore> | null = null;

export function pageStore(): Promise<PageStore> {
  opening ??= LocalStore.open().then((r) => (r.ok ? { store: r.value, error: null } : { store: null, error: r.error }));
  return opening;
}
