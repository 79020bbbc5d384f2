/**
 * One open document in the browser: the core's `ClientState` over a WebSocket to `/ws`,
 * kept in IndexedDB by a `DocPersister` (docs/protocol.md has the messages; the
 * essay in shared/src/sync/client-state.ts the rules).
 *
 *   - Open: take a client slot, restore checkpoint + tail + outbox from the local store,
 *     so the document shows at once, with or without a network (load-document.ts).
 *   - Connect: hello with the last confirmed seq. Nothing is submitted before the
 *     welcome has caught us up; a welcome checkpoint replaces the state only when we have
 *     nothing at all, otherwise the events it skips are fetched first (catch-up.ts).
 *   - Then the outbox goes out in batches (several may be in flight), each event only
 *     once the local store holds it (O1), and events and acks come in (event-stream.ts).
 *   - The stream (events, acks) is taken strictly in seq order. A gap, an error message
 *     or a lost socket means: drop the socket, back off (exponential, with jitter),
 *     reconnect, catch up, resend the whole outbox (O2; the server answers duplicates
 *     with their original seq, L3). The socket, its heartbeat and backoff, and the
 *     browser's `offline` / `online` are socket.ts.
 *   - Pages of the server's log on request (history-requests.ts); carets, selections and
 *     names (presence.ts).
 *
 * This file holds those parts together and routes the server's messages to them. For the
 * editor it turns what arrives into `LiveChange`s (`onRemote`); for React it keeps a small
 * immutable snapshot (`subscribe` / `getSnapshot`, sync-snapshot.ts).
 */
import {
  ClientState,
  PROTOCOL_VERSION,
  decodeServerMessage,
  protocolLimits,
  type ClientMessage,
  type Cursor,
  type DocEvent,
  type EventKind,
  type EventMeta,
  type HistoryPageMessage,
  type LiveChange,
  type LocalEvent,
  type Op,
  type ServerMessage,
  type User,
  type CodedError,
  type Result,
  type Role,
} from '../../../shared/src/index.js';
import type { LocalStore, StorageError } from '../local/local-store.js';
import { DocPersister } from '../local/persister.js';
import type { JournalStorage } from '../local/journal.js';
import type { Slot } from '../local/slot.js';
import { CatchUp } from './catch-up.js';
import { EventStream } from './event-stream.js';
import { HistoryRequests } from './history-requests.js';
import { loadDocument } from './load-document.js';
import { Presence } from './presence.js';
import { ReconnectingSocket, type SocketOptions } from './socket.js';
import { SnapshotStore, syncStatus, type SyncProblem, type SyncSnapshot } from './sync-snapshot.js';

export { diffChange } from './catch-up.js';
export { randomId } from './load-document.js';
export type { PeerInfo } from './presence.js';
export type { NetworkLike, SocketFactory, SocketLike } from './socket.js';
export type { SyncProblem, SyncSnapshot, SyncStatus } from './sync-snapshot.js';

/** The connection's own options (URL, heartbeat, backoff, test doubles) are SocketOptions'. */
export interface SyncClientOptions extends SocketOptions {
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
  private readonly socket: ReconnectingSocket;
  private readonly presence: Presence;
  private readonly historyRequests: HistoryRequests;
  private readonly stream: EventStream;
  private readonly catchUp: CatchUp;
  private readonly snapshots: SnapshotStore;

  /** Caught up on the current connection: the stream is taken, submits may go out. */
  private ready = false;
  private errors: SyncProblem[] = [];
  private fatal: string | null = null;
  private fatalCode: string | null = null;
  private role: Role | null = null;

  private readonly remoteListeners = new Set<(changes: readonly LiveChange[]) => void>();
  private readonly confirmedListeners = new Set<(events: readonly DocEvent[], reset: boolean) => void>();

  /** Opens a document: a slot, the stored copy, then (unless `manualStart`) the connection. */
  static async open(options: SyncClientOptions): Promise<SyncClient> {
    const d = await loadDocument(options);
    const sc = new SyncClient(d.unreadable ? { ...options, store: null } : options, d.slot, d.state, d.storedClientSeq, d.storageError, d.problems);
    if (d.rebased) sc.persister.noteRebased();
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
    const send = (msg: ClientMessage) => this.send(msg);
    this.socket = new ReconnectingSocket(options, {
      mayConnect: () => this.fatal === null,
      opened: () => this.opened(),
      message: (raw) => this.onMessage(raw),
      dropped: () => this.dropped(),
      problem: (code, message) => this.problem(code, message),
      changed: () => this.changed(),
    });
    this.presence = new Presence(this.client, options.user, {
      mayAnnounce: () => this.ready && this.st.pending.length === 0,
      send,
    });
    this.historyRequests = new HistoryRequests(send);
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
        this.stream.pump();
        this.changed();
      },
    });
    this.stream = new EventStream(this.client, this.persister, options.maxBatch ?? 500, {
      state: () => this.st,
      maySubmit: () => this.ready && this.socket.isOpen(),
      send,
      confirmed: (events) => this.emitConfirmed(events, false),
      remote: (changes) => this.emit(changes),
      announce: () => this.presence.announce(),
      streamError: (e) => this.streamError(e),
    });
    this.catchUp = new CatchUp(this.client, {
      state: () => this.st,
      replaceState: (next) => {
        this.st = next;
        this.persister.noteReset();
      },
      confirmedAfterReset: (events) => {
        this.persister.noteConfirmed(events, false);
        this.emitConfirmed(events, true);
      },
      remote: (changes) => this.emit(changes),
      receive: (events) => this.stream.receive(events),
      streamError: (e) => this.streamError(e),
      caughtUp: () => this.caughtUp(),
      requestHistory: (from, to) => this.historyRequests.sendForStream(from, to),
      take: (msg) => this.take(msg),
      connected: () => this.socket.hasSocket(),
    });
    this.snapshots = new SnapshotStore(() => this.computeSnapshot());
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
    this.socket.start();
  }

  /** Stops syncing, writes what is queued, lets the slot go. */
  async close(): Promise<void> {
    if (this.socket.isClosed) return;
    this.presence.close();
    this.socket.close();
    try {
      await this.persister.flush();
    } finally {
      this.persister.close();
      this.slot.release();
      this.snapshots.clear();
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
    if (!this.socket.isOpen() || this.socket.isClosed) {
      return Promise.resolve({ ok: false, error: { code: 'offline', message: 'not connected to the server' } });
    }
    return this.historyRequests.request(from, to, limit, timeoutMs);
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
    this.presence.setCursor(cursor);
  }

  /**
   * Changes the name and colour others see, at once: the next presence message carries
   * them (now, or as soon as the outbox is empty; a reconnect's hello carries them too).
   * Events keep the author this page opened with (undo steps are per author).
   */
  setUser(user: User): void {
    this.presence.setUser(user);
  }

  // ---- React's side ------------------------------------------------------------------

  subscribe = (f: () => void): (() => void) => this.snapshots.subscribe(f);

  getSnapshot = (): SyncSnapshot => this.snapshots.get();

  private changed(): void {
    this.snapshots.changed();
  }

  private computeSnapshot(): SyncSnapshot {
    const pending = this.st.pending.length;
    return {
      status: syncStatus(this.socket.isOpen(), this.ready, pending),
      pending,
      storageError: this.persister?.error ?? null,
      unstored: this.persister?.unstored ?? 0,
      errors: this.errors,
      peers: this.presence.others(),
      fatal: this.fatal,
      fatalCode: this.fatalCode,
      role: this.role,
    };
  }

  private problem(code: string, message: string): void {
    this.errors = [...this.errors.slice(-4), { code, message, time: Date.now() }];
  }

  // ---- the connection ----------------------------------------------------------------

  private send(msg: ClientMessage): void {
    this.socket.send(msg);
  }

  /** A new socket opened: hello, with what we have (the welcome catches us up from `last`). */
  private opened(): void {
    this.send({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      docId: this.docId,
      client: this.client,
      user: this.presence.userForHello(),
      last: this.st.confirmedSeq,
      ...(this.o.token !== undefined ? { token: this.o.token } : {}),
      ...(this.o.create === true ? { create: true } : {}),
    });
    this.changed();
  }

  /** The socket is being dropped: what belonged to its connection goes with it. */
  private dropped(): void {
    this.ready = false;
    this.catchUp.cancel();
    this.st.disconnected();
    this.historyRequests.failAll('the connection was lost');
    this.presence.disconnected();
  }

  private caughtUp(): void {
    this.ready = true;
    this.socket.resetBackoff();
    this.stream.pump();
    this.presence.joined();
  }

  // ---- the stream --------------------------------------------------------------------

  private onMessage(raw: string): void {
    const r = decodeServerMessage(raw);
    if (!r.ok) {
      this.problem('bad-message', `undecodable server message: ${r.error.message}`);
      this.socket.lost();
      return;
    }
    const msg = r.value;
    if (msg.type === 'error') {
      this.problem(msg.code, msg.message);
      if (FATAL_CODES.has(msg.code)) {
        this.fatal = fatalText(msg.code, msg.message);
        this.fatalCode = msg.code;
        this.socket.drop();
        return;
      }
      this.socket.lost(); // re-sync: reconnect, catch up, resend
      return;
    }
    if (msg.type === 'pong') return;
    if (msg.type === 'history-page' && this.historyRequests.answer(msg)) return;
    if (this.catchUp.holding && msg.type !== 'history-page') {
      this.catchUp.hold(msg);
      return;
    }
    this.take(msg);
  }

  private take(msg: ServerMessage): void {
    switch (msg.type) {
      case 'welcome':
        this.role = msg.role;
        return this.catchUp.welcome(msg);
      case 'events':
        this.stream.receive(msg.events);
        return;
      case 'ack':
        this.stream.ack(msg.id, msg.seq, msg.time);
        return;
      case 'presence':
      case 'presence-leave':
        this.presence.heard(msg);
        return;
      case 'history-page':
        return this.catchUp.historyPage(msg);
      default:
        return;
    }
  }

  /** A stream result that is not ok: a gap re-syncs; anything else is a bug, reported, then re-sync. */
  private streamError(e: CodedError): false {
    this.problem(e.code, e.message);
    this.socket.lost();
    return false;
  }

  private emit(changes: readonly LiveChange[]): void {
    if (changes.length === 0) return;
    for (const f of [...this.remoteListeners]) f(changes);
  }
}
