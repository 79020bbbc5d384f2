/**
 * Which client id a tab uses for a document.
 *
 * The server numbers each client's events 1, 2, 3, … per document and refuses gaps
 * and reuse, and a stored outbox can only be sent by the client id it was made under.
 * Two tabs of one document in one browser therefore need different client ids, and a
 * reloaded tab should get its old id back (to send the outbox it left). A tab takes a
 * slot with a Web Lock, `eventide:<docId>:<n>`, held while the page lives; its client id
 * is `<browserId>-<n>`. Slots whose stored outbox is not empty come first and are
 * waited for briefly (the page being reloaded may not have let go yet); then the
 * lowest free slot. Without Web Locks every tab uses slot 0.
 */

export interface Slot {
  readonly slot: number;
  /** Lets the slot go (the page's end does it too). */
  release(): void;
}

export interface SlotOptions {
  /** Slots that have unsent edits stored, preferred in this order. */
  readonly withOutbox?: readonly number[];
  /** How long to wait for a held slot that has unsent edits. */
  readonly waitMs?: number;
  readonly locks?: LockManager | undefined;
  readonly maxSlots?: number;
}

export async function acquireSlot(docId: string, options: SlotOptions = {}): Promise<Slot> {
  const locks = options.locks ?? (typeof navigator !== 'undefined' ? navigator.locks : undefined);
  if (locks === undefined) return { slot: 0, release() {} };
  const waitMs = options.waitMs ?? 600;
  const maxSlots = options.maxSlots ?? 64;
  const tried = new Set<number>();
  const deadline = Date.now() + waitMs;
  for (const n of options.withOutbox ?? []) {
    if (tried.has(n) || n < 0 || n >= maxSlots) continue;
    tried.add(n);
    const release = await take(locks, lockName(docId, n), Math.max(0, deadline - Date.now()));
    if (release) return { slot: n, release };
  }
  for (let n = 0; n < maxSlots; n++) {
    if (tried.has(n)) continue;
    const release = await take(locks, lockName(docId, n), 0);
    if (release) return { slot: n, release };
  }
  // Sixty-four tabs of one document: share the last slot's id with a random one instead.
  return { slot: maxSlots + Math.floor(Math.random() * 1e9), release() {} };
}

export function lockName(docId: string, slot: number): string {
  return `eventide:${docId}:${slot}`;
}

/** The client id of a slot. */
export function clientIdOf(browserId: string, slot: number): string {
  return `${browserId}-${slot}`;
}

/** The slot number in a client id made by clientIdOf (null if it is not one). */
export function slotOf(browserId: string, client: string): number | null {
  if (!client.startsWith(browserId + '-')) return null;
  const n = Number(client.slice(browserId.length + 1));
  return Number.isInteger(n) && n >= 0 ? n : null;
}

/** Takes the lock and holds it until the returned function is called; null if not had in time. */
function take(locks: LockManager, name: string, waitMs: number): Promise<(() => void) | null> {
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ac = waitMs > 0 ? new AbortController() : null;
    if (ac) timer = setTimeout(() => ac.abort(), waitMs);
    const options: LockOptions = ac ? { mode: 'exclusive', signal: ac.signal } : { mode: 'exclusive', ifAvailable: true };
    locks
      .request(name, options, (lock) => {
        clearTimeout(timer);
        if (lock === null) {
          resolve(null);
          return undefined;
        }
        return new Promise<void>((release) => resolve(() => release()));
      })
      .catch(() => {
        clearTimeout(timer);
        resolve(null);
      });
  });
}
