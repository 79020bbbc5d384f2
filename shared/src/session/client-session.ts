/**
 * A client's sync session, as a pure state machine: one document over a sequence of
 * connections. Messages come in (`opened`, `receive`/`take`, `lost`, `pump`), and
 * messages plus effects (effects.ts) go out; the shell (the browser's sync client, the
 * Node test client, the bench's load client, the simulated network of the fuzz) owns
 * the socket, the timers and the store, and only carries the effects out. This is the
 * reference for what a client does on `/ws` (docs/protocol.md).
 *
 * A connection's life. `opened` says hello with the confirmed seq. Nothing is sent
 * before the welcome has caught the session up; then the outbox goes out in batches
 * (several in flight, each event only once the shell's store holds it, `sendableUpTo`),
 * and the stream (events, acks) is taken strictly in seq order (`ClientState`). A gap,
 * an ack that does not fit, an error message, an undecodable frame or a lost socket
 * all end the connection the same way: forget what belonged to it, reconnect after a
 * backoff, catch up, resend the whole outbox (resync.ts decides which errors are fatal
 * instead). The session ignores whatever a dropped connection still delivers.
 *
 * The catch-up rule, and why there is one. A welcome brings either the events after the
 * hello's `last`, or (for a new or far-behind client) a server checkpoint and the events
 * after it. The checkpoint is used only when this client has nothing at all: confirmed
 * seq 0 and an empty outbox. In every other case the events the checkpoint skips
 * (`last` … `checkpoint.seq`) are fetched with `history` requests, page after page, and
 * the stream is held back meanwhile (its messages are kept and taken, in order, once
 * the welcome's own events are in). Two reasons, one per half of the state:
 *
 *   - An outbox can only move forward over events: rebasing needs the ops it is
 *     rebased over, and a checkpoint is a text, not ops. A client that jumped to a
 *     checkpoint with events pending would send them made on a text the server never
 *     had at their base.
 *   - Confirmed events are not a cache to throw away either. The browser keeps them:
 *     the stored tail in IndexedDB, the local history (undo far back, the history panel
 *     before the server answers). A checkpoint at seq 1,800 over a client confirmed at
 *     900 would leave events 901 … 1,800 missing there for good: a hole that nothing
 *     later fills, since the stream only ever continues from the head.
 *
 * A fresh client loses nothing by starting from the checkpoint (it has no events to
 * keep), and that is the case the server's checkpoint welcome exists for. An earlier
 * version of the Node test client also took it whenever the outbox was empty: correct
 * for its texts, but it is exactly the hole above, and two rules meant the fuzz proved
 * one and the browser ran the other.
 *
 * Acks carry no op and no base: the outbox head is confirmed in the form the client
 * holds (the server computed the same, sequencer.ts), and the base it was submitted
 * with is remembered per clientSeq until then, so the confirmed copy of an own event is
 * the log's (`time` from the ack, or the caller's clock for an ack without it).
 */
import type { Op } from '../op/op.js';
import { diffOp } from '../op/diff.js';
import type { DocEvent, EventId, EventKind, EventMeta, LocalEvent } from '../log/event.js';
import { ClientState, type ClientErrorCode, type LiveChange } from '../sync/client-state.js';
import {
  PROTOCOL_VERSION,
  SHORTEST_BATCH_MS,
  protocolLimits,
  type ClientMessage,
  type HistoryPageMessage,
  type ServerMessage,
  type User,
  type WelcomeMessage,
} from '../protocol/messages.js';
import { decodeServerFrame } from '../protocol/frames.js';
import type { CodedError, Result } from '../result.js';
import type { Role } from '../access/capability.js';
import type { SessionEffect } from './effects.js';
import { backoffDelay, isFatalError, MAX_BACKOFF_ATTEMPT, type Backoff } from './resync.js';

/** What a session is made of. The functions are the shell's: the session calls them, never keeps their results. */
export interface ClientSessionOptions {
  readonly docId: string;
  /** The state to start from (restored from a store, or new). */
  readonly state: ClientState;
  /** The link's token, sent in every hello. */
  readonly token?: string;
  /** Send `create: true` in the hello (the browser that made the document; test clients). */
  readonly create?: boolean;
  /** Most events in one submit (at most the protocol's 1,000). */
  readonly maxBatch?: number;
  /** Events per catch-up history page (at most the protocol's 1,000). */
  readonly historyLimit?: number;
  readonly backoff?: Backoff;
  /** A number in [0, 1) for the backoff's jitter. */
  readonly random: () => number;
  /** The highest clientSeq the shell's store holds: later events wait (O1). Everything by default. */
  readonly sendableUpTo?: () => number;
  /**
   * The shell's clock, ms. With it, a session asked to batch (P22) also keeps `batchMs`
   * between its submits, and `pumpDelayMs` says when to call `pump` again; without it, only
   * the one-submit-in-flight rule holds.
   */
  readonly now?: () => number;
}

/** The default reconnect delays: 250 ms doubling to 10 s. */
export const DEFAULT_BACKOFF: Backoff = { minMs: 250, maxMs: 10_000 };

/** A welcome whose checkpoint skips events we need: fetching them, the stream held back. */
interface CatchingUp {
  readonly welcome: WelcomeMessage;
  readonly target: number;
  readonly held: ServerMessage[];
  reqId: number;
}

type Connection = 'none' | 'open' | 'closed';

export class ClientSession {
  readonly docId: string;
  private st: ClientState;
  private readonly o: ClientSessionOptions;
  private readonly maxBatch: number;
  private readonly historyLimit: number;
  private readonly backoff: Backoff;

  private conn: Connection = 'none';
  private caught = false;
  private catching: CatchingUp | null = null;
  private attempt = 0;
  private nextReqId = 1;
  private roleNow: Role | null = null;
  private fatalCode: string | null = null;
  /** Batch base of each sent event (by clientSeq), for the log's copy of acked events. */
  private readonly sentBase = new Map<number, number>();
  /** The server said this connection fell behind (P21): the stream stopped after this seq until a welcome. */
  private behindAt: number | null = null;
  /** The batching interval the server asked for (P22); 0: none. */
  private batchMsNow = 0;
  /** When the last submit went out (the shell's clock; only with `now`). */
  private lastSubmitAt = -Infinity;

  constructor(options: ClientSessionOptions) {
    this.o = options;
    this.docId = options.docId;
    this.st = options.state;
    this.maxBatch = Math.max(1, Math.min(options.maxBatch ?? 500, protocolLimits.maxEventsPerSubmit));
    this.historyLimit = Math.max(1, Math.min(options.historyLimit ?? protocolLimits.maxHistoryLimit, protocolLimits.maxHistoryLimit));
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  /** The state (replaced only by a `reset` effect). */
  get state(): ClientState {
    return this.st;
  }

  get client(): string {
    return this.st.client;
  }

  /** Caught up on an open connection: the stream is taken, submits go out. */
  get ready(): boolean {
    return this.conn === 'open' && this.caught;
  }

  /** A connection is open (said hello), caught up or not. */
  get connected(): boolean {
    return this.conn === 'open';
  }

  /** A welcome's skipped events are being fetched: the stream is held back. */
  get holding(): boolean {
    return this.catching !== null;
  }

  /** What the last welcome allowed (null before the first). */
  get role(): Role | null {
    return this.roleNow;
  }

  /**
   * The server is overloaded for this client (P21, P22): it said the connection fell
   * behind (until the welcome that catches it up), or asked editors to batch at longer than
   * the shortest interval (the one a crowd is held at, K20, K21, which delays no keystroke a
   * person would notice). Typing goes on; the sync status shows `slow`.
   */
  get slow(): boolean {
    return this.behindAt !== null || this.batchMsNow > SHORTEST_BATCH_MS;
  }

  /**
   * The batching interval the server asked for (0: none): the shell calls `pump` at most
   * this often. Meanwhile the session itself keeps one submit in flight at most.
   */
  get batchMs(): number {
    return this.batchMsNow;
  }

  /**
   * Asked to batch, with events waiting and nothing in flight: how long until `pump` would
   * send them (ms, with the `now` option). null when a pump is not what they wait for.
   */
  get pumpDelayMs(): number | null {
    if (this.batchMsNow === 0 || this.o.now === undefined || !this.ready) return null;
    const st = this.st;
    if (st.pending.some((p) => p.sent) || !st.pending.some((p) => !p.sent)) return null;
    return Math.max(0, this.lastSubmitAt + this.batchMsNow - this.o.now());
  }

  /** The code of the error that ended the session for good (null while it goes on). */
  get fatal(): string | null {
    return this.fatalCode;
  }

  /** A reqId no stream request uses, for the shell's own `history` requests on this connection. */
  newReqId(): number {
    return this.nextReqId++;
  }

  // ---- inputs ------------------------------------------------------------------------

  /** A new connection is open: hello with what we have. `user`: the name and colour to show. */
  opened(user: User): SessionEffect[] {
    if (this.fatalCode !== null) return [{ type: 'close' }];
    this.forget();
    this.conn = 'open';
    return [
      {
        type: 'send',
        message: {
          type: 'hello',
          protocol: PROTOCOL_VERSION,
          docId: this.docId,
          client: this.st.client,
          user,
          last: this.st.confirmedSeq,
          ...(this.o.token !== undefined ? { token: this.o.token } : {}),
          ...(this.o.create === true ? { create: true } : {}),
        },
      },
    ];
  }

  /**
   * The shell lost a connection (closed, silent, or refused before it opened):
   * reconnect after the backoff, which grows with each loss until a connection catches
   * up. Nothing once the session is refused for good. The shell reports each connection
   * once, and none the session gave up itself (a `reconnect` or `close` effect).
   */
  lost(): SessionEffect[] {
    if (this.fatalCode !== null) {
      this.forget();
      return [];
    }
    return this.resync();
  }

  /**
   * The shell dropped the connection without a reconnect (the browser went offline, the
   * client is closing). The next `opened` starts again; the backoff is not advanced.
   */
  dropped(): void {
    this.forget();
  }

  /** Reconnects start from the shortest delay again (the network came back). */
  resetBackoff(): void {
    this.attempt = 0;
  }

  /**
   * One frame from the server, as received: text (JSON) or bytes (a binary welcome,
   * history page or live events, P25). `now`: the shell's clock (for an ack without `time`).
   */
  receive(raw: string | Uint8Array, now: number): SessionEffect[] {
    if (this.conn !== 'open') return [];
    const r = decodeServerFrame(raw);
    if (!r.ok) {
      return [{ type: 'problem', source: 'decode', code: 'bad-message', message: `undecodable server message: ${r.error.message}`, fatal: false }, ...this.resync()];
    }
    return this.take(r.value, now);
  }

  /** One decoded message from the server. */
  take(msg: ServerMessage, now: number): SessionEffect[] {
    if (this.conn !== 'open') return [];
    const out: SessionEffect[] = [];
    switch (msg.type) {
      case 'error':
        this.serverError(msg.code, msg.message, out);
        return out;
      case 'pong':
      case 'links-rotated':
        out.push({ type: 'other', message: msg });
        return out;
      case 'behind':
        // Outside the stream: the server stops it after `at`, and a welcome continues it.
        this.behindAt = msg.at;
        out.push({ type: 'other', message: msg });
        return out;
      case 'slow-down':
        this.batchMsNow = msg.batchMs;
        out.push({ type: 'other', message: msg });
        if (msg.batchMs === 0) this.pumpInto(out);
        return out;
      case 'history-page':
        if (this.catching !== null && msg.reqId === this.catching.reqId) this.page(msg, now, out);
        else out.push({ type: 'other', message: msg });
        return out;
      default:
        break;
    }
    if (this.catching !== null) {
      this.catching.held.push(msg);
      return out;
    }
    this.stream(msg, now, out);
    return out;
  }

  /** A local edit of the live text. Refused (changing nothing) if it does not fit. Call `pump` to send it. */
  edit(op: Op, kind: EventKind = 'edit', meta?: EventMeta): Result<LocalEvent, CodedError<ClientErrorCode>> {
    return this.st.edit(op, kind, meta);
  }

  /** Sends what the outbox has unsent and the store holds, in batches (nothing unless `ready`). */
  pump(): SessionEffect[] {
    const out: SessionEffect[] = [];
    this.pumpInto(out);
    return out;
  }

  // ---- the stream --------------------------------------------------------------------

  private stream(msg: ServerMessage, now: number, out: SessionEffect[]): void {
    switch (msg.type) {
      case 'welcome':
        this.welcome(msg, out);
        return;
      case 'events':
        this.events(msg.events, out);
        return;
      case 'ack':
        this.ack(msg.id, msg.seq, msg.time ?? now, out);
        return;
      default:
        out.push({ type: 'other', message: msg });
    }
  }

  private welcome(msg: WelcomeMessage, out: SessionEffect[]): void {
    this.roleNow = msg.role;
    // A welcome on an open connection is the catch-up after `behind` (P21); its events start at
    // the seq the stream stopped after, which the state has confirmed, so it takes them like any.
    this.behindAt = null;
    const st = this.st;
    const cp = msg.checkpoint;
    if (cp !== null && cp.seq > st.confirmedSeq) {
      if (st.confirmedSeq === 0 && st.pending.length === 0) {
        // Nothing here to keep: start from the checkpoint.
        const before = st.live.toString();
        const next = new ClientState({ client: st.client, author: st.author, checkpoint: cp, nextClientSeq: st.nextClientSeq });
        this.st = next;
        out.push({ type: 'reset', state: next, seq: cp.seq });
        const r = next.receive(msg.events);
        if (!r.ok) {
          this.streamFailure(r.error, out);
          return;
        }
        out.push({ type: 'confirmed', events: msg.events.filter((e) => e.seq > cp.seq), reset: true, rebased: false });
        const after = next.live.toString();
        if (after !== before) out.push({ type: 'live', changes: [{ op: diffOp(before, after), author: '' }] });
        this.caughtUp(out);
        return;
      }
      // Confirmed events to keep, or an outbox to rebase: fetch what the checkpoint skips.
      const cu: CatchingUp = { welcome: msg, target: cp.seq, held: [], reqId: 0 };
      this.catching = cu;
      this.requestPage(cu, st.confirmedSeq, out);
      return;
    }
    if (!this.events(msg.events, out)) return;
    this.caughtUp(out);
  }

  /** A page of what the welcome's checkpoint skipped. */
  private page(msg: HistoryPageMessage, now: number, out: SessionEffect[]): void {
    const cu = this.catching!;
    if (!this.events(msg.events, out)) return;
    if (msg.next !== null && this.st.confirmedSeq < cu.target) {
      this.requestPage(cu, Math.max(msg.next, this.st.confirmedSeq), out);
      return;
    }
    if (this.st.confirmedSeq < cu.target) {
      // The server says the range is done but we are short of it: a log that is not ours.
      this.streamFailure({ code: 'gap', message: `history ended at ${this.st.confirmedSeq}, the welcome's checkpoint is at ${cu.target}` }, out);
      return;
    }
    this.catching = null;
    if (!this.events(cu.welcome.events, out)) return;
    this.caughtUp(out);
    const held = cu.held;
    for (let i = 0; i < held.length; i++) {
      if (this.conn !== 'open') return;
      // (Read afresh: `stream` may have set it; TypeScript narrowed it to null above.)
      const again = this.catching as CatchingUp | null;
      if (again !== null) {
        // A held welcome (the catch-up after `behind`, P21) started another catch-up: the
        // rest of the stream waits for that one, in order.
        again.held.push(...held.slice(i));
        return;
      }
      this.stream(held[i], now, out);
    }
  }

  private requestPage(cu: CatchingUp, from: number, out: SessionEffect[]): void {
    cu.reqId = this.nextReqId++;
    out.push({ type: 'send', message: { type: 'history', reqId: cu.reqId, from, to: cu.target, limit: this.historyLimit } });
  }

  /** Confirmed events from the server, in seq order; false when the stream broke (the connection is then given up). */
  private events(events: readonly DocEvent[], out: SessionEffect[]): boolean {
    const st = this.st;
    const before = st.confirmedSeq;
    const hadPending = st.pending.length > 0;
    const r = st.receive(events);
    const upTo = st.confirmedSeq;
    const fresh = events.filter((e) => e.seq > before && e.seq <= upTo);
    if (fresh.length > 0) {
      const rebased = hadPending && fresh.some((e) => e.id.client !== st.client);
      out.push({ type: 'confirmed', events: fresh, reset: false, rebased });
      for (const e of fresh) if (e.id.client === st.client) this.sentBase.delete(e.id.clientSeq);
    }
    if (!r.ok) {
      this.streamFailure(r.error, out);
      return false;
    }
    if (r.value.length > 0) out.push({ type: 'live', changes: r.value });
    if (this.batchMsNow > 0 && fresh.some((e) => e.id.client === st.client)) this.pumpInto(out);
    return true;
  }

  private ack(id: EventId, seq: number, time: number, out: SessionEffect[]): void {
    const st = this.st;
    const head = st.pending[0]?.event;
    const before = st.confirmedSeq;
    const r = st.ack(id, seq);
    if (!r.ok) {
      this.streamFailure(r.error, out);
      return;
    }
    if (st.confirmedSeq > before && head !== undefined) {
      const base = this.sentBase.get(head.id.clientSeq) ?? seq - 1;
      this.sentBase.delete(head.id.clientSeq);
      const ev: DocEvent = {
        id: head.id,
        seq,
        base,
        author: head.author,
        time,
        op: head.op,
        kind: head.kind,
        ...(head.meta !== undefined ? { meta: head.meta } : {}),
      };
      out.push({ type: 'confirmed', events: [ev], reset: false, rebased: false });
      if (this.batchMsNow > 0) this.pumpInto(out);
    }
  }

  private caughtUp(out: SessionEffect[]): void {
    this.caught = true;
    this.attempt = 0;
    out.push({ type: 'caught-up', role: this.roleNow ?? 'edit' });
    this.pumpInto(out);
  }

  private pumpInto(out: SessionEffect[]): void {
    if (!this.ready) return;
    const st = this.st;
    const upTo = this.o.sendableUpTo?.() ?? Infinity;
    // Asked to batch (P22): one submit in flight at most; the rest waits in the outbox and
    // goes out as one batch once it is confirmed.
    if (this.batchMsNow > 0 && st.pending.some((p) => p.sent)) return;
    if (this.batchMsNow > 0 && this.o.now !== undefined && this.o.now() < this.lastSubmitAt + this.batchMsNow) return;
    for (;;) {
      let n = 0;
      for (const p of st.pending) {
        if (p.sent) continue;
        if (p.event.id.clientSeq > upTo || n >= this.maxBatch) break;
        n++;
      }
      if (n === 0) return;
      const batch = st.takeBatch(n);
      if (batch === null) return;
      for (const e of batch.events) this.sentBase.set(e.id.clientSeq, batch.base);
      out.push({ type: 'send', message: { type: 'submit', base: batch.base, events: batch.events as LocalEvent[] } as ClientMessage });
      if (this.batchMsNow > 0) {
        if (this.o.now !== undefined) this.lastSubmitAt = this.o.now();
        return;
      }
    }
  }

  // ---- ending a connection -----------------------------------------------------------

  private serverError(code: string, message: string, out: SessionEffect[]): void {
    if (isFatalError(code)) {
      this.fatalCode = code;
      out.push({ type: 'problem', source: 'server', code, message, fatal: true });
      this.forget();
      this.conn = 'closed';
      out.push({ type: 'close' });
      return;
    }
    out.push({ type: 'problem', source: 'server', code, message, fatal: false });
    out.push(...this.resync());
  }

  /** A stream result that is not ok: a gap re-syncs; anything else is a bug, reported, then re-sync. */
  private streamFailure(e: CodedError, out: SessionEffect[]): void {
    out.push({ type: 'problem', source: 'stream', code: e.code, message: e.message, fatal: false });
    out.push(...this.resync());
  }

  /** Gives the connection up and says when to open the next one. */
  private resync(): SessionEffect[] {
    this.forget();
    this.conn = 'closed';
    const afterMs = backoffDelay(this.backoff, this.attempt, this.o.random());
    this.attempt = Math.min(this.attempt + 1, MAX_BACKOFF_ATTEMPT);
    return [{ type: 'reconnect', afterMs }];
  }

  /** What belonged to the connection goes with it; the outbox goes out again on the next. */
  private forget(): void {
    this.behindAt = null;
    this.batchMsNow = 0;
    this.conn = 'none';
    this.caught = false;
    this.catching = null;
    this.st.disconnected();
  }
}
