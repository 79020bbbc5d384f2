/**
 * A sync client for tests: the core's `ClientSession` (shared/src/session) over a real
 * `ws` WebSocket. The session decides everything a client does on `/ws` (hello,
 * catch-up, the stream, batches, re-sync); this shell carries its effects out: sends,
 * reconnect timers, and the records the tests check: every ack seen (id → seq), every
 * error code, and a fatal problem (divergence, an undecodable frame, a protocol
 * error), which a correct server never causes.
 */
import WebSocket from 'ws';
import {
  ClientSession,
  ClientState,
  decodeServerFrame,
  encodeClientMessage,
  idKey,
  type ClientMessage,
  type EventKind,
  type Op,
  type ServerMessage,
  type SessionEffect,
  type User,
} from '../../../shared/src/index.js';
import { testToken } from './tokens.js';

export interface WsClientOptions {
  /** The server's /ws URL; a function is asked again at every (re)connect (a client roaming over several nodes). */
  url: string | (() => string);
  docId: string;
  client: string;
  user?: User;
  /** Most events per submit (the protocol allows 1000). */
  maxBatch?: number;
  /** Reconnect backoff: min·2^attempt up to max, with jitter from `random`. */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  random?: () => number;
  /** The link's token; by default the test edit token of `docId` (helpers/tokens.ts). */
  token?: string;
  /** Register the document if it is new (default true: test clients create what they join). */
  create?: boolean;
}

/** Codes a correct client never provokes: the test fails on them. */
const BUG_CODES = new Set(['protocol-version', 'not-joined', 'already-joined']);

export class WsClient {
  ws: WebSocket | null = null;
  stopped = true;
  /** Every ack received: idKey → seq. */
  readonly acks = new Map<string, number>();
  /** Error codes received (and `gap`s of the stream), in order. */
  readonly errors: string[] = [];
  /** Close codes seen. */
  readonly closes: number[] = [];
  /** Presence and other messages the stream does not consume, for tests to look at. */
  readonly others: ServerMessage[] = [];
  keepOthers = false;
  /** Set when the client saw something a correct server never sends. */
  fatal: string | null = null;
  connects = 0;
  welcomes = 0;
  checkpointsUsed = 0;
  historyFetches = 0;
  readonly session: ClientSession;
  private timer: NodeJS.Timeout | null = null;
  private readonly waiters = new Set<() => void>();

  constructor(readonly opts: WsClientOptions) {
    this.session = new ClientSession({
      docId: opts.docId,
      state: new ClientState({ client: opts.client, author: opts.user?.name ?? opts.client }),
      token: opts.token ?? testToken(opts.docId),
      create: opts.create !== false,
      maxBatch: opts.maxBatch ?? 200,
      backoff: { minMs: opts.backoffMinMs ?? 20, maxMs: opts.backoffMaxMs ?? 500 },
      random: opts.random ?? Math.random,
    });
  }

  /** The session's state (the document as this client has it). */
  get state(): ClientState {
    return this.session.state;
  }

  /** Caught up on the current connection: submits may go out. */
  get ready(): boolean {
    return this.session.ready;
  }

  get user(): User {
    return this.opts.user ?? { name: this.opts.client, color: '#888' };
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Stops reconnecting and closes the socket. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.drop();
    this.session.dropped();
  }

  /** A local edit on the live text; sent at once when caught up. */
  edit(op: Op, kind: EventKind = 'edit'): boolean {
    const r = this.session.edit(op, kind);
    if (!r.ok) return false;
    this.flush();
    return true;
  }

  /** Sends everything unsent in the outbox, in batches. */
  flush(): void {
    this.run(this.session.pump());
  }

  send(msg: ClientMessage): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(encodeClientMessage(msg));
  }

  /** Resolves when `pred` holds (checked after every message), or rejects after `ms`. */
  waitFor(pred: () => boolean, ms = 20_000, what = 'condition'): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.fatal) {
          done();
          reject(new Error(`${this.opts.client}: ${this.fatal}`));
        } else if (pred()) {
          done();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.opts.client}: timed out waiting for ${what} (seq ${this.state.confirmedSeq}, outbox ${this.state.pending.length}, ready ${this.ready}, errors ${this.errors.slice(-5).join(',')})`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  private connect(): void {
    this.timer = null;
    if (this.stopped || this.session.fatal !== null) return;
    const ws = new WebSocket(typeof this.opts.url === 'function' ? this.opts.url() : this.opts.url);
    this.ws = ws;
    this.connects++;
    ws.on('error', () => {}); // 'close' follows and handles it
    ws.on('open', () => {
      if (ws !== this.ws) return;
      this.run(this.session.opened(this.user));
    });
    ws.on('message', (data, isBinary) => {
      if (ws !== this.ws) return; // a dropped socket's last words
      try {
        this.onMessage(frameData(data, isBinary));
      } catch (e) {
        this.fatal = `handler threw: ${(e as Error).stack}`;
      }
      this.notify();
    });
    ws.on('close', (code) => {
      this.closes.push(code);
      if (ws !== this.ws) return;
      this.ws = null;
      this.run(this.session.lost());
      this.notify();
    });
  }

  /** Closes the current socket (its later messages are ignored) without scheduling. */
  private drop(): void {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.removeAllListeners('message');
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close();
    }
  }

  private onMessage(raw: string | Uint8Array): void {
    const r = decodeServerFrame(raw);
    if (!r.ok) {
      this.fatal = `undecodable server message: ${r.error.message}`;
      return;
    }
    const msg = r.value;
    if (msg.type === 'welcome') {
      this.welcomes++;
    } else if (msg.type === 'ack') {
      this.acks.set(idKey(msg.id), msg.seq);
    } else if (msg.type === 'events') {
      // Own events in the shared stream are their acks (P5).
      for (const e of msg.events) if (e.id.client === this.session.client) this.acks.set(idKey(e.id), e.seq);
    }
    const wasHolding = this.session.holding;
    this.run(this.session.take(msg, Date.now()));
    if (msg.type === 'welcome' && !wasHolding && this.session.holding) this.historyFetches++;
  }

  /** Carries out the session's effects. */
  private run(effects: readonly SessionEffect[]): void {
    for (const e of effects) {
      switch (e.type) {
        case 'send':
          this.send(e.message);
          break;
        case 'reconnect':
          this.drop();
          if (!this.stopped && this.timer === null) this.timer = setTimeout(() => this.connect(), e.afterMs);
          break;
        case 'close':
          this.drop();
          break;
        case 'reset':
          this.checkpointsUsed++;
          break;
        case 'problem':
          if (e.source === 'decode') this.fatal = e.message;
          else if (e.source === 'server') {
            this.errors.push(e.code);
            if (BUG_CODES.has(e.code)) this.fatal = `error ${e.code}: ${e.message}`;
          } else {
            this.errors.push(e.code);
            if (e.code !== 'gap') {
              this.fatal = `${e.code}: ${e.message}`;
              this.stopped = true;
            }
          }
          break;
        case 'other':
          if (this.keepOthers) this.others.push(e.message);
          break;
        default:
          break;
      }
    }
  }
}

/** A `ws` message as the session takes it: a text frame as a string, a binary frame (a welcome, a history page) as bytes. */
export function frameData(data: WebSocket.RawData, isBinary: boolean): string | Uint8Array {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? Buffer.from(data) : data;
  return isBinary ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) : bytes.toString();
}
