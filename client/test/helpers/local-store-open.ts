/**
 * The local store as tests that expect it to work use it: an open or a load that fails is
 * the test's failure, thrown with the store's own message, rather than a value each test
 * unwraps. Tests of the failures themselves call `LocalStore.open` and `load` directly.
 */
import { LocalStore, type StoredDoc } from '../../src/local/local-store.js';

/** The store of database `name`, opened (and upgraded, if it is an older layout). */
export async function open(name: string): Promise<LocalStore> {
  const r = await LocalStore.open({ name });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

/** What `store` holds of `docId` for the slot `client`. */
export async function load(store: LocalStore, docId: string, client: string): Promise<StoredDoc> {
  const r = await store.load(docId, client);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}
