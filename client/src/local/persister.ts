/**
 * Keeps one document's `ClientState` written to the local store (O1).
 *
 * The rule: a local edit counts as done once it is in IndexedDB. The editor shows a
 * keystroke at once (it must), but the sync layer may send an event only after the
 * transaction holding it has committed: `sendableUpTo()` is the highest clientSeq it
 * may send. So an event the server has acknowledged is always one a reload would
 * have restored, and a reload at any moment loses no acknowledged or stored edit.
 *
 * Writes are batched: changes accumulate (new local events, confirmed events for the
 * tail, a rebased outbox) and go out as one transaction at the next animation frame,
 * with at most one transaction in flight. Each write describes the state at the moment
 * it is built, so what is stored is always a state the client had.
 *
 * A checkpoint goes with a write every `checkpointEvery` confirmed events, and when
 * the document has been idle for `idleMs` with confirmed events since the last one.
 *
 * Failures: a failed write is reported (`error`), its changes stay queued, and the
 * persister switches to memory mode: sending is no longer held back (edits keep
 * syncing), and the next attempt, `retryMs` later or at the next change after that,
 * rewrites the outbox whole. When a write succeeds again the error clears. Without a
 * store (IndexedDB unavailable) it is in memory mode for good.
 */
import { checkpointOf, type ClientState, type DocEvent, type LocalEvent } from '../../../shared/src/index.js';
import { TITLE_SCAN } from '../markdown/title.js';
import { type LocalStore, type StorageError, type DocWrite, titleOf } from './local-store.js';
import { defaultJournalStorage, removeJournal, writeJournal, type JournalStorage } from './journal.js';

export interface PersisterOptions {
  /** null: nothing is stored (memory mode for good; `initialError` says why). */
  readonly store: LocalStore | null;
  readonly docId: string;
  readonly client: string;
  /** The current state (it may be replaced, e.g. when the server sends a checkpoint). */
  readonly state: () => ClientState;
  /** Why there is no store, shown until ... forever. */
  readonly initialError?: StorageError | null;
  /** Highest clientSeq already stored (what was restored). */
  readonly storedClientSeq?: number;
  /** Runs `f` at the next write opportunity (by default the next animation frame). */
  readonly schedule?: (f: () => void) => void;
  /**
   * With nothing in flight and no write started for this long, a change is written at once
   * (after the current task, so a synchronous burst is one write) instead of at the next
   * frame: at most one transaction per frame either way, and a lone keystroke is stored
   * within milliseconds.
   */
  readonly minGapMs?: number;
  /**
   * How a write that may start at once (see `minGapMs`) is started: by default after the
   * current task's code (a microtask). The browser's client passes `afterPaint`.
   */
  readonly startSoon?: (f: () => void) => void;
  /** Where `journal()` writes synchronously (localStorage by default; null: nowhere). */
  readonly journalStorage?: JournalStorage | null;
  readonly now?: () => number;
  readonly checkpointEvery?: number;
  readonly idleMs?: number;
  readonly retryMs?: number;
  /** Most confirmed events kept queued while writes fail; beyond it a checkpoint replaces them. */
  readonly maxQueuedTail?: number;
  /** The error or `sendableUpTo()` changed. */
  readonly onChange?: () => void;
}

export class DocPersister {
  private readonly o: PersisterOptions;
  private readonly schedule: (f: () => void) => void;
  private readonly now: () => number;
  private readonly checkpointEvery: number;
  private readonly idleMs: number;
  private readonly retryMs: number;
  private readonly maxQueuedTail: number;

  private err: StorageError | null;
  private failing = false;
  private written: number;
  private tail: DocEvent[] = [];
  private replaceOutbox = false;
  private edits = false;
  private textChanged = false;
  private wantCheckpoint = false;
  private forceCheckpoint = false;
  private sinceCheckpoint = 0;
  private scheduled = false;
  /** The last write started (writes commit in the order they start: same object stores). */
  private inflight: Promise<void> | null = null;
  private inflightCount = 0;
  /** Tails of the writes in flight, oldest first (they complete in that order). */
  private readonly inflightTails: (readonly DocEvent[])[] = [];
  private journaled = false;
  private lastStart = Number.NEGATIVE_INFINITY;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryAt = 0;
  private closed = false;

  constructor(options: PersisterOptions) {
    this.o = options;
    this.schedule = options.schedule ?? nextFrame;
    this.now = options.now ?? Date.now;
    this.checkpointEvery = options.checkpointEvery ?? 500;
    this.idleMs = options.idleMs ?? 2000;
    this.retryMs = options.retryMs ?? 5000;
    this.maxQueuedTail = options.maxQueuedTail ?? 20_000;
    this.err = options.store === null ? (options.initialError ?? { code: 'unavailable', message: 'storage is unavailable' }) : null;
    this.written = options.storedClientSeq ?? 0;
  }

  /** The last storage failure, until a write succeeds again. */
  get error(): StorageError | null {
    return this.err;
  }

  /** Whether edits are only in memory (no store, or writes failing). */
  get memoryOnly(): boolean {
    return this.o.store === null || this.failing;
  }

  /**
   * Own events made but not in the store while writes fail (0 without a store: those pages
   * use a fresh client id each time, so the server's copy is all that matters).
   */
  get unstored(): number {
    if (this.o.store === null || !this.failing) return 0;
    return Math.max(0, this.o.state().nextClientSeq - 1 - this.written);
  }

  /** The highest clientSeq the sync layer may send. */
  sendableUpTo(): number {
    return this.memoryOnly ? Number.POSITIVE_INFINITY : this.written;
  }

  /** Whether something is waiting to be written or being written. */
  get busy(): boolean {
    return this.inflight !== null || this.dirty;
  }

  private get dirty(): boolean {
    return this.edits || this.tail.length > 0 || this.replaceOutbox || this.wantCheckpoint || this.textChanged;
  }

  /** New local events were made (ClientState.edit). */
  noteEdit(): void {
    this.edits = true;
    this.textChanged = true;
    this.kick();
    // In memory mode no write will come to say "sendable": say it now (once per burst),
    // or the edits would wait for the next retry, or forever without a store.
    if (this.memoryOnly) this.notifySoon();
  }

  private notifyQueued = false;

  private notifySoon(): void {
    if (this.notifyQueued || this.closed) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      if (!this.closed) this.o.onChange?.();
    });
  }

  /**
   * Events were confirmed (received, or own acks as log events). `rebased`: others'
   * events arrived while the outbox was not empty, so its forms changed.
   */
  noteConfirmed(events: readonly DocEvent[], rebased: boolean): void {
    if (events.length === 0) return;
    for (const e of events) this.tail.push(e);
    if (rebased) this.replaceOutbox = true;
    this.textChanged = true;
    this.sinceCheckpoint += events.length;
    if (this.sinceCheckpoint >= this.checkpointEvery) this.wantCheckpoint = true;
    if (this.tail.length > this.maxQueuedTail) {
      // Writes have been failing for long: a checkpoint at the current state replaces the queue.
      this.tail = [];
      this.wantCheckpoint = true;
      this.replaceOutbox = true;
    }
    this.kick();
  }

  /** The outbox forms changed without new confirmed events (e.g. while restoring). */
  noteRebased(): void {
    this.replaceOutbox = true;
    this.kick();
  }

  /**
   * The state was replaced wholesale (a checkpoint from the server): store a checkpoint of
   * it and the whole outbox.
   */
  noteReset(): void {
    this.tail = [];
    this.replaceOutbox = true;
    this.wantCheckpoint = true;
    this.forceCheckpoint = true;
    this.textChanged = true;
    this.kick();
  }

  /** Writes what is queued now (and waits for it); resolves when nothing is queued. */
  async flush(): Promise<void> {
    for (let guard = 0; guard < 100; guard++) {
      if (this.inflight) {
        await this.inflight;
        if (this.failing) return;
        continue;
      }
      if (!this.dirty || this.o.store === null || this.closed) return;
      this.startWrite();
    }
  }

  /**
   * The page is about to go: record synchronously what the store may not have yet (see
   * journal.ts), and start writing it too. Returns whether a journal was written.
   */
  journal(): boolean {
    if (this.o.store === null || this.closed) return false;
    const uncommitted = this.inflightTails.length > 0 || this.dirty;
    if (!uncommitted || this.forceCheckpoint) {
      this.flushNow();
      return false;
    }
    const st = this.o.state();
    const pend = st.pending;
    const tail: DocEvent[] = [];
    for (const t of this.inflightTails) for (const e of t) tail.push(e);
    for (const e of this.tail) tail.push(e);
    const write: DocWrite = {
      tail,
      outbox: { replace: true, events: pend.map((p) => p.event) },
      outboxHead: pend.length > 0 ? pend[0].event.id.clientSeq : st.nextClientSeq,
      outboxBase: st.confirmedSeq,
      outboxSize: pend.length,
      nextClientSeq: st.nextClientSeq,
    };
    const storage = this.o.journalStorage === undefined ? defaultJournalStorage() : this.o.journalStorage;
    this.journaled = writeJournal(storage, { v: 1, docId: this.o.docId, client: this.o.client, write });
    this.flushNow();
    return this.journaled;
  }

  /**
   * Starts a write of what is queued right now, even with another in flight (the page is
   * going away: pagehide). IndexedDB runs the two in the order they were made.
   */
  flushNow(): void {
    if (this.dirty && this.o.store !== null && !this.closed) this.startWrite();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.retryTimer);
  }

  private kick(): void {
    if (this.o.store === null || this.closed) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.idle(), this.idleMs);
    if (this.failing && this.now() < this.retryAt) return; // the retry timer will come
    if (this.scheduled || this.inflight) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      if (!this.inflight && this.dirty && !this.closed) this.startWrite();
    };
    const gap = this.o.minGapMs ?? 16;
    if (Number.isFinite(gap) && this.now() - this.lastStart >= gap) (this.o.startSoon ?? queueMicrotask)(run);
    else this.schedule(run);
  }

  private idle(): void {
    if (this.closed) return;
    if (this.sinceCheckpoint > 0) {
      this.wantCheckpoint = true;
      this.kick();
    }
  }

  private startWrite(): void {
    const store = this.o.store;
    if (store === null) return;
    const st = this.o.state();
    const pend = st.pending;
    const replace = this.replaceOutbox;
    const events: LocalEvent[] = [];
    for (const p of pend) if (replace || p.event.id.clientSeq > this.written) events.push(p.event);
    const tail = this.tail;
    const cp = this.wantCheckpoint ? checkpointOf(this.o.docId, st.confirmedSeq, st.confirmed) : undefined;
    const live = st.live;
    const summary = this.textChanged ? { title: titleOf(live.slice(0, Math.min(live.length, TITLE_SCAN))), updatedAt: this.now() } : undefined;
    const upTo = st.nextClientSeq - 1;
    const w: DocWrite = {
      tail,
      outbox: { replace, events },
      outboxHead: pend.length > 0 ? pend[0].event.id.clientSeq : st.nextClientSeq,
      outboxBase: st.confirmedSeq,
      outboxSize: pend.length,
      nextClientSeq: st.nextClientSeq,
      ...(cp ? { checkpoint: cp, forceCheckpoint: this.forceCheckpoint } : {}),
      ...(summary ? { summary } : {}),
    };
    this.tail = [];
    this.replaceOutbox = false;
    this.edits = false;
    this.textChanged = false;
    this.wantCheckpoint = false;
    const forced = this.forceCheckpoint;
    this.forceCheckpoint = false;
    const seenSinceCheckpoint = this.sinceCheckpoint;

    this.lastStart = this.now();
    this.inflightCount++;
    this.inflightTails.push(tail);
    const journaledBefore = this.journaled;
    const started = store.write(this.o.docId, this.o.client, w).then((r) => {
      if (--this.inflightCount === 0) this.inflight = null;
      this.inflightTails.shift();
      if (r.ok) {
        if (journaledBefore && this.journaled && !this.dirty && this.inflightCount === 0) {
          // Everything the journal held is stored now (the page lived on: bfcache).
          const storage = this.o.journalStorage === undefined ? defaultJournalStorage() : this.o.journalStorage;
          removeJournal(storage, this.o.docId, this.o.client);
          this.journaled = false;
        }
        this.written = Math.max(this.written, upTo);
        this.failing = false;
        if (this.err !== null && this.o.store !== null) this.err = null;
        if (cp) this.sinceCheckpoint = Math.max(0, this.sinceCheckpoint - seenSinceCheckpoint);
        this.o.onChange?.();
      } else {
        // Keep everything for the next attempt, which rewrites the outbox whole.
        this.tail = tail.concat(this.tail);
        this.replaceOutbox = true;
        this.edits = true;
        if (summary) this.textChanged = true;
        if (cp) this.wantCheckpoint = true;
        if (forced) this.forceCheckpoint = true;
        this.failing = true;
        this.err = r.error;
        this.retryAt = this.now() + this.retryMs;
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => {
          this.retryAt = 0;
          this.kick();
        }, this.retryMs);
        this.o.onChange?.();
        return;
      }
      if (this.dirty) this.kick();
    });
    this.inflight = started;
  }
}

/** The next animation frame, or a short timer where frames do not run (hidden tabs, workers). */
export function nextFrame(f: () => void): void {
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    f();
  };
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(run);
  setTimeout(run, 50);
}

/**
 * After the next frame's paint: a task posted from the frame's animation callbacks runs once
 * its style, layout and paint are done. A keystroke's write started in a microtask of the
 * keystroke ran its IndexedDB calls inside the key's handling, before its paint (C22).
 */
export function afterPaint(f: () => void): void {
  nextFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      f();
    };
    channel.port2.postMessage(null);
  });
}
