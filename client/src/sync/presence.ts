/**
 * Presence for one open document: our caret, selection and name going out, the others'
 * coming in. Presence is ephemeral: the server relays it and never logs it.
 *
 * The one subtle rule: ours goes out only when the outbox is empty. The server relays
 * presence at once while events wait for their commit, so a position sent with edits in
 * flight would reach the others before the text it counts. Sent after the acks, it
 * arrives after the events; meanwhile the others map the old caret through the incoming
 * edits, which keeps it at the end of what is being typed. So a move only marks the caret
 * dirty (sent 50 ms later at most, if allowed), and every moment the outbox may have
 * emptied (an ack, received events, catching up) tries again (`announce`).
 */
import { presenceEntries, type Cursor, type PresenceBatchMessage, type PresenceDownMessage, type PresenceLeaveMessage, type PresenceMessage, type User } from '../../../shared/src/index.js';

export interface PeerInfo {
  readonly client: string;
  readonly user: User;
  readonly cursor: Cursor;
}

/** What presence needs from the sync client. */
export interface PresenceOwner {
  /** Whether ours may go out now: caught up on this connection, and the outbox empty. */
  mayAnnounce(): boolean;
  send(msg: PresenceMessage): void;
}

export class Presence {
  private readonly client: string;
  private readonly owner: PresenceOwner;
  private current: User;
  private cursor: Cursor = null;
  private cursorTimer: ReturnType<typeof setTimeout> | null = null;
  /** The cursor changed since it was last sent on this connection. */
  private cursorDirty = false;
  /** The name or colour changed since the hello or the last presence carried it. */
  private userDirty = false;
  private readonly peers = new Map<string, PeerInfo>();

  /** `client`: our own client id (the server's echo of our presence is not a peer). */
  constructor(client: string, user: User, owner: PresenceOwner) {
    this.client = client;
    this.current = user;
    this.owner = owner;
  }

  /** The name and colour others see. */
  get user(): User {
    return this.current;
  }

  /** The user for a hello, which carries it: no presence needs to carry it again. */
  userForHello(): User {
    this.userDirty = false;
    return this.current;
  }

  /** See `SyncClient.setCursor`. */
  setCursor(cursor: Cursor): void {
    if (cursor?.anchor === this.cursor?.anchor && cursor?.head === this.cursor?.head) return;
    this.cursor = cursor;
    this.cursorDirty = true;
    if (this.cursorTimer) return;
    this.cursorTimer = setTimeout(() => {
      this.cursorTimer = null;
      this.announce();
    }, 50);
  }

  /** See `SyncClient.setUser`. */
  setUser(user: User): void {
    if (user.name === this.current.name && user.color === this.current.color) return;
    this.current = user;
    this.userDirty = true;
    this.announce();
  }

  /** Sends what changed, if anything did and the owner allows it now. */
  announce(): void {
    if ((!this.cursorDirty && !this.userDirty) || !this.owner.mayAnnounce()) return;
    const user = this.userDirty ? { user: this.current } : {};
    this.cursorDirty = false;
    this.userDirty = false;
    this.owner.send({ type: 'presence', cursor: this.cursor, ...user });
  }

  /** A new connection caught up: the others there have not seen our caret yet. */
  joined(): void {
    this.cursorDirty = this.cursor !== null;
    this.announce();
  }

  /** Other connections' presence (one, or a crowded document's batch, P24), or a leaving. */
  heard(msg: PresenceDownMessage | PresenceBatchMessage | PresenceLeaveMessage): void {
    if (msg.type === 'presence-leave') this.peers.delete(msg.client);
    else for (const e of presenceEntries(msg, this.client)) this.peers.set(e.client, e);
  }

  /** The connection is gone, and with it what we knew of the others. */
  disconnected(): void {
    if (this.peers.size > 0) this.peers.clear();
  }

  /** Who else is here, by client id. */
  others(): PeerInfo[] {
    return [...this.peers.values()];
  }

  /** Stops the pending send. */
  close(): void {
    if (this.cursorTimer) clearTimeout(this.cursorTimer);
  }
}
