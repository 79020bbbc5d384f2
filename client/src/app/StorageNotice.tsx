/**
 * What the page says when this device's storage fails (IndexedDB full, blocked by
 * another tab, missing, or broken): edits are then kept in memory only, and still go to
 * the server while it is reachable (local/persister.ts, memory mode).
 *
 *   - The message is in the page (`data-testid="storage-error"`, `data-code`), worded per
 *     cause, with what to do about it and how many edits are still unsent.
 *   - While edits exist only in memory (unsent, or not in the store while it fails),
 *     leaving the page asks first (`beforeunload`).
 *   - It goes away by itself when a later write succeeds (space was freed).
 */
import { useEffect } from 'react';
import type { StorageError } from '../local/local-store.js';
import type { SyncSnapshot } from '../sync/sync-client.js';

/** The sentence for each cause: what happened and what the person can do. */
export function storageErrorText(e: StorageError): string {
  switch (e.code) {
    case 'quota':
      return "This device's storage is full, so your edits are not being saved on this device.";
    case 'blocked':
      return 'Storage is blocked by another tab of this app (an older version, or one being upgraded), so your edits are not being saved on this device. Close the other tabs of this app and reload.';
    case 'unavailable':
      return 'This browser gives the app no storage (a private window, or storage turned off), so your edits are not being saved on this device.';
    case 'failed':
      return 'Saving on this device failed, so your edits are not being saved here.';
  }
}

export function StorageNotice({ snapshot }: { snapshot: SyncSnapshot }) {
  const e = snapshot.storageError;
  // Unsent edits, or (writes failing) edits this device does not hold: a reload now would
  // start from a stored copy that does not know them (docs/client.md, "When storage fails").
  const unsafe = e !== null && (snapshot.pending > 0 || snapshot.unstored > 0);
  useEffect(() => {
    if (!unsafe) return;
    const warn = (ev: BeforeUnloadEvent) => {
      ev.preventDefault();
      ev.returnValue = '';
    };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [unsafe]);
  if (e === null) return null;
  const where =
    snapshot.status === 'offline'
      ? `You are offline: ${snapshot.pending} unsent edit${snapshot.pending === 1 ? ' is' : 's are'} only in this tab's memory until the server is reachable; keep this tab open.`
      : snapshot.pending > 0
        ? `They are kept in memory and being sent to the server (${snapshot.pending} still unsent); keep this tab open until that is done.`
        : 'They are kept in memory and sent to the server as you type; everything so far is on the server.';
  return (
    <div className="problem storage-error" role="alert" data-testid="storage-error" data-code={e.code}>
      <p>{storageErrorText(e)}</p>
      <p>{where}</p>
      <p className="detail">Details: {e.message}</p>
    </div>
  );
}
