/**
 * One WebSocket connection: it parses and validates every frame, enforces the
 * per-connection limits, and routes what is valid to its room. This is the edge where
 * untrusted input arrives, so its rule is S1: any frame gets either an answer (an
 * `error` with a stable code when it is refused) or a close with a stated code, it
 * changes nothing it should not, and nothing it contains can throw past this file.
 *
 *   - frames over 1 MiB never reach us: `ws` (maxPayload) closes with 1009;
 *   - binary frames, bad JSON, unknown types and wrong shapes are refused, not fatal;
 *   - a hello of another protocol version is fatal (close 1002);
 *   - frames beyond the frame bucket are dropped (rate-limited); a connection that
 *     keeps flooding is closed with 1008; a submit beyond the event bucket is refused
 *     whole, so the client backs off and resends;
 *   - the address's frame bucket and its read budget (history events served) push back
 *     instead: over them the frame is still handled, then reading pauses (`throttle`);
 *   - liveness is checked with WebSocket ping frames (the hub's heartbeat), so a dead
 *     peer behind a silent network is dropped and its presence cleared;
 *   - access (docs/security.md): the hello's token decides the connection's role (the
 *     hub's AccessGate); a hello without a valid token is fatal (access-denied, 1008).
 *     The connection is bound to that one document for good, and every message is
 *     checked against the role, not only the hello: a submit from a view connection is
 *     refused (read-only). A connection that has not joined within `helloTimeoutMs` is
 *     closed (hello-timeout), so idle sockets cannot pile up.
 */
import type { WebSocket, RawData } from 'ws';
import {
  decodeClientMessage,
  encodeServerMessage,
  type ClientMessage,
  type Cursor,
  type ErrorCode,
  type HelloMessage,
  type SubmitMessage,
  type User,
  type Role,
  type Result,
  type CodedError,
} from '../../shared/src/index.js';
import type { GateRequest, AccessErrorCode } from './access/gate.js';
import type { CommitItem, Peer, Room } from './room.js';
import { TokenBucket, type SyncOptions } from './options.js';
import type { TurnBudget, Waiting } from './turn-budget.js';

/** WebSocket close codes the server uses (docs/protocol.md). */
export const CloseCode = {
  goingAway: 1001,
  protocolError: 1002,
  policy: 1008,
  tooBig: 1009,
  serverError: 1011,
} as const;

/** What a connection needs from the hub (hub.ts). */
export interface ConnectionHost {
  readonly options: SyncOptions;
  readonly shuttingDown: boolean;
  /** The room of `docId`, loaded from the store if needed. Throws if the store does. */
  openRoom(docId: string): Room;
  /** Drops the room from memory if nobody is in it and nothing waits for a commit. */
  releaseRoom(room: Room): void;
  commit(item: CommitItem): void;
  connectionClosed(conn: Connection): void;
  /** Spends one of `address`'s frame tokens (all its connections share them); returns the balance. */
  oweAddressFrame(address: string): number;
  /** Spends `events` of `address`'s read budget (history events served); returns the balance. */
  oweAddressReads(address: string, events: number): number;
  /** The role a hello's token gives (access/gate.ts). Throws if a store does. */
  authorize(req: GateRequest): Result<Role, CodedError<AccessErrorCode>>;
  /** Frame-handling time per turn of the event loop, shared fairly by all connections (turn-budget.ts). */
  readonly turn: TurnBudget;
}

const OPEN = 1;

/** Bounds of what a paused connection keeps of what `ws` had already read. */
const MAX_QUEUED_FRAMES = 1000;
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

function frameSize(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

export class Connection implements Peer, Waiting {
  client = '';
  user: User = { name: '', color: '' };
  cursor: Cursor = null;
  room: Room | null = null;
  /** What the hello's token allows; meaningful once `room` is set. */
  role: Role = 'view';
  /** Cleared when a ping goes out, set by the pong. */
  alive = true;
  private closing = false;
  private readonly frameBucket: TokenBucket;
  private readonly eventBucket: TokenBucket;
  private helloTimer: NodeJS.Timeout | null = null;
  /** Dropping frames for the address limit; one error per run of drops, not one per frame. */
  private addressLimited = false;
  /** Reading paused until the address's frame bucket (or read budget) has refilled. */
  private throttled: NodeJS.Timeout | null = null;
  /** When `throttled` fires (performance.now()). */
  private throttledUntil = 0;
  /** Frames read while paused (address limit) or waiting for a turn, handled in order later. */
  private queued: { data: RawData; isBinary: boolean }[] = [];
  private queuedBytes = 0;
  /** The turn (TurnBudget.turnNo) in which this connection last handled a frame at once. */
  private lastTurn = 0;

  constructor(
    readonly ws: WebSocket,
    private readonly host: ConnectionHost,
    /** The remote address (for per-address limits). */
    readonly address = '',
  ) {
    this.frameBucket = new TokenBucket(host.options.frames);
    this.eventBucket = new TokenBucket(host.options.events);
    if (host.options.helloTimeoutMs > 0) {
      this.helloTimer = setTimeout(() => {
        this.helloTimer = null;
        if (this.room === null) this.sendError('hello-timeout', `no valid hello within ${host.options.helloTimeoutMs} ms`, CloseCode.policy);
      }, host.options.helloTimeoutMs);
      this.helloTimer.unref();
    }
    ws.on('error', (e) => {
      // ws closes the socket itself (1009 for an oversized frame, 1002 for a bad one).
      host.options.log.info(`socket error: ${e.message}`);
    });
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('close', () => {
      this.closing = true;
      if (this.helloTimer) clearTimeout(this.helloTimer);
      if (this.throttled) clearTimeout(this.throttled);
      host.turn.leave(this);
      this.queued = [];
      this.queuedBytes = 0;
      host.connectionClosed(this);
    });
  }

  sendRaw(text: string): void {
    const ws = this.ws;
    if (ws.readyState !== OPEN) return;
    if (ws.bufferedAmount > this.host.options.maxBufferedBytes) {
      // Too slow to keep up: dropping it is kinder than buffering without end; it re-syncs.
      this.host.options.log.warn(`dropping a connection of ${this.client || 'unknown client'}: ${ws.bufferedAmount} bytes unsent`);
      ws.terminate();
      return;
    }
    ws.send(text);
  }

  /** Sends an error; a fatal one is followed by a close with `closeCode`. */
  sendError(code: ErrorCode, message: string, closeCode?: number): void {
    this.sendRaw(encodeServerMessage({ type: 'error', code, message, fatal: closeCode !== undefined }));
    if (closeCode !== undefined) this.close(closeCode, code);
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.host.turn.leave(this);
    try {
      // A socket paused for backpressure would never read the peer's close frame, and the
      // close would wait for ws's 30 s timeout; what it reads from now on is ignored.
      this.ws.resume();
      this.ws.close(code, reason);
    } catch {
      this.ws.terminate();
    }
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    if (this.closing) return;
    const turn = this.host.turn;
    if (this.throttled !== null || this.queued.length > 0 || !turn.mayHandle(this.lastTurn)) {
      // Reading is paused (the address's bucket is empty, or this turn's frame budget is
      // spent), but `ws` still hands over what it had already read: keep it, in order,
      // for later; past a bound, drop it.
      const size = frameSize(data);
      if (this.queued.length >= MAX_QUEUED_FRAMES || this.queuedBytes + size > MAX_QUEUED_BYTES) {
        if (!this.addressLimited) this.sendError('rate-limited', 'too many frames from your address: this one and the next are dropped; slow down');
        this.addressLimited = true;
        return;
      }
      this.queued.push({ data, isBinary });
      this.queuedBytes += size;
      if (this.throttled === null) {
        this.ws.pause();
        turn.wait(this);
      }
      return;
    }
    this.lastTurn = turn.turnNo;
    turn.charge(() => this.handleFrame(data, isBinary));
  }

  /** Handles up to `max` queued frames (this connection's turn); true if it should wait for another. */
  serve(max: number): boolean {
    let n = 0;
    while (n++ < max && this.queued.length > 0 && this.throttled === null && !this.closing) {
      const f = this.queued.shift()!;
      this.queuedBytes -= frameSize(f.data);
      this.handleFrame(f.data, f.isBinary);
    }
    if (this.closing || this.throttled !== null) return false; // the throttle's end puts it back in line
    if (this.queued.length > 0) return true;
    this.ws.resume();
    return false;
  }

  private handleFrame(data: RawData, isBinary: boolean): void {
    if (this.closing) return;
    try {
      const balance = this.frameBucket.owe(1);
      if (balance < 0) {
        if (balance < -this.host.options.frames.burst) {
          this.sendError('rate-limited', 'too many frames, closing', CloseCode.policy);
        } else {
          this.sendError('rate-limited', `too many frames: at most ${this.host.options.frames.rate} a second; this one was dropped`);
        }
        return;
      }
      // Frames per address: over the rate, this frame is still handled, then reading from
      // this socket pauses until the bucket has refilled (TCP pushes back on the sender), and
      // frames already read meanwhile wait in `queued` (onFrame). Nothing is lost.
      const spec = this.host.options.addressFrames;
      const owed = this.host.oweAddressFrame(this.address);
      if (owed < 0) this.throttle(Math.ceil((-owed / spec.rate) * 1000));
      this.addressLimited = false;
      if (isBinary) {
        this.sendError('bad-message', 'binary frames are not part of the protocol: send JSON text');
        return;
      }
      const text = Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Array.isArray(data)
          ? Buffer.concat(data).toString('utf8')
          : Buffer.from(data).toString('utf8');
      const r = decodeClientMessage(text);
      if (!r.ok) {
        if (r.error.code === 'protocol-version') this.sendError(r.error.code, r.error.message, CloseCode.protocolError);
        else this.sendError(r.error.code, r.error.message);
        return;
      }
      this.route(r.value);
    } catch (e) {
      // A bug, not the client's fault; it must not take the process down.
      this.host.options.log.error(`handling a frame from ${this.client || 'unknown client'} threw: ${(e as Error).stack ?? String(e)}`);
      this.sendError('bad-message', 'the server could not handle this message');
    }
  }

  /**
   * Stops reading this socket for `ms` (the kernel's buffers then push back on the sender).
   * Already paused, the pause is lengthened if `ms` ends later: a frame can owe both the
   * frame bucket and the read budget, and the longer debt decides.
   */
  private throttle(ms: number): void {
    if (this.closing) return;
    const until = performance.now() + ms;
    if (this.throttled !== null) {
      if (until <= this.throttledUntil) return;
      clearTimeout(this.throttled);
    } else {
      this.ws.pause();
      this.host.turn.leave(this);
    }
    this.throttledUntil = until;
    this.throttled = setTimeout(() => {
      this.throttled = null;
      if (this.closing) return;
      // What was read meanwhile is handled in turns, like any backlog.
      if (this.queued.length > 0) this.host.turn.wait(this);
      else this.ws.resume();
    }, ms);
    this.throttled.unref();
  }

  private route(msg: ClientMessage): void {
    switch (msg.type) {
      case 'hello':
        return this.hello(msg);
      case 'ping':
        return this.sendRaw(encodeServerMessage({ type: 'pong', t: msg.t }));
      default:
        break;
    }
    const room = this.room;
    if (room === null) {
      this.sendError('not-joined', `send hello before ${msg.type}`);
      return;
    }
    // Checked on every message: the role was fixed by the hello, for this room only.
    switch (msg.type) {
      case 'submit':
        if (this.role !== 'edit') {
          this.sendError('read-only', 'this connection joined with a view link: it cannot change the document; nothing was stored');
          return;
        }
        return this.submit(room, msg);
      case 'presence':
        return room.presence(this, msg.cursor, msg.user);
      case 'history':
        try {
          // Reads are budgeted by cost, per address: the page is answered, its events are
          // charged, and a debt pauses reading for as long as the budget takes to repay it,
          // so this address's next pages wait instead of taking the CPU from everyone else.
          const sent = room.history(this, msg);
          const owed = this.host.oweAddressReads(this.address, sent);
          if (owed < 0) this.throttle(Math.ceil((-owed / this.host.options.addressReads.rate) * 1000));
        } catch (e) {
          this.host.options.log.error(`history of ${room.docId} failed: ${(e as Error).message}`);
          this.sendError('store-failed', 'the history could not be read; try again');
        }
        return;
    }
  }

  private hello(msg: HelloMessage): void {
    if (this.room !== null) {
      this.sendError('already-joined', `this connection is already in document ${this.room.docId}; open another to join another`);
      return;
    }
    if (this.host.shuttingDown) {
      this.sendError('server-shutting-down', 'the server is shutting down; reconnect shortly', CloseCode.goingAway);
      return;
    }
    let access: Result<Role, CodedError<AccessErrorCode>>;
    try {
      access = this.host.authorize({ docId: msg.docId, token: msg.token, create: msg.create === true, address: this.address });
    } catch (e) {
      this.host.options.log.error(`access check of ${msg.docId} failed: ${(e as Error).stack ?? String(e)}`);
      this.sendError('store-failed', 'the document could not be loaded; try again');
      return;
    }
    if (!access.ok) {
      this.sendError(access.error.code, access.error.message, CloseCode.policy);
      return;
    }
    this.role = access.value;
    let room: Room;
    try {
      room = this.host.openRoom(msg.docId);
    } catch (e) {
      this.host.options.log.error(`loading ${msg.docId} failed: ${(e as Error).stack ?? String(e)}`);
      this.sendError('store-failed', 'the document could not be loaded; try again');
      return;
    }
    this.client = msg.client;
    this.user = msg.user;
    let joined;
    try {
      joined = room.join(this, msg.last);
    } catch (e) {
      this.host.releaseRoom(room);
      this.host.options.log.error(`catch-up of ${msg.docId} failed: ${(e as Error).stack ?? String(e)}`);
      this.sendError('store-failed', 'the document could not be read; try again');
      return;
    }
    if (!joined.ok) {
      this.host.releaseRoom(room);
      this.sendError(joined.error.code, joined.error.message, CloseCode.policy);
      return;
    }
    this.room = room;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.helloTimer = null;
  }

  private submit(room: Room, msg: SubmitMessage): void {
    if (this.host.shuttingDown) {
      this.sendError('server-shutting-down', 'the server is shutting down: nothing was stored; resend after reconnecting');
      return;
    }
    if (!this.eventBucket.take(msg.events.length)) {
      this.sendError('rate-limited', `too many events: at most ${this.host.options.events.rate} a second; nothing was stored, resend later`);
      return;
    }
    let r;
    try {
      r = room.submit(this, { base: msg.base, events: msg.events });
    } catch (e) {
      this.host.options.log.error(`sequencing in ${room.docId} failed: ${(e as Error).stack ?? String(e)}`);
      this.sendError('store-failed', 'the server could not read the log; nothing was stored, resend later');
      return;
    }
    if (!r.ok) {
      this.sendError(r.error.code, r.error.message);
      return;
    }
    this.host.commit(r.value);
  }
}
