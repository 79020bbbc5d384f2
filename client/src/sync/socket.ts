/**
 * The connection under a `SyncClient`: at most one WebSocket to `/ws` at a time, watched
 * and replaced when it fails. It knows no documents; its owner says hello, reads the
 * messages, and forgets what belonged to a connection when it is dropped.
 *
 *   - Heartbeat: a ping every `pingEveryMs`; a connection that has said nothing for
 *     `deadAfterMs` is declared dead (silence is the only sign of some losses).
 *   - A lost connection is dropped at once and the owner is told (`lost`); when to open
 *     the next one is the session's decision (its backoff, shared/src/session/resync.ts),
 *     which the owner passes back as `reconnectAfter(ms)`.
 *   - The browser's `offline` event drops the socket at once (an emulated or real network
 *     loss need not close it); no reconnects are tried until `online`, which reconnects
 *     immediately.
 *   - A dropped socket's handlers are detached, and every handler checks it still belongs
 *     to the current socket: an old connection's last words must not reach the stream.
 */
import { encodeClientMessage, type ClientMessage } from '../../../shared/src/index.js';

/** The parts of the browser WebSocket used here (the `ws` package fits too, in tests). */
export interface SocketLike {
  readonly readyState: number;
  /** Set to 'arraybuffer': welcomes, history pages and live events are binary frames, read synchronously. */
  binaryType?: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
export type SocketFactory = (url: string) => SocketLike;

/** Where the network's state comes from (window in the browser; tests drive it). */
export interface NetworkLike {
  isOnline(): boolean;
  /** Calls `f` with the new state on each change; returns the unsubscribe. */
  watch(f: (online: boolean) => void): () => void;
}

/** The connection's settings (the `SyncClientOptions` fields of the same names). */
export interface SocketOptions {
  /** The WebSocket URL; by default `/ws` on the page's origin. */
  readonly url?: string;
  readonly socket?: SocketFactory;
  readonly network?: NetworkLike;
  readonly pingEveryMs?: number;
  readonly deadAfterMs?: number;
  /** Reconnect backoff (the session computes it): `backoffMinMs · 2^attempt` up to `backoffMaxMs`, with jitter from `random`. */
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
  readonly random?: () => number;
}

/** What the socket needs from the one it serves (the `SyncClient`). */
export interface SocketOwner {
  /** False once the server refused this copy for good: connecting cannot help. */
  mayConnect(): boolean;
  /** The current socket opened: say hello. */
  opened(): void;
  /** One message of the current socket. A throw is reported as `client-bug` and the connection is lost. */
  /** A frame: text as a string, a binary frame (a welcome, a history page) as bytes. */
  message(raw: string | Uint8Array): void;
  /** The current socket is being dropped: forget what belonged to its connection. */
  dropped(): void;
  /** The connection was lost (closed, silent, could not be made): decide when to reconnect (`reconnectAfter`). */
  lost(): void;
  /** The network came back: the next reconnect is immediate and the backoff starts over. */
  networkBack(): void;
  /** Records a problem for the snapshot's `errors`. */
  problem(code: string, message: string): void;
  /** Something the snapshot shows may have changed. */
  changed(): void;
}

const OPEN = 1;
const CONNECTING = 0;

export class ReconnectingSocket {
  private readonly o: SocketOptions;
  private readonly owner: SocketOwner;
  private readonly url: string;
  private readonly socketFactory: SocketFactory;
  private readonly network: NetworkLike;
  private readonly unwatch: () => void;

  private ws: SocketLike | null = null;
  private closed = false;
  private started = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private lastHeard = 0;
  private lastPing = 0;

  constructor(options: SocketOptions, owner: SocketOwner) {
    this.o = options;
    this.owner = owner;
    this.url = options.url ?? defaultUrl();
    this.socketFactory = options.socket ?? ((url) => new WebSocket(url) as unknown as SocketLike);
    this.network = options.network ?? browserNetwork();
    this.unwatch = this.network.watch((online) => (online ? this.wentOnline() : this.wentOffline()));
  }

  /** `close()` was called: no socket will be opened again. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** A socket exists (open or still connecting). */
  hasSocket(): boolean {
    return this.ws !== null;
  }

  /** The current socket is open (messages can be sent). */
  isOpen(): boolean {
    return this.ws !== null && this.ws.readyState === OPEN;
  }

  /** Starts the heartbeat and, if the browser says it is online, connects. Once. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.heartbeat = setInterval(() => this.beat(), Math.min(this.pingEveryMs, this.deadAfterMs) / 2);
    if (this.network.isOnline()) this.connect();
  }

  /** Stops for good: no more network events, timers or reconnects; drops the socket. */
  close(): void {
    this.closed = true;
    this.unwatch();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.drop();
  }

  /** Sends on the current socket if it is open; otherwise the message is not sent. */
  send(msg: ClientMessage): void {
    const ws = this.ws;
    if (ws === null || ws.readyState !== OPEN) return;
    ws.send(encodeClientMessage(msg));
  }

  private get pingEveryMs(): number {
    return this.o.pingEveryMs ?? 10_000;
  }

  private get deadAfterMs(): number {
    return this.o.deadAfterMs ?? 25_000;
  }

  private connect(): void {
    this.reconnectTimer = null;
    if (this.closed || !this.owner.mayConnect() || this.ws !== null) return;
    let ws: SocketLike;
    try {
      ws = this.socketFactory(this.url);
    } catch (e) {
      this.owner.problem('connect', (e as Error).message);
      this.lost();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.lastHeard = Date.now();
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.lastHeard = Date.now();
      this.owner.opened();
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return; // a dropped socket's last words
      this.lastHeard = Date.now();
      try {
        this.owner.message(frameOf(ev.data));
      } catch (e) {
        this.owner.problem('client-bug', (e as Error).message);
        this.lost();
      }
      this.owner.changed();
    };
    ws.onclose = () => {
      if (ws !== this.ws) return;
      this.lost();
    };
    ws.onerror = () => {
      /* onclose follows */
    };
    this.owner.changed();
  }

  /** Drops the current socket (its later messages are ignored). */
  drop(): void {
    const ws = this.ws;
    this.ws = null;
    this.owner.dropped();
    if (ws) {
      ws.onmessage = null;
      ws.onopen = null;
      ws.onclose = null;
      try {
        if (ws.readyState === OPEN || ws.readyState === CONNECTING) ws.close();
      } catch {
        /* already closing */
      }
    }
  }

  /** The connection is gone or unusable: drop it and let the owner decide when to reconnect. */
  lost(): void {
    this.drop();
    this.owner.lost();
    this.owner.changed();
  }

  /** Drops the current socket and opens the next one after `ms` (unless closed, refused for good, or offline: `online` reconnects). */
  reconnectAfter(ms: number): void {
    this.drop();
    if (this.closed || !this.owner.mayConnect() || this.reconnectTimer) return;
    if (!this.network.isOnline()) return;
    this.reconnectTimer = setTimeout(() => this.connect(), ms);
  }

  private reconnectNow(): void {
    this.drop();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.owner.networkBack();
    if (this.network.isOnline()) this.connect();
    this.owner.changed();
  }

  private wentOffline(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.drop();
    this.owner.changed();
  }

  private wentOnline(): void {
    if (this.closed || !this.started) return;
    if (this.ws === null) this.reconnectNow();
  }

  private beat(): void {
    const ws = this.ws;
    if (ws === null || this.closed) return;
    const now = Date.now();
    if (now - this.lastHeard > this.deadAfterMs) {
      this.owner.problem('timeout', `no word from the server for ${Math.round((now - this.lastHeard) / 1000)} s`);
      this.lost();
      return;
    }
    if (ws.readyState === OPEN && now - this.lastPing >= this.pingEveryMs) {
      this.lastPing = now;
      this.send({ type: 'ping', t: now });
    }
  }
}

function defaultUrl(): string {
  const loc = globalThis.location;
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
}

function browserNetwork(): NetworkLike {
  return {
    isOnline: () => (typeof navigator === 'undefined' ? true : navigator.onLine !== false),
    watch(f) {
      if (typeof window === 'undefined') return () => {};
      const on = () => f(true);
      const off = () => f(false);
      window.addEventListener('online', on);
      window.addEventListener('offline', off);
      return () => {
        window.removeEventListener('online', on);
        window.removeEventListener('offline', off);
      };
    },
  };
}

/** A message event's data as the session takes it: text as is, binary frames as bytes (never a Blob: binaryType is 'arraybuffer'). */
function frameOf(data: unknown): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return String(data);
}
