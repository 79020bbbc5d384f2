/**
 * A sync client for tests: the core's ClientState over a real `ws` WebSocket, doing
 * what the browser's sync client will do (docs/protocol.md, "Re-sync"):
 *
 *   - on open: hello with the confirmed seq; nothing is submitted before the welcome;
 *   - the welcome catches up: its events go into the state; a checkpoint replaces the
 *     state when the outbox is empty, otherwise the missing events are fetched with
 *     history requests first (an outbox can only be rebased over events);
 *   - then the outbox goes out in batches (several may be in flight), and every local
 *     edit after that;
 *   - the stream (events and acks) is taken strictly in seq order; a gap, any error
 *     message, or a closed socket means: drop the socket, back off, reconnect, re-sync.
 *
 * It records what the tests check: every ack seen (id → seq), every error code, and
 * a fatal problem (divergence), which a correct server never causes.
 */
import WebSocket from 'ws';
import {
  ClientState,
  PROTOCOL_VERSION,
  decodeServerMessage,
  encodeClientMessage,
  idKey,
  type ClientMessage,
  type DocEvent,
  type EventKind,
  type Op,
  type ServerMessage,
  type User,
  type WelcomeMessage,
} from '../../../shared/src/index.js';
import { testToken } from './tokens.js';

export interface WsClientOptions {
  url: string;
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

export class WsClient {
  state: ClientState;
  ws: WebSocket | null = null;
  /** Caught up on the current connection: submits may go out. */
  ready = false;
  stopped = true;
  /** Every ack received: idKey → seq. */
  readonly acks = new Map<string, number>();
  /** Error codes received, in order. */
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
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private catchUp: { welcome: WelcomeMessage; buffered: ServerMessage[]; reqId: number } | null = null;
  private nextReqId = 1;
  private readonly waiters = new Set<() => void>();

  constructor(readonly opts: WsClientOptions) {
    this.state = new ClientState({ client: opts.client, author: opts.user?.name ?? opts.client });
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
  }

  /** A local edit on the live text; sent at once when caught up. */
  edit(op: Op, kind: EventKind = 'edit'): boolean {
    const r = this.state.edit(op, kind);
    if (!r.ok) return false;
    this.flush();
    return true;
  }

  /** Sends everything unsent in the outbox, in batches. */
  flush(): void {
    if (!this.ready || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    for (;;) {
      const batch = this.state.takeBatch(this.opts.maxBatch ?? 200);
      if (!batch) return;
      this.send({ type: 'submit', base: batch.base, events: batch.events as never });
    }
  }

  send(msg: ClientMessage): void {
    this.ws?.send(encodeClientMessage(msg));
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
    if (this.stopped) return;
    this.timer = null;
    const ws = new WebSocket(this.opts.url);
    this.ws = ws;
    this.connects++;
    ws.on('error', () => {}); // 'close' follows and handles it
    ws.on('open', () => {
      if (ws !== this.ws) return;
      this.send({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        docId: this.opts.docId,
        client: this.opts.client,
        user: this.user,
        last: this.state.confirmedSeq,
        token: this.opts.token ?? testToken(this.opts.docId),
        ...(this.opts.create === false ? {} : { create: true }),
      });
    });
    ws.on('message', (data) => {
      if (ws !== this.ws) return; // a dropped socket's last words
      try {
        this.onMessage(String(data));
      } catch (e) {
        this.fatal = `handler threw: ${(e as Error).stack}`;
      }
      this.notify();
    });
    ws.on('close', (code) => {
      this.closes.push(code);
      if (ws !== this.ws) return;
      this.ws = null;
      this.lost();
    });
  }

  /** Drops the current socket (its later messages are ignored) without scheduling. */
  private drop(): void {
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    this.catchUp = null;
    this.state.disconnected();
    if (ws) {
      ws.removeAllListeners('message');
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close();
    }
  }

  /** The connection is gone (closed, refused, or dropped by us): reconnect after a backoff. */
  private lost(): void {
    this.drop();
    if (this.stopped || this.timer) return;
    const min = this.opts.backoffMinMs ?? 20;
    const max = this.opts.backoffMaxMs ?? 500;
    const delay = Math.min(max, min * 2 ** this.attempt) * (0.5 + (this.opts.random ?? Math.random)());
    this.attempt = Math.min(this.attempt + 1, 16);
    this.timer = setTimeout(() => this.connect(), delay);
    this.notify();
  }

  private onMessage(raw: string): void {
    const r = decodeServerMessage(raw);
    if (!r.ok) {
      this.fatal = `undecodable server message: ${r.error.message}`;
      return;
    }
    const msg = r.value;
    if (msg.type === 'error') {
      this.errors.push(msg.code);
      if (msg.code === 'protocol-version' || msg.code === 'not-joined' || msg.code === 'already-joined') {
        this.fatal = `error ${msg.code}: ${msg.message}`;
      }
      this.lost(); // re-sync: reconnect, catch up, resend
      return;
    }
    if (this.catchUp && msg.type !== 'history-page') {
      this.catchUp.buffered.push(msg);
      return;
    }
    this.take(msg);
  }

  private take(msg: ServerMessage): void {
    switch (msg.type) {
      case 'welcome':
        return this.welcome(msg);
      case 'events':
        this.stream(this.state.receive(msg.events));
        return;
      case 'ack':
        this.acks.set(idKey(msg.id), msg.seq);
        this.stream(this.state.ack(msg.id, msg.seq));
        return;
      case 'history-page': {
        const cu = this.catchUp;
        if (!cu || msg.reqId !== cu.reqId) {
          if (this.keepOthers) this.others.push(msg);
          return;
        }
        if (!this.stream(this.state.receive(msg.events))) return;
        if (msg.next !== null && this.state.confirmedSeq < (cu.welcome.checkpoint?.seq ?? 0)) {
          this.requestHistory(cu, msg.next, cu.welcome.checkpoint!.seq);
          return;
        }
        this.catchUp = null;
        if (!this.stream(this.state.receive(cu.welcome.events))) return;
        this.caughtUp();
        for (const m of cu.buffered) if (this.ws) this.take(m);
        return;
      }
      default:
        if (this.keepOthers) this.others.push(msg);
    }
  }

  private welcome(msg: WelcomeMessage): void {
    this.welcomes++;
    const cp = msg.checkpoint;
    if (cp !== null && cp.seq > this.state.confirmedSeq) {
      if (this.state.pending.length === 0) {
        this.checkpointsUsed++;
        this.state = new ClientState({
          client: this.state.client,
          author: this.state.author,
          checkpoint: cp,
          tail: msg.events as DocEvent[],
          nextClientSeq: this.state.nextClientSeq,
        });
        this.caughtUp();
        return;
      }
      // An outbox can only be rebased over events: fetch the ones the checkpoint skips.
      this.historyFetches++;
      const cu = { welcome: msg, buffered: [], reqId: 0 };
      this.catchUp = cu;
      this.requestHistory(cu, this.state.confirmedSeq, cp.seq);
      return;
    }
    if (!this.stream(this.state.receive(msg.events))) return;
    this.caughtUp();
  }

  private requestHistory(cu: { reqId: number }, from: number, to: number): void {
    cu.reqId = this.nextReqId++;
    this.send({ type: 'history', reqId: cu.reqId, from, to, limit: 1000 });
  }

  private caughtUp(): void {
    this.ready = true;
    this.attempt = 0;
    this.flush();
  }

  /** Applies a stream result: a gap re-syncs, anything else unexpected is fatal. */
  private stream(r: { ok: boolean; error?: { code: string; message: string } }): boolean {
    if (r.ok) return true;
    if (r.error!.code === 'gap') {
      this.errors.push('gap');
      this.lost();
      return false;
    }
    this.fatal = `${r.error!.code}: ${r.error!.message}`;
    this.stop();
    return false;
  }
}
