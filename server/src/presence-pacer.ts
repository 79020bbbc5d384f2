/**
 * Presence in a crowded document, coalesced and rate-limited per document (issue 15, K17).
 *
 * A caret move is relayed to every other connection: in a document of N connections each
 * move costs N-1 frames, and in a crowd where everyone types (a browser announces its
 * caret after its edits are confirmed) that is N² frames a second, more than the edits
 * themselves. Nobody needs every intermediate caret of 300 people. So from `crowd`
 * connections on, a move is not relayed at once: the latest caret (and name) of each
 * connection waits, and every `intervalMs` the room relays those through the core as
 * usual (so a connection that fell behind or left in between is skipped), all in one
 * `presence-batch` message (P24): each receiver gets one presence frame a tick, encoded
 * once for all of them, where one frame per mover made the tick cost movers × receivers
 * frames. A small document relays at once, one `presence` per move, as before.
 */
import type { Cursor, User } from '../../shared/src/index.js';

/** Connections in a document from which presence is coalesced. */
export const PRESENCE_CROWD = 32;

/** How often a crowded document relays the carets that moved, ms. */
export const PRESENCE_INTERVAL_MS = 100;

export class PresencePacer<P> {
  private readonly waiting = new Map<P, { cursor: Cursor; user: User | undefined }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    /** Relays one connection's presence now (RoomCore.presence, delivered). */
    private readonly relay: (peer: P, cursor: Cursor, user: User | undefined) => void,
    /** Relays the waiting carets of a tick together (RoomCore.presenceBatch, delivered). */
    private readonly relayBatch: (moves: { peer: P; cursor: Cursor; user?: User }[]) => void,
    private readonly intervalMs = PRESENCE_INTERVAL_MS,
  ) {}

  /** A caret moved in a document of `size` connections: relayed now, or with the next batch. */
  moved(peer: P, cursor: Cursor, user: User | undefined, size: number): void {
    if (size < PRESENCE_CROWD && !this.waiting.has(peer)) {
      this.relay(peer, cursor, user);
      return;
    }
    // The latest caret wins; a rename is kept until it is relayed.
    this.waiting.set(peer, { cursor, user: user ?? this.waiting.get(peer)?.user });
    if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Relays every waiting caret now. */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.waiting.size === 0) return;
    const moves = [...this.waiting].map(([peer, w]) => ({ peer, cursor: w.cursor, ...(w.user !== undefined ? { user: w.user } : {}) }));
    this.waiting.clear();
    this.relayBatch(moves);
  }

  /** Drops what waits (the room is going away). */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.waiting.clear();
  }
}
