/**
 * Presence of clients connected to other server nodes, as one room keeps it. Presence is
 * ephemeral: what another node sends may be coalesced, late or lost, and nothing is
 * logged. So the room only needs the latest cursor per remote client, and a way to
 * forget a client whose node stopped talking (killed, partitioned): every entry expires
 * `ttlMs` after it was last heard, and nodes repeat their clients' presence more often
 * than that (server/src/cluster/presence-relay.ts).
 *
 * Pure: time comes in as an argument.
 */
import type { Cursor, User } from '../protocol/messages.js';

/** One remote client's latest presence. */
export interface RemoteClient {
  readonly client: string;
  readonly node: string;
  readonly user: User;
  readonly cursor: Cursor;
  readonly heardAt: number;
}

export class RemotePresence {
  private readonly clients = new Map<string, RemoteClient>();

  constructor(readonly ttlMs: number) {}

  /** Everyone currently known, in the order first heard. */
  get all(): readonly RemoteClient[] {
    return [...this.clients.values()];
  }

  /** Records a presence; returns false when it is no news (same node, user and cursor). */
  heard(entry: RemoteClient): boolean {
    const prev = this.clients.get(entry.client);
    this.clients.set(entry.client, entry);
    return !(prev !== undefined && prev.node === entry.node && sameCursor(prev.cursor, entry.cursor) && sameUser(prev.user, entry.user));
  }

  /** The client left its node; returns whether it was known (from that node). */
  left(client: string, node: string): boolean {
    const prev = this.clients.get(client);
    if (prev === undefined || prev.node !== node) return false;
    this.clients.delete(client);
    return true;
  }

  /** Forgets every entry not heard since `now - ttlMs`; returns their clients. */
  expire(now: number): string[] {
    const gone: string[] = [];
    for (const [client, e] of this.clients) {
      if (now - e.heardAt > this.ttlMs) {
        this.clients.delete(client);
        gone.push(client);
      }
    }
    return gone;
  }
}

function sameCursor(a: Cursor, b: Cursor): boolean {
  return a === b || (a !== null && b !== null && a.anchor === b.anchor && a.head === b.head);
}

function sameUser(a: User, b: User): boolean {
  return a.name === b.name && a.color === b.color;
}
