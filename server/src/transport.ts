/**
 * One WebSocket as a transport: frames in, text out, and the flow control between.
 * This is the edge where untrusted bytes arrive, so its rule is S1: any frame gets
 * either a message handed on (connection.ts routes it), an `error` with a stable code,
 * or a close with a stated code, and nothing it contains can throw past this file.
 *
 *   - frames over 1 MiB never reach us: `ws` (maxPayload) closes with 1009;
 *   - binary frames, bad JSON, unknown types and wrong shapes are refused, not fatal;
 *     a hello of another protocol version is fatal (close 1002);
 *   - frames beyond the connection's frame bucket are dropped (rate-limited); a
 *     connection that keeps flooding is closed with 1008;
 *   - the address's frame bucket (and, through `pauseFor`, its read budget) push back
 *     instead: over them the frame is still handled, then reading pauses, and what `ws`
 *     had already read waits in order (bounded; beyond the bound it is dropped unparsed);
 *   - frame handling spends from the hub's fair turns (turn-budget.ts): past a turn's
 *     slice, a connection's frames wait in line and are served a few at a time;
 *   - output: `backlog` is what waits unsent, and `whenDrained` says when it has shrunk
 *     (the room's send budget, fan-out.ts, moves a connection behind and back, K15); one
 *     whose unsent output still passes `maxBufferedBytes` cannot keep up and is
 *     terminated (it re-syncs), rather than buffered without end (K11);
 *   - liveness: `alive` is cleared by the hub's heartbeat ping and set by the pong.
 */
import type { WebSocket, RawData } from 'ws';
import { decodeClientMessage, encodeServerMessage, type ClientMessage, type ErrorCode } from '../../shared/src/index.js';
import { TokenBucket } from './limits/token-bucket.js';
import type { SyncOptions } from './options.js';
import type { TurnBudget, Waiting } from './limits/turn-budget.js';

/** WebSocket close codes the server uses (docs/protocol.md). */
export const CloseCode = {
  goingAway: 1001,
  protocolError: 1002,
  policy: 1008,
  tooBig: 1009,
  serverError: 1011,
} as const;

/** What a transport needs from the hub: the limits it shares with the other connections. */
export interface TransportHost {
  readonly options: SyncOptions;
  /** Spends one of `address`'s frame tokens (all its connections share them); returns how long to pause reading (ms, 0: none). */
  chargeAddressFrame(address: string): number;
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

/**
 * A WebSocket with flow control. Promises: messages reach `receive` in the order their
 * frames arrived, one at a time, never after `close`; nothing is sent on a socket that
 * is not open; and `closed` runs once, when the socket has closed.
 */
export abstract class Transport implements Waiting {
  /** Cleared when a ping goes out, set by the pong. */
  alive = true;
  private closing = false;
  private readonly frameBucket: TokenBucket;
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
    private readonly transportHost: TransportHost,
    /** The remote address (for per-address limits). */
    readonly address = '',
  ) {
    this.frameBucket = new TokenBucket(transportHost.options.frames);
    ws.on('error', (e) => {
      // ws closes the socket itself (1009 for an oversized frame, 1002 for a bad one).
      transportHost.options.log.info(`socket error: ${e.message}`);
    });
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('close', () => {
      this.closing = true;
      if (this.throttled) clearTimeout(this.throttled);
      if (this.drainWatch !== null) clearInterval(this.drainWatch);
      transportHost.turn.leave(this);
      this.queued = [];
      this.queuedBytes = 0;
      this.closed();
    });
  }

  /** A valid message from the peer, in arrival order. A throw is a bug: it is logged and answered with bad-message. */
  protected abstract receive(msg: ClientMessage): void;

  /** The socket has closed (once). */
  protected abstract closed(): void;

  /** Who this is, for log lines. */
  protected abstract describe(): string;

  /** Bytes given to `ws` and not yet to the kernel. */
  get backlog(): number {
    return this.ws.bufferedAmount;
  }

  /** Watching the backlog for `whenDrained` (one watch at a time: the last call wins). */
  private drainWatch: NodeJS.Timeout | null = null;

  /**
   * Calls `then` once the backlog is at `below` bytes or less, checked every 20 ms (ws
   * has no drain event of its own); never if the connection closes first.
   */
  whenDrained(below: number, then: () => void): void {
    if (this.drainWatch !== null) clearInterval(this.drainWatch);
    this.drainWatch = setInterval(() => {
      if (this.closing || this.ws.readyState !== OPEN) {
        clearInterval(this.drainWatch!);
        this.drainWatch = null;
        return;
      }
      if (this.ws.bufferedAmount > below) return;
      clearInterval(this.drainWatch!);
      this.drainWatch = null;
      then();
    }, 20);
    this.drainWatch.unref();
  }

  /** Sends a frame: text (JSON) as a text frame, bytes (a welcome, a history page) as a binary one. */
  sendRaw(data: string | Uint8Array): void {
    const ws = this.ws;
    if (ws.readyState !== OPEN) return;
    if (ws.bufferedAmount > this.transportHost.options.maxBufferedBytes) {
      // Too slow to keep up: dropping it is kinder than buffering without end; it re-syncs.
      this.transportHost.options.log.warn(`dropping a connection of ${this.describe()}: ${ws.bufferedAmount} bytes unsent`);
      ws.terminate();
      return;
    }
    ws.send(data);
  }

  /** Sends an error; a fatal one is followed by a close with `closeCode`. */
  sendError(code: ErrorCode, message: string, closeCode?: number): void {
    this.sendRaw(encodeServerMessage({ type: 'error', code, message, fatal: closeCode !== undefined }));
    if (closeCode !== undefined) this.close(closeCode, code);
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.transportHost.turn.leave(this);
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
    const turn = this.transportHost.turn;
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
    const { options } = this.transportHost;
    try {
      const balance = this.frameBucket.owe(1);
      if (balance < 0) {
        if (balance < -options.frames.burst) {
          this.sendError('rate-limited', 'too many frames, closing', CloseCode.policy);
        } else {
          this.sendError('rate-limited', `too many frames: at most ${options.frames.rate} a second; this one was dropped`);
        }
        return;
      }
      // Frames per address: over the rate, this frame is still handled, then reading from
      // this socket pauses until the bucket has refilled (TCP pushes back on the sender), and
      // frames already read meanwhile wait in `queued` (onFrame). Nothing is lost.
      const pause = this.transportHost.chargeAddressFrame(this.address);
      if (pause > 0) this.pauseFor(pause);
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
      this.receive(r.value);
    } catch (e) {
      // A bug, not the client's fault; it must not take the process down.
      options.log.error(`handling a frame from ${this.describe()} threw: ${(e as Error).stack ?? String(e)}`);
      this.sendError('bad-message', 'the server could not handle this message');
    }
  }

  /**
   * Stops reading this socket for `ms` (the kernel's buffers then push back on the sender).
   * Already paused, the pause is lengthened if `ms` ends later: a frame can owe both the
   * frame bucket and the read budget, and the longer debt decides.
   */
  pauseFor(ms: number): void {
    if (this.closing) return;
    const until = performance.now() + ms;
    if (this.throttled !== null) {
      if (until <= this.throttledUntil) return;
      clearTimeout(this.throttled);
    } else {
      this.ws.pause();
      this.transportHost.turn.leave(this);
    }
    this.throttledUntil = until;
    this.throttled = setTimeout(() => {
      this.throttled = null;
      if (this.closing) return;
      // What was read meanwhile is handled in turns, like any backlog.
      if (this.queued.length > 0) this.transportHost.turn.wait(this);
      else this.ws.resume();
    }, ms);
    this.throttled.unref();
  }
}
