/**
 * What React sees of a `SyncClient`: a small immutable snapshot, read through
 * `useSyncExternalStore` (`subscribe` / `getSnapshot`), and the status it derives for
 * `sync-status`.
 *
 * Every change of the client only marks the snapshot stale and tells the listeners; the
 * next read computes a new one and keeps the old object when nothing shown differs.
 * React compares snapshots by identity and re-renders on a new object, so a change that
 * shows nothing new costs no render, and reading twice without a change gives the same
 * object (which `useSyncExternalStore` requires; a new one each time loops).
 */
import type { Role } from '../../../shared/src/index.js';
import type { StorageError } from '../local/local-store.js';
import type { PeerInfo } from './presence.js';

export type SyncStatus = 'online' | 'offline' | 'syncing' | 'slow';

export interface SyncProblem {
  readonly code: string;
  readonly message: string;
  readonly time: number;
}

export interface SyncSnapshot {
  readonly status: SyncStatus;
  /** Events in the outbox (not yet acknowledged). */
  readonly pending: number;
  /** The local store's failure, if any (edits are then only in memory). */
  readonly storageError: StorageError | null;
  /** Own edits the local store does not hold while it is failing (they live in memory and on the server only). */
  readonly unstored: number;
  /** Recent sync errors (newest last, at most 5) and restore problems. */
  readonly errors: readonly SyncProblem[];
  /** Who else is here (other connections), by client id. */
  readonly peers: readonly PeerInfo[];
  /** Set when the server refused this copy for good (e.g. its log is not ours). */
  readonly fatal: string | null;
  /** The error code behind `fatal` (e.g. `access-denied`). */
  readonly fatalCode: string | null;
  /** What the server's last welcome allowed (null: no welcome yet). */
  readonly role: Role | null;
}

/**
 * `sync-status`'s state: `offline` without an open socket, `slow` while the server says it
 * is overloaded for this client (it fell behind, or editors are asked to batch: P21, P22;
 * typing goes on), `syncing` while catching up (`caughtUp` false) or while the outbox is not
 * empty, `online` otherwise.
 */
export function syncStatus(open: boolean, caughtUp: boolean, pending: number, slow = false): SyncStatus {
  return !open ? 'offline' : slow ? 'slow' : !caughtUp || pending > 0 ? 'syncing' : 'online';
}

/** The current snapshot and who listens for changes. */
export class SnapshotStore {
  private readonly compute: () => SyncSnapshot;
  private snap: SyncSnapshot;
  private dirty = false;
  private readonly listeners = new Set<() => void>();

  /** `compute` reads the client's parts as they are now: once here, then on the first read after a change. */
  constructor(compute: () => SyncSnapshot) {
    this.compute = compute;
    this.snap = compute();
  }

  subscribe(f: () => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  /** The snapshot, the same object as before unless something shown changed. */
  get(): SyncSnapshot {
    if (this.dirty) {
      this.dirty = false;
      const next = this.compute();
      // The peers list keeps its identity while its entries do: the editor redraws carets on a new one.
      if (!sameSnapshot(next, this.snap)) this.snap = samePeers(next, this.snap) ? { ...next, peers: this.snap.peers } : next;
    }
    return this.snap;
  }

  /** Something the snapshot shows may have changed. */
  changed(): void {
    this.dirty = true;
    for (const f of [...this.listeners]) f();
  }

  /** No more listeners (the client closed). */
  clear(): void {
    this.listeners.clear();
  }
}

function sameSnapshot(a: SyncSnapshot, b: SyncSnapshot): boolean {
  return (
    a.status === b.status &&
    a.pending === b.pending &&
    a.storageError === b.storageError &&
    a.unstored === b.unstored &&
    a.errors === b.errors &&
    a.fatal === b.fatal &&
    a.role === b.role &&
    samePeers(a, b)
  );
}

function samePeers(a: SyncSnapshot, b: SyncSnapshot): boolean {
  return a.peers.length === b.peers.length && a.peers.every((p, i) => p === b.peers[i]);
}
