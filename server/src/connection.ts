/**
 * One client connection as the protocol sees it: what each valid message does. The
 * transport (transport.ts) has already parsed, validated and paced the frame; here it is
 * routed to the room (room.ts, around the core's RoomCore):
 *
 *   - `hello`: the token decides the role (the hub's AccessGate; `access-denied` is
 *     fatal, 1008), the room is loaded, the welcome goes out (`base-ahead` is fatal).
 *     The connection is bound to that one document for good (`already-joined`); one that
 *     has not joined within `helloTimeoutMs` is closed (`hello-timeout`), so idle
 *     sockets cannot pile up;
 *   - `submit`: checked against the role on every message, not only at the hello (a view
 *     connection gets `read-only`), then against the event bucket (refused whole, so the
 *     client backs off and resends), then sequenced and queued for the group commit;
 *   - `history`: a page, charged to the address's read budget: a debt pauses reading
 *     for as long as the budget takes to repay it (nothing refused);
 *   - `rotate-links` (edit connections only): the access record gets the new token's
 *     hashes, every other connection to the document is closed with `links-replaced`
 *     (they all joined with the old tokens), and `links-rotated` answers;
 *   - `presence` relayed, `ping` answered.
 *
 * Everything that reads the store (hello, submit, history) runs through one guard
 * (store/store-guard.ts): a failing store is `store-failed`, not fatal, nothing changed.
 * Store reads are asynchronous, so a connection handles its messages one at a time, in
 * order: a message waits for the one before it (a submit for its hello, a presence for
 * the join), while other connections go on.
 */
import type { WebSocket } from 'ws';
import {
  encodeServerMessage,
  type ClientMessage,
  type Cursor,
  type HelloMessage,
  type HistoryMessage,
  type RotateLinksMessage,
  type SubmitMessage,
  type User,
  type Role,
  type Result,
  type CodedError,
  type ErrorCode,
  ok,
  tokenHash,
} from '../../shared/src/index.js';
import type { GateRequest, AccessErrorCode } from './access/gate.js';
import type { CommitItem, Peer, Room } from './room.js';
import { TokenBucket } from './limits/token-bucket.js';
import { guardStore } from './store/store-guard.js';
import { CloseCode, Transport, type TransportHost } from './transport.js';

/** What a connection needs from the hub (hub.ts). */
export interface ConnectionHost extends TransportHost {
  readonly shuttingDown: boolean;
  /** The room of `docId`, loaded from the store if needed. Rejects if the store does. */
  openRoom(docId: string): Promise<Room>;
  /** Drops the room from memory if nobody is in it and nothing waits for a commit. */
  releaseRoom(room: Room): void;
  commit(item: CommitItem): void;
  connectionClosed(conn: Connection): void;
  /** Charges `events` history events to `address`'s read budget; returns how long to pause reading (ms, 0: none). */
  chargeAddressReads(address: string, bytes: number): number;
  /** The role a hello's token gives (access/gate.ts). Rejects if a store does. */
  authorize(req: GateRequest): Promise<Result<Role, CodedError<AccessErrorCode>>>;
  /** Replaces `conn`'s document's links and closes its other connections (`links-replaced`). Rejects if a store does. */
  rotateLinks(conn: Connection, token: string): Promise<Result<null, CodedError<AccessErrorCode>>>;
}

/** A frame the transport refused, waiting in the inbox for its turn to be answered. */
interface Refusal {
  readonly type: 'refused';
  readonly code: ErrorCode;
  readonly message: string;
  readonly closeCode?: number;
}

/** What the client is told when the store fails under each kind of message; nothing was stored or changed. */
const storeRefusals = {
  hello: 'the document could not be loaded; try again',
  submit: 'the server could not read the log; nothing was stored, resend later',
  history: 'the history could not be read; try again',
  'rotate-links': 'the links could not be replaced; the old ones still work; try again',
} as const;

export class Connection extends Transport implements Peer {
  client = '';
  user: User = { name: '', color: '' };
  cursor: Cursor = null;
  room: Room | null = null;
  /** What the hello's token allows; meaningful once `room` is set. */
  role: Role = 'view';
  /** The SHA-256 of the hello's token: another node's rotate-links is checked against it (R28). */
  tokenHash: string | null = null;
  private readonly eventBucket: TokenBucket;
  private helloTimer: NodeJS.Timeout | null = null;
  /** Messages (and refusals of frames) received while an earlier one still waits for the store, oldest first. */
  private readonly inbox: (ClientMessage | Refusal)[] = [];
  private handling = false;

  constructor(
    ws: WebSocket,
    private readonly host: ConnectionHost,
    address = '',
  ) {
    super(ws, host, address);
    this.eventBucket = new TokenBucket(host.options.events);
    if (host.options.helloTimeoutMs > 0) {
      this.helloTimer = setTimeout(() => {
        this.helloTimer = null;
        if (this.room === null) this.sendError('hello-timeout', `no valid hello within ${host.options.helloTimeoutMs} ms`, CloseCode.policy);
      }, host.options.helloTimeoutMs);
      this.helloTimer.unref();
    }
  }

  protected describe(): string {
    return this.client || 'unknown client';
  }

  protected closed(): void {
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.host.connectionClosed(this);
  }

  protected receive(msg: ClientMessage): void {
    this.inbox.push(msg);
    if (!this.handling) void this.drain();
  }

  /** A refused frame is answered after the messages before it, so answers keep the frames' order. */
  protected override refuse(code: ErrorCode, message: string, closeCode?: number): void {
    if (!this.handling) return this.sendError(code, message, closeCode);
    this.inbox.push({ type: 'refused', code, message, closeCode });
  }

  /** Handles the inbox in order; a message that needs no store read is handled in the same turn. */
  private async drain(): Promise<void> {
    this.handling = true;
    try {
      while (this.inbox.length > 0) {
        const done = this.handle(this.inbox.shift()!);
        if (done !== undefined) await done;
      }
    } finally {
      this.handling = false;
    }
  }

  private handle(msg: ClientMessage | Refusal): void | Promise<void> {
    switch (msg.type) {
      case 'refused':
        return this.sendError(msg.code, msg.message, msg.closeCode);
      case 'ping':
        return this.sendRaw(encodeServerMessage({ type: 'pong', t: msg.t }));
      case 'presence':
        if (this.room === null) return this.sendError('not-joined', `send hello before ${msg.type}`);
        return this.room.presence(this, msg.cursor, msg.user);
    }
    return this.guarded(msg);
  }

  /** The messages that read the store, under the one guard. */
  private async guarded(msg: HelloMessage | SubmitMessage | HistoryMessage | RotateLinksMessage): Promise<void> {
    let opened: Room | null = null;
    const r = await guardStore(this.host.options.log, `${msg.type} of ${this.room?.docId ?? (msg.type === 'hello' ? msg.docId : '?')}`, () => {
      switch (msg.type) {
        case 'hello':
          return this.hello(msg, (room) => (opened = room));
        case 'submit':
          return this.submit(msg);
        case 'history':
          return this.history(msg);
        case 'rotate-links':
          return this.rotateLinks(msg);
      }
    });
    if (r.ok) return;
    // A room opened for a hello that did not join must not stay loaded for nobody.
    if (opened !== null && this.room === null) this.host.releaseRoom(opened);
    this.sendError('store-failed', storeRefusals[msg.type]);
  }

  /** Joins the document; `opened` hears of the room as soon as it is loaded. */
  private async hello(msg: HelloMessage, opened: (room: Room) => void): Promise<Result<null>> {
    if (this.room !== null) {
      this.sendError('already-joined', `this connection is already in document ${this.room.docId}; open another to join another`);
      return ok(null);
    }
    if (this.host.shuttingDown) {
      this.sendError('server-shutting-down', 'the server is shutting down; reconnect shortly', CloseCode.goingAway);
      return ok(null);
    }
    const access = await this.host.authorize({ docId: msg.docId, token: msg.token, create: msg.create === true, address: this.address });
    if (!access.ok) {
      this.sendError(access.error.code, access.error.message, CloseCode.policy);
      return ok(null);
    }
    this.role = access.value;
    this.tokenHash = msg.token !== undefined ? tokenHash(msg.token) : null;
    const room = await this.host.openRoom(msg.docId);
    opened(room);
    if (this.isClosed) {
      // The socket went while the room loaded: nobody to join.
      this.host.releaseRoom(room);
      return ok(null);
    }
    this.client = msg.client;
    this.user = msg.user;
    const joined = await room.join(this, msg.last);
    if (this.isClosed) {
      room.leave(this);
      this.host.releaseRoom(room);
      return ok(null);
    }
    if (!joined.ok) {
      this.host.releaseRoom(room);
      // base-ahead: the client's state is not of this log (fatal, P15); store-failed: the room
      // could not catch up to the client yet, and the client re-syncs after its backoff (P8).
      this.sendError(joined.error.code, joined.error.message, joined.error.code === 'base-ahead' ? CloseCode.policy : undefined);
      return ok(null);
    }
    this.room = room;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.helloTimer = null;
    return ok(null);
  }

  private async submit(msg: SubmitMessage): Promise<Result<null>> {
    const room = this.room;
    if (room === null) {
      this.sendError('not-joined', 'send hello before submit');
    } else if (this.role !== 'edit') {
      // Checked on every message: the role was fixed by the hello, for this room only.
      this.sendError('read-only', 'this connection joined with a view link: it cannot change the document; nothing was stored');
    } else if (this.host.shuttingDown) {
      this.sendError('server-shutting-down', 'the server is shutting down: nothing was stored; resend after reconnecting');
    } else if (!this.eventBucket.take(msg.events.length)) {
      this.sendError('rate-limited', `too many events: at most ${this.host.options.events.rate} a second; nothing was stored, resend later`);
    } else {
      const r = await room.submit(this, { base: msg.base, events: msg.events }, (item) => this.host.commit(item));
      if (!r.ok) this.sendError(r.error.code, r.error.message);
    }
    return ok(null);
  }

  /** New links (edit connections only): the old tokens stop, the others on them are closed (hub). */
  private async rotateLinks(msg: RotateLinksMessage): Promise<Result<null>> {
    if (this.room === null) {
      this.sendError('not-joined', 'send hello before rotate-links');
    } else if (this.role !== 'edit') {
      this.sendError('read-only', 'this connection joined with a view link: it cannot replace the links');
    } else {
      const r = await this.host.rotateLinks(this, msg.token);
      if (r.ok) this.sendRaw(encodeServerMessage({ type: 'links-rotated', reqId: msg.reqId }));
      else this.sendError(r.error.code, r.error.message, CloseCode.policy);
    }
    return ok(null);
  }

  private async history(msg: HistoryMessage): Promise<Result<null>> {
    if (this.room === null) {
      this.sendError('not-joined', 'send hello before history');
      return ok(null);
    }
    // Reads are budgeted by cost, per address: the page is answered, its bytes are
    // charged, and a debt pauses reading for as long as the budget takes to repay it,
    // so this address's next pages wait instead of taking the CPU from everyone else.
    const sent = await this.room.history(this, msg);
    const pause = this.host.chargeAddressReads(this.address, sent);
    if (pause > 0) {
      // Reading stops, and what was already read (it waits in this connection's inbox)
      // waits as long: the next page comes no sooner than the budget allows.
      this.pauseFor(pause);
      await new Promise((resolve) => setTimeout(resolve, pause).unref());
    }
    return ok(null);
  }
}
