/**
 * One open document in the browser: the core's `ClientSession` (shared/src/session) over
 * a WebSocket to `/ws`, kept in IndexedDB by a `DocPersister` (docs/protocol.md has the
 * messages; the session's essay the rules, the catch-up rule among them).
 *
 *   - Open: take a client slot, restore checkpoint + tail + outbox from the local store,
 *     so the document shows at once, with or without a network (load-document.ts).
 *   - The session decides everything on the wire: hello, catch-up, the stream in seq
 *     order, batches (each event only once the local store holds it, O1: the persister's
 *     `sendableUpTo`), which errors re-sync and which are fatal, and the backoff. This
 *     file carries its effects out: sends on the socket, reconnect timers, the store
 *     (confirmed events, a state started over from a checkpoint), the editor (live
 *     changes) and the listeners.
 *   - The socket, its heartbeat, and the browser's `offline` / `online` are socket.ts;
 *     pages of the server's log on request are history-requests.ts; carets, selections
 *     and names presence.ts.
 *
 * For the editor it turns what arrives into `LiveChange`s (`onRemote`); for React it
 * keeps a small immutable snapshot (`subscribe` / `getSnapshot`, sync-snapshot.ts).
 */
import {
  ClientSession,
  ClientState,
  diffOp,
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
  type SessionEffect,
  type User,
  type CodedError,
  type Result,
} from '../../../shared/src/index.js';
import type { LocalStore, StorageError } from '../local/local-store.js';
import { DocPersister, afterPaint } from '../local/persister.js';
import type { Slot } from '../local/slot.js';
import { LinkRotation } from './link-rotation.js';
import { HistoryRequests } from './history-requests.js';
import { loadDocument, type LoadOptions } from './load-document.js';
import { Presence } from './presence.js';
import { ReconnectingSocket, type SocketOptions } from './socket.js';
import { SnapshotStore, syncStatus, type SyncProblem, type SyncSnapshot } from './sync-snapshot.js';

export { randomId } from './load-document.js';
export type { PeerInfo } from './presence.js';
export type { NetworkLike, SocketFactory, SocketLike } from './socket.js';
export type { SyncProblem, SyncSnapshot, SyncStatus } from './sync-snapshot.js';

/** The change from `a` to `b` as one op (common prefix and suffix kept). */
export function diffChange(a: string, b: string): LiveChange {
  return { op: diffOp(a, b), author: '' };
}

/**
 * What opening reads is LoadOptions' (docId, user, author, store, locks, journal); the
 * connection's own options (URL, heartbeat, backoff, test doubles) are SocketOptions'.
 */
export interface SyncClientOptions extends SocketOptions, LoadOptions {
  /** Most events in one submit. */
  readonly maxBatch?: number;
  /** Passed to the persister (tests). */
  readonly schedule?: (f: () => void) => void;
  /** Don't connect until `start()` (tests). */
  readonly manualStart?: boolean;
  /** The link's token (edit or view), sent in the hello; the server decides the role from it. */
  readonly token?: string;
  /** This browser created the document: the hello registers `token` as its edit token if the server does not know it yet. */
  readonly create?: boolean;
}

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
    case 'links-replaced':
      return "This document's links were replaced by one of its editors: this link no longer works. Ask for the new link. Edits not yet sent stay in this browser.";
    default:
      return `This version of the app cannot talk to the server (${message}); reload the page.`;
  }
}

export class SyncClient {
  readonly docId: string;
  readonly client: string;
  private readonly session: ClientSession;
  private readonly persister: DocPersister;
  private readonly slot: Slot;
  private readonly o: SyncClientOptions;
  private readonly socket: ReconnectingSocket;
  private readonly presence: Presence;
  private readonly historyRequests: HistoryRequests;
  private readonly linkRotation: LinkRotation;
  private readonly snapshots: SnapshotStore;

  private errors: SyncProblem[] = [];
  private fatal: string | null = null;
  private fatalCode: string | null = null;

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
    this.client = state.client;
    this.session = new ClientSession({
      docId: options.docId,
      state,
      ...(options.token !== undefined ? { token: options.token } : {}),
      create: options.create === true,
      maxBatch: options.maxBatch ?? 500,
      backoff: { minMs: options.backoffMinMs ?? 250, maxMs: options.backoffMaxMs ?? 10_000 },
      random: options.random ?? Math.random,
      sendableUpTo: () => this.persister.sendableUpTo(),
      now: Date.now,
    });
    const send = (msg: ClientMessage) => this.send(msg);
    this.socket = new ReconnectingSocket(options, {
      mayConnect: () => this.fatal === null && this.session.fatal === null,
      opened: () => {
        this.run(this.session.opened(this.presence.userForHello()));
        this.changed();
      },
      message: (raw) => this.run(this.session.receive(raw, Date.now())),
      dropped: () => this.dropped(),
      lost: () => this.run(this.session.lost()),
      networkBack: () => this.session.resetBackoff(),
      problem: (code, message) => this.problem(code, message),
      changed: () => this.changed(),
    });
    this.presence = new Presence(this.client, options.user, {
      mayAnnounce: () => this.session.ready && this.session.state.pending.length === 0,
      send,
    });
    this.historyRequests = new HistoryRequests(send, () => this.session.newReqId());
    this.linkRotation = new LinkRotation(send, () => this.session.newReqId());
    const now = Date.now();
    this.errors = problems.map((message) => ({ code: 'restore', message, time: now }));
    this.persister = new DocPersister({
      store: options.store,
      docId: options.docId,
      client: this.client,
      state: () => this.session.state,
      initialError: storageError,
      storedClientSeq,
      ...(options.journalStorage !== undefined ? { journalStorage: options.journalStorage } : {}),
      // In a browser a keystroke's write starts after its paint; tests that pass a schedule keep the microtask.
      ...(options.schedule ? { schedule: options.schedule } : typeof requestAnimationFrame === 'function' ? { startSoon: afterPaint } : {}),
      onChange: () => {
        this.run(this.session.pump());
        this.changed();
      },
    });
    this.snapshots = new SnapshotStore(() => this.computeSnapshot());
  }

  /** The live state (read-only use: the editor's initial text, tests). */
  get state(): ClientState {
    return this.session.state;
  }

  /** The local store this document is kept in (null: none). */
  get localStore(): LocalStore | null {
    return this.o.store;
  }

  /** The text people see. */
  text(): string {
    return this.session.state.live.toString();
  }

  /** The first `n` units of the text people see (the title reads 4,000 of a 100-page document). */
  textHead(n: number): string {
    return this.session.state.live.slice(0, n);
  }

  start(): void {
    this.socket.start();
  }

  /** Stops syncing, writes what is queued, lets the slot go. */
  /** The pump a batching interval (P22) is waiting for. */
  private batchTimer: ReturnType<typeof setTimeout> | null = null;

  async close(): Promise<void> {
    if (this.socket.isClosed) return;
    if (this.batchTimer !== null) clearTimeout(this.batchTimer);
    this.batchTimer = null;
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
    const r = this.session.edit(op, kind, meta);
    if (r.ok) {
      this.persister.noteEdit();
      this.changed();
    }
    return r;
  }

  /** The id key (`idKey`) the next local event will have (undo steps are named by it). */
  nextEventKey(): string {
    return `${this.session.state.nextClientSeq}@${this.client}`;
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

  /**
   * Replaces the document's links with `token` as the new edit token (spec A12): the old
   * tokens stop at once and others' sessions on them are closed. Only once the welcome is in
   * (the server must know this connection's role).
   */
  rotateLinks(token: string, timeoutMs = 15_000): Promise<Result<null, CodedError>> {
    if (!this.socket.isOpen() || this.socket.isClosed || !this.session.ready) {
      return Promise.resolve({ ok: false, error: { code: 'offline', message: 'not connected to the server' } });
    }
    return this.linkRotation.request(token, timeoutMs);
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
    const pending = this.session.state.pending.length;
    return {
      status: syncStatus(this.socket.isOpen(), this.session.ready, pending, this.session.slow),
      pending,
      storageError: this.persister?.error ?? null,
      unstored: this.persister?.unstored ?? 0,
      errors: this.errors,
      peers: this.presence.others(),
      fatal: this.fatal,
      fatalCode: this.fatalCode,
      role: this.session.role,
    };
  }

  private problem(code: string, message: string): void {
    this.errors = [...this.errors.slice(-4), { code, message, time: Date.now() }];
  }

  // ---- the connection ----------------------------------------------------------------

  private send(msg: ClientMessage): void {
    this.socket.send(msg);
  }

  /** The socket is being dropped: what belonged to its connection goes with it. */
  private dropped(): void {
    this.session.dropped();
    this.historyRequests.failAll('the connection was lost');
    this.linkRotation.failAll('the connection was lost');
    this.presence.disconnected();
  }

  /** Carries out the session's effects, in order. */
  private run(effects: readonly SessionEffect[]): void {
    for (const e of effects) {
      switch (e.type) {
        case 'send':
          this.send(e.message);
          break;
        case 'reconnect':
          this.socket.reconnectAfter(e.afterMs);
          break;
        case 'close':
          this.socket.drop();
          break;
        case 'reset':
          this.persister.noteReset();
          break;
        case 'confirmed':
          this.persister.noteConfirmed(e.events, e.rebased);
          this.emitConfirmed(e.events, e.reset);
          break;
        case 'live':
          this.emit(e.changes);
          break;
        case 'caught-up':
          this.presence.joined();
          break;
        case 'problem':
          this.problem(e.code, e.message);
          if (e.fatal) {
            this.fatal = fatalText(e.code, e.message);
            this.fatalCode = e.code;
          }
          break;
        case 'other': {
          const m = e.message;
          if (m.type === 'history-page') this.historyRequests.answer(m);
          else if (m.type === 'links-rotated') this.linkRotation.answer(m);
          else if (m.type === 'presence' || m.type === 'presence-batch' || m.type === 'presence-leave') this.presence.heard(m);
          // `behind` and `slow-down` change only the session's `slow`, which the status reads.
          else if (m.type === 'behind' || m.type === 'slow-down') this.changed();
          break;
        }
      }
    }
    // The outbox may be empty now: presence may go out.
    if (effects.length > 0 && this.session.ready && this.session.state.pending.length === 0) this.presence.announce();
    // Asked to batch (P22): what waits goes out once the interval has passed.
    const delay = this.session.pumpDelayMs;
    if (delay !== null && this.batchTimer === null && !this.socket.isClosed) {
      this.batchTimer = setTimeout(() => {
        this.batchTimer = null;
        this.run(this.session.pump());
      }, delay);
    }
  }

  private emit(changes: readonly LiveChange[]): void {
    if (changes.length === 0) return;
    for (const f of [...this.remoteListeners]) f(changes);
  }
}
