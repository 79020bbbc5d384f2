/**
 * One open document in the browser: the core's `ClientState` over a WebSocket to `/ws`,
 * kept in IndexedDB by a `DocPersister` (docs/protocol.md has the messages; the
 * essay in shared/src/sync/client-state.ts the rules).
 *
 *   - Open: take a client slot (local/slot.ts), restore checkpoint + tail + outbox from
 *     the local store, so the document shows at once, with or without a network.
 *   - Connect: hello with the last confirmed seq. Nothing is submitted before the
 *     welcome has caught us up. A welcome checkpoint replaces the state only when we
 *     have nothing at all (seq 0, empty outbox); otherwise the events it skips are
 *     fetched with history requests, because an outbox can only be rebased over events.
 *   - Then the outbox goes out in batches (several may be in flight), each event only
 *     once the local store holds it (O1: `DocPersister.sendableUpTo`).
 *   - The stream (events, acks) is taken strictly in seq order. A gap, an error message
 *     or a lost socket means: drop the socket, back off (exponential, with jitter),
 *     reconnect, catch up, resend the whole outbox (O2; the server answers duplicates
 *     with their original seq, L3).
 *   - Heartbeat: a ping every `pingEveryMs`; a connection that has said nothing for
 *     `deadAfterMs` is declared dead. The browser's `offline` event drops the socket at
 *     once (an emulated or real network loss need not close it); `online` reconnects.
 *
 * For the editor it turns what arrives into `LiveChange`s (`onRemote`); for React it
 * keeps a small immutable snapshot (`subscribe` / `getSnapshot`).
 */
import {
  ClientState,
  PROTOCOL_VERSION,
  decodeServerMessage,
  encodeClientMessage,
  diffOp,
  protocolLimits,
  type ClientMessage,
  type Cursor,
  type DocEvent,
  type EventId,
  type EventKind,
  type EventMeta,
  type HistoryPageMessage,
  type LiveChange,
  type LocalEvent,
  type Op,
  type ServerMessage,
  type User,
  type WelcomeMessage,
  type CodedError,
  type Result,
  type Role,
} from '../../../shared/src/index.js';
import type { LocalStore, StorageError } from '../local/local-store.js';
import { DocPersister } from '../local/persister.js';
import { restoreState } from '../local/restore.js';
import { applyJournal, defaultJournalStorage, type JournalStorage } from '../local/journal.js';
import { acquireSlot, clientIdOf, slotOf, type Slot } from '../local/slot.js';

export type SyncStatus = 'online' | 'offline' | 'syncing';

export interface PeerInfo {
  readonly client: string;
  readonly user: User;
  readonly cursor: Cursor;
}

export interface SyncProblem {
  readonly code: string;
  readonly message: string;
  readonly time: number;
}

export interface SyncSnapshot {
  readonly status: SyncStatus;
  /** Events in the outbox (not yet acknowledged). */
  readonly pending: number;
  /** The local store's failure, if any (edits are then only in memory). */
  readonly storageError: StorageError | null;
  /** Own edits the local store does not hold while it is failing (they live in memory and on the server only). */
  readonly unstored: number;
  /** Recent sync errors (newest last, at most 5) and restore problems. */
  readonly errors: readonly SyncProblem[];
  /** Who else is here (other connections), by client id. */
  readonly peers: readonly PeerInfo[];
  /** Set when the server refused this copy for good (e.g. its log is not ours). */
  readonly fatal: string | null;
  /** The error code behind `fatal` (e.g. `access-denied`). */
  readonly fatalCode: string | null;
  /** What the server's last welcome allowed (null: no welcome yet). */
  readonly role: Role | null;
}

/** The parts of the browser WebSocket used here (the `ws` package fits too, in tests). */
export interface SocketLike {
  readonly readyState: number;
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

export interface SyncClientOptions {
  readonly docId: string;
  readonly user: User;
  /**
   * The author this page's events carry: unique to this browser (the app passes the name
   * with a stable browser id, identity.ts), since undo steps are per author (U1). By
   * default the name alone (tests).
   */
  readonly author?: string;
  /** null: no local store (storageError says why); the document lives in memory. */
  readonly store: LocalStore | null;
  readonly storageError?: StorageError | null;
  /** The WebSocket URL; by default `/ws` on the page's origin. */
  readonly url?: string;
  readonly socket?: SocketFactory;
  readonly network?: NetworkLike;
  readonly pingEveryMs?: number;
  readonly deadAfterMs?: number;
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
  readonly random?: () => number;
  /** Most events in one submit. */
  readonly maxBatch?: number;
  /** Passed to the persister (tests). */
  readonly schedule?: (f: () => void) => void;
  readonly locks?: LockManager;
  /** Where the unload journal lives (localStorage by default). */
  readonly journalStorage?: JournalStorage | null;
  /** Don't connect until `start()` (tests). */
  readonly manualStart?: boolean;
  /** The link's token (edit or view), sent in the hello; the server decides the role from it. */
  readonly token?: string;
  /** This browser created the document: the hello registers `token` as its edit token if the server does not know it yet. */
  readonly create?: boolean;
}

const OPEN = 1;
const CONNECTING = 0;

/** Codes after which reconnecting cannot help. */
const FATAL_CODES = new Set(['protocol-version', 'base-ahead', 'access-denied', 'too-many-documents', 'read-only']);

/** What the page says when the server refuses this copy for good. */
function fatalText(code: string, message: string): string {
  switch (code) {
    case 'base-ahead':
      return `The server's copy of this document does not match this browser's (${message}). Local edits are kept here but cannot be sent.`;
    case 'access-denied':
      return 'This link does not give access to this document.';
    case 'too-many-documents':
      return `The server refused a new document (${message}). Reload the page to try again.`;
    case 'read-only':
      return 'This is a view link: changes cannot be sent.';
    default:
      return `This version of the app cannot talk to the server (${message}); reload the page.`;
  }
}

export class SyncClient {
  readonly docId: string;
  readonly client: string;
  private st: ClientState;
  private readonly persister: DocPersister;
  private readonly slot: Slot;
  private readonly o: SyncClientOptions;
  private readonly url: string;
  private readonly socketFactory: SocketFactory;
  private readonly network: NetworkLike;
  private readonly unwatch: () => void;
  private user: User;

  private ws: SocketLike | null = null;
  private ready = false;
  private closed = false;
  private started = false;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private lastHeard = 0;
  private lastPing = 0;
  private catchUp: { welcome: WelcomeMessage; buffered: ServerMessage[]; reqId: number } | null = null;
  private nextReqId = 1;
  /** Batch base of each sent event (by clientSeq), for the tail copy of acked events. */
  private readonly sentBase = new Map<number, number>();
  private cursor: Cursor = null;
  private cursorTimer: ReturnType<typeof setTimeout> | null = null;
  /** The cursor changed since it was last sent on this connection. */
  private cursorDirty = false;
  /** The name or colour changed since the hello or the last presence carried it. */
  private userDirty = false;
  private readonly peers = new Map<string, PeerInfo>();
  private errors: SyncProblem[] = [];
  private fatal: string | null = null;
  private fatalCode: string | null = null;
  private role: Role | null = null;

  private snap: SyncSnapshot;
  private snapDirty = false;
  private readonly listeners = new Set<() => void>();
  private readonly remoteListeners = new Set<(changes: readonly LiveChange[]) => void>();
  private readonly confirmedListeners = new Set<(events: readonly DocEvent[], reset: boolean) => void>();
  /** History requests of others (the event source), by reqId. */
  private readonly historyWaiters = new Map<number, { resolve: (r: Result<HistoryPageMessage, CodedError>) => void; timer: ReturnType<typeof setTimeout> }>();

  /** Opens a document: a slot, the stored copy, then (unless `manualStart`) the connection. */
  static async open(options: SyncClientOptions): Promise<SyncClient> {
    const { store, docId } = options;
    let browserId = randomId();
    let storageError = options.storageError ?? null;
    let withOutbox: number[] = [];
    if (store !== null) {
      const id = await store.setting('browserId', randomId);
      if (id.ok) browserId = id.value;
      else storageError = id.error;
      // A document started over (local/start-over.ts) uses fresh client ids: the server's log may hold, or have lost, the old ones' events.
      const base = await store.clientBase(docId);
      if (base.ok && base.value !== null) browserId = base.value;
      const slots = await store.slotsOf(docId);
      if (slots.ok) {
        withOutbox = slots.value
          .filter((s) => s.outboxSize > 0)
          .map((s) => slotOf(browserId, s.client))
          .filter((n): n is number => n !== null);
      }
    }
    const slot = await acquireSlot(docId, { withOutbox, locks: options.locks });
    const client = clientIdOf(browserId, slot.slot);
    const author = options.author ?? (options.user.name || 'anonymous');
    let state = new ClientState({ client, author });
    let problems: readonly string[] = [];
    let rebased = false;
    let storedClientSeq = 0;
    let unreadable = false;
    const journalStorage = options.journalStorage === undefined ? defaultJournalStorage() : options.journalStorage;
    if (store !== null) {
      // What the previous page wrote synchronously as it went (journal.ts).
      await applyJournal(store, journalStorage, docId, client);
      const loaded = await store.load(docId, client);
      if (loaded.ok) {
        const r = restoreState(loaded.value, client, author);
        state = r.state;
        problems = r.problems;
        rebased = r.rebased;
        storedClientSeq = state.nextClientSeq - 1;
      } else {
        // The stored copy cannot be read: work from memory, never write over it, and under a
        // fresh client id (this slot's used clientSeqs are unknown; the server would answer a
        // reused one as a duplicate, and the edit would be lost).
        storageError = loaded.error;
        unreadable = true;
        state = new ClientState({ client: `${randomId()}-0`, author });
      }
    }
    const sc = new SyncClient(unreadable ? { ...options, store: null } : options, slot, state, storedClientSeq, storageError, problems);
    if (rebased) sc.persister.noteRebased();
    if (!options.manualStart) sc.start();
    return sc;
  }

  private constructor(
    options: SyncClientOptions,
    slot: Slot,
    state: ClientState,
    storedClientSeq: number,
    storageError: StorageError | null,
    problems: readonly string[],
  ) {
    this.o = options;
    this.docId = options.docId;
    this.slot = slot;
    this.st = state;
    this.client = state.client;
    this.user = options.user;
    this.url = options.url ?? defaultUrl();
    this.socketFactory = options.socket ?? ((url) => new WebSocket(url) as unknown as SocketLike);
    this.network = options.network ?? browserNetwork();
    const now = Date.now();
    this.errors = problems.map((message) => ({ code: 'restore', message, time: now }));
    this.persister = new DocPersister({
      store: options.store,
      docId: options.docId,
      client: this.client,
      state: () => this.st,
      initialError: storageError,
      storedClientSeq,
      ...(options.journalStorage !== undefined ? { journalStorage: options.journalStorage } : {}),
      ...(options.schedule ? { schedule: options.schedule } : {}),
      onChange: () => {
        this.pump();
        this.changed();
      },
    });
    this.snap = this.computeSnapshot();
    this.unwatch = this.network.watch((online) => (online ? this.wentOnline() : this.wentOffline()));
  }

  /** The live state (read-only use: the editor's initial text, tests). */
  get state(): ClientState {
    return this.st;
  }

  /** The local store this document is kept in (null: none). */
  get localStore(): LocalStore | null {
    return this.o.store;
  }

  /** The text people see. */
  text(): string {
    return this.st.live.toString();
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.heartbeat = setInterval(() => this.beat(), Math.min(this.pingEveryMs, this.deadAfterMs) / 2);
    if (this.network.isOnline()) this.connect();
  }

  /** Stops syncing, writes what is queued, lets the slot go. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unwatch();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.cursorTimer) clearTimeout(this.cursorTimer);
    this.drop();
    try {
      await this.persister.flush();
    } finally {
      this.persister.close();
      this.slot.release();
      this.listeners.clear();
      this.remoteListeners.clear();
      this.confirmedListeners.clear();
    }
  }

  /** Writes what is queued to the local store and waits for it (tests; closing). */
  flushStorage(): Promise<void> {
    return this.persister.flush();
  }

  /** The page is going away: start writing what is queued at once, without waiting. */
  pageHidden(): void {
    this.persister.journal();
  }

  // ---- the editor's side ------------------------------------------------------------

  /** A local edit of the live text (one editor transaction, an undo, a redo, a restore). */
  edit(op: Op, kind: EventKind = 'edit', meta?: EventMeta): Result<LocalEvent, CodedError> {
    const r = this.st.edit(op, kind, meta);
    if (r.ok) {
      this.persister.noteEdit();
      this.changed();
    }
    return r;
  }

  /** The id key (`idKey`) the next local event will have (undo steps are named by it). */
  nextEventKey(): string {
    return `${this.st.nextClientSeq}@${this.client}`;
  }

  /**
   * Confirmed events as they become known here, in seq order (others' from the stream,
   * ours from acks, in the form the log holds). `reset`: the state was replaced by a
   * server checkpoint, so these events do not follow the previous ones.
   */
  onConfirmed(f: (events: readonly DocEvent[], reset: boolean) => void): () => void {
    this.confirmedListeners.add(f);
    return () => this.confirmedListeners.delete(f);
  }

  /**
   * One page of the server's log, `from < seq ≤ to` (the protocol's `history` request).
   * A value, never a throw: `offline` when there is no joined connection, or when it is
   * lost before the answer; `timeout` after `timeoutMs`.
   */
  history(from: number, to: number, limit: number = protocolLimits.maxHistoryLimit, timeoutMs = 15_000): Promise<Result<HistoryPageMessage, CodedError>> {
    const ws = this.ws;
    if (ws === null || ws.readyState !== OPEN || this.closed) {
      return Promise.resolve({ ok: false, error: { code: 'offline', message: 'not connected to the server' } });
    }
    const reqId = this.nextReqId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.historyWaiters.delete(reqId);
        resolve({ ok: false, error: { code: 'timeout', message: `no history from the server within ${Math.round(timeoutMs / 1000)} s` } });
      }, timeoutMs);
      this.historyWaiters.set(reqId, { resolve, timer });
      this.send({ type: 'history', reqId, from, to, limit: Math.max(1, Math.min(limit, protocolLimits.maxHistoryLimit)) });
    });
  }

  private failHistoryWaiters(message: string): void {
    for (const [id, w] of this.historyWaiters) {
      clearTimeout(w.timer);
      this.historyWaiters.delete(id);
      w.resolve({ ok: false, error: { code: 'offline', message } });
    }
  }

  private emitConfirmed(events: readonly DocEvent[], reset: boolean): void {
    if (events.length === 0 && !reset) return;
    for (const f of [...this.confirmedListeners]) f(events, reset);
  }

  /** Changes to the live text from elsewhere, in order, for the editor. */
  onRemote(f: (changes: readonly LiveChange[]) => void): () => void {
    this.remoteListeners.add(f);
    return () => this.remoteListeners.delete(f);
  }

  /**
   * Our caret/selection moved (UTF-16 positions in the live text). It goes out only when
   * the outbox is empty: presence is relayed at once while events wait for their commit, so
   * a position sent with edits in flight would reach the others before the text it counts.
   * Sent after the acks, it arrives after the events; meanwhile the others map the old
   * caret through the incoming edits, which keeps it at the end of what is being typed.
   */
  setCursor(cursor: Cursor): void {
    if (cursor?.anchor === this.cursor?.anchor && cursor?.head === this.cursor?.head) return;
    this.cursor = cursor;
    this.cursorDirty = true;
    if (this.cursorTimer) return;
    this.cursorTimer = setTimeout(() => {
      this.cursorTimer = null;
      this.sendPresence();
    }, 50);
  }

  /**
   * Changes the name and colour others see, at once: the next presence message carries
   * them (now, or as soon as the outbox is empty; a reconnect's hello carries them too).
   * Events keep the author this page opened with (undo steps are per author).
   */
  setUser(user: User): void {
    if (user.name === this.user.name && user.color === this.user.color) return;
    this.user = user;
    this.userDirty = true;
    this.sendPresence();
  }

  // ---- React's side ------------------------------------------------------------------

  subscribe = (f: () => void): (() => void) => {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  };

  getSnapshot = (): SyncSnapshot => {
    if (this.snapDirty) {
      this.snapDirty = false;
      const next = this.computeSnapshot();
      if (!sameSnapshot(next, this.snap)) this.snap = next;
    }
    return this.snap;
  };

  private changed(): void {
    this.snapDirty = true;
    for (const f of [...this.listeners]) f();
  }

  private computeSnapshot(): SyncSnapshot {
    const open = this.ws !== null && this.ws.readyState === OPEN;
    const pending = this.st.pending.length;
    const status: SyncStatus = !open ? 'offline' : !this.ready || pending > 0 ? 'syncing' : 'online';
    return {
      status,
      pending,
      storageError: this.persister?.error ?? null,
      unstored: this.persister?.unstored ?? 0,
      errors: this.errors,
      peers: [...this.peers.values()],
      fatal: this.fatal,
      fatalCode: this.fatalCode,
      role: this.role,
    };
  }

  private problem(code: string, message: string): void {
    this.errors = [...this.errors.slice(-4), { code, message, time: Date.now() }];
  }

  // ---- the connection ----------------------------------------------------------------

  private get pingEveryMs(): number {
    return this.o.pingEveryMs ?? 10_000;
  }

  private get deadAfterMs(): number {
    return this.o.deadAfterMs ?? 25_000;
  }

  private connect(): void {
    this.reconnectTimer = null;
    if (this.closed || this.fatal !== null || this.ws !== null) return;
    let ws: SocketLike;
    try {
      ws = this.socketFactory(this.url);
    } catch (e) {
      this.problem('connect', (e as Error).message);
      this.lost();
      return;
    }
    this.ws = ws;
    this.lastHeard = Date.now();
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.lastHeard = Date.now();
      this.userDirty = false; // the hello carries the current user
      this.send({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        docId: this.docId,
        client: this.client,
        user: this.user,
        last: this.st.confirmedSeq,
        ...(this.o.token !== undefined ? { token: this.o.token } : {}),
        ...(this.o.create === true ? { create: true } : {}),
      });
      this.changed();
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return; // a dropped socket's last words
      this.lastHeard = Date.now();
      try {
        this.onMessage(typeof ev.data === 'string' ? ev.data : String(ev.data));
      } catch (e) {
        this.problem('client-bug', (e as Error).message);
        this.lost();
      }
      this.changed();
    };
    ws.onclose = () => {
      if (ws !== this.ws) return;
      this.lost();
    };
    ws.onerror = () => {
      /* onclose follows */
    };
    this.changed();
  }

  /** Drops the current socket (its later messages are ignored). */
  private drop(): void {
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    this.catchUp = null;
    this.st.disconnected();
    this.failHistoryWaiters('the connection was lost');
    if (this.peers.size > 0) this.peers.clear();
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

  /** The connection is gone or unusable: reconnect after a backoff. */
  private lost(): void {
    this.drop();
    this.changed();
    if (this.closed || this.fatal !== null || this.reconnectTimer) return;
    if (!this.network.isOnline()) return; // `online` reconnects
    const min = this.o.backoffMinMs ?? 250;
    const max = this.o.backoffMaxMs ?? 10_000;
    const random = this.o.random ?? Math.random;
    const delay = Math.min(max, min * 2 ** this.attempt) * (0.5 + random());
    this.attempt = Math.min(this.attempt + 1, 20);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private reconnectNow(): void {
    this.drop();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.attempt = 0;
    if (this.network.isOnline()) this.connect();
    this.changed();
  }

  private wentOffline(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.drop();
    this.changed();
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
      this.problem('timeout', `no word from the server for ${Math.round((now - this.lastHeard) / 1000)} s`);
      this.lost();
      return;
    }
    if (ws.readyState === OPEN && now - this.lastPing >= this.pingEveryMs) {
      this.lastPing = now;
      this.send({ type: 'ping', t: now });
    }
  }

  private send(msg: ClientMessage): void {
    const ws = this.ws;
    if (ws === null || ws.readyState !== OPEN) return;
    ws.send(encodeClientMessage(msg));
  }

  private sendPresence(): void {
    if (!this.ready || (!this.cursorDirty && !this.userDirty) || this.st.pending.length > 0) return;
    const user = this.userDirty ? { user: this.user } : {};
    this.cursorDirty = false;
    this.userDirty = false;
    this.send({ type: 'presence', cursor: this.cursor, ...user });
  }

  /** Sends what the outbox has unsent and stored, in batches. */
  private pump(): void {
    if (!this.ready || this.ws === null || this.ws.readyState !== OPEN) return;
    const upTo = this.persister.sendableUpTo();
    const max = this.o.maxBatch ?? 500;
    for (;;) {
      let n = 0;
      for (const p of this.st.pending) {
        if (p.sent) continue;
        if (p.event.id.clientSeq > upTo || n >= max) break;
        n++;
      }
      if (n === 0) return;
      const batch = this.st.takeBatch(n);
      if (!batch) return;
      for (const e of batch.events) this.sentBase.set(e.id.clientSeq, batch.base);
      this.send({ type: 'submit', base: batch.base, events: batch.events as LocalEvent[] as never });
    }
  }

  // ---- the stream --------------------------------------------------------------------

  private onMessage(raw: string): void {
    const r = decodeServerMessage(raw);
    if (!r.ok) {
      this.problem('bad-message', `undecodable server message: ${r.error.message}`);
      this.lost();
      return;
    }
    const msg = r.value;
    if (msg.type === 'error') {
      this.problem(msg.code, msg.message);
      if (FATAL_CODES.has(msg.code)) {
        this.fatal = fatalText(msg.code, msg.message);
        this.fatalCode = msg.code;
        this.drop();
        return;
      }
      this.lost(); // re-sync: reconnect, catch up, resend
      return;
    }
    if (msg.type === 'pong') return;
    if (msg.type === 'history-page') {
      const w = this.historyWaiters.get(msg.reqId);
      if (w !== undefined) {
        clearTimeout(w.timer);
        this.historyWaiters.delete(msg.reqId);
        w.resolve({ ok: true, value: msg });
        return;
      }
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
        this.receive(msg.events);
        return;
      case 'ack':
        this.ack(msg.id, msg.seq, msg.time);
        return;
      case 'presence':
        if (msg.client !== this.client) this.peers.set(msg.client, { client: msg.client, user: msg.user, cursor: msg.cursor });
        return;
      case 'presence-leave':
        this.peers.delete(msg.client);
        return;
      case 'history-page': {
        const cu = this.catchUp;
        if (!cu || msg.reqId !== cu.reqId) return;
        if (!this.receive(msg.events)) return;
        const target = cu.welcome.checkpoint?.seq ?? 0;
        if (msg.next !== null && this.st.confirmedSeq < target) {
          this.requestHistory(cu, msg.next, target);
          return;
        }
        this.catchUp = null;
        if (!this.receive(cu.welcome.events)) return;
        this.caughtUp();
        for (const m of cu.buffered) if (this.ws) this.take(m);
        return;
      }
      default:
        return;
    }
  }

  private welcome(msg: WelcomeMessage): void {
    this.role = msg.role;
    const cp = msg.checkpoint;
    if (cp !== null && cp.seq > this.st.confirmedSeq) {
      if (this.st.pending.length === 0 && this.st.confirmedSeq === 0) {
        // Nothing here yet: start from the checkpoint.
        const before = this.st.live.toString();
        const next = new ClientState({
          client: this.client,
          author: this.st.author,
          checkpoint: cp,
          nextClientSeq: this.st.nextClientSeq,
        });
        this.st = next;
        this.persister.noteReset();
        const r = next.receive(msg.events);
        if (!r.ok) {
          this.streamError(r.error);
          return;
        }
        const fresh = msg.events.filter((e) => e.seq > cp.seq);
        this.persister.noteConfirmed(fresh, false);
        this.emitConfirmed(fresh, true);
        this.emit([diffChange(before, next.live.toString())]);
        this.caughtUp();
        return;
      }
      // An outbox (or a copy) can only move forward over events: fetch what the checkpoint skips.
      const cu = { welcome: msg, buffered: [], reqId: 0 };
      this.catchUp = cu;
      this.requestHistory(cu, this.st.confirmedSeq, cp.seq);
      return;
    }
    if (!this.receive(msg.events)) return;
    this.caughtUp();
  }

  private requestHistory(cu: { reqId: number }, from: number, to: number): void {
    cu.reqId = this.nextReqId++;
    this.send({ type: 'history', reqId: cu.reqId, from, to, limit: protocolLimits.maxHistoryLimit });
  }

  private caughtUp(): void {
    this.ready = true;
    this.attempt = 0;
    this.pump();
    this.cursorDirty = this.cursor !== null;
    this.sendPresence();
  }

  /** Confirmed events from the server, in seq order. */
  private receive(events: readonly DocEvent[]): boolean {
    const before = this.st.confirmedSeq;
    const hadPending = this.st.pending.length > 0;
    const r = this.st.receive(events);
    if (!r.ok) return this.streamError(r.error);
    const fresh = events.filter((e) => e.seq > before);
    if (fresh.length > 0) {
      const rebased = hadPending && fresh.some((e) => e.id.client !== this.client);
      this.persister.noteConfirmed(fresh, rebased);
      this.emitConfirmed(fresh, false);
      for (const e of fresh) if (e.id.client === this.client) this.sentBase.delete(e.id.clientSeq);
    }
    if (r.value.length > 0) this.emit(r.value);
    if (this.st.pending.length === 0) this.sendPresence();
    return true;
  }

  private ack(id: EventId, seq: number, serverTime?: number): void {
    const head = this.st.pending[0]?.event;
    const before = this.st.confirmedSeq;
    const r = this.st.ack(id, seq);
    if (!r.ok) {
      this.streamError(r.error);
      return;
    }
    if (this.st.confirmedSeq > before && head !== undefined) {
      const base = this.sentBase.get(head.id.clientSeq) ?? seq - 1;
      this.sentBase.delete(head.id.clientSeq);
      const ev: DocEvent = {
        id: head.id,
        seq,
        base,
        author: head.author,
        // The server's clock from the ack (the history panel shows it); an older server's ack has none.
        time: serverTime ?? Date.now(),
        op: head.op,
        kind: head.kind,
        ...(head.meta !== undefined ? { meta: head.meta } : {}),
      };
      this.persister.noteConfirmed([ev], false);
      this.emitConfirmed([ev], false);
      if (this.st.pending.length === 0) this.sendPresence();
    }
  }

  /** A stream result that is not ok: a gap re-syncs; anything else is a bug, reported, then re-sync. */
  private streamError(e: CodedError): false {
    this.problem(e.code, e.message);
    this.lost();
    return false;
  }

  private emit(changes: readonly LiveChange[]): void {
    if (changes.length === 0) return;
    for (const f of [...this.remoteListeners]) f(changes);
  }
}

/** The change from `a` to `b` as one op (common prefix and suffix kept). */
export function diffChange(a: string, b: string): LiveChange {
  return { op: diffOp(a, b), author: '' };
}

function sameSnapshot(a: SyncSnapshot, b: SyncSnapshot): boolean {
  return (
    a.status === b.status &&
    a.pending === b.pending &&
    a.storageError === b.storageError &&
    a.unstored === b.unstored &&
    a.errors === b.errors &&
    a.fatal === b.fatal &&
    a.role === b.role &&
    a.peers.length === b.peers.length &&
    a.peers.every((p, i) => p === b.peers[i])
  );
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

/** A random id for this browser (letters and digits, as the protocol wants). */
export function randomId(): string {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_-'[b & 63]).join('');
}
