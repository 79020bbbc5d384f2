/**
 * Undo and redo in the browser (issue 5, docs/spec.md U1-U3), over the pure core in
 * shared/src/history: `UndoHistory` (the stacks, a fold over the log) and `revertEvents`
 * (the op that takes a step back, tracking characters so nobody else's text is touched).
 *
 * Nothing here is kept only in memory. The stacks are folded from the author's own
 * events: the confirmed ones the browser holds (the local store's tail and history cache,
 * read once after the text shows, then every confirmed event as it arrives) followed by
 * the outbox. So a reload, or going offline, walks the same stacks; an undo is an event
 * in the outbox like any edit and goes out when the network is back.
 *
 * One undo: take `nextUndo()` of the fold; bring the log from the step's first event to
 * the head into memory (the event source: memory, then IndexedDB, then the server's
 * history); then, synchronously so nothing moves underneath, build the view (confirmed
 * events in seq order, then the outbox in its current forms), compute the revert op and
 * append it as an `undo` event naming the step (`meta.target`). Redo likewise. An empty
 * op (everything of the step was deleted by others) is still appended, so the stacks
 * stay derived from the log. When the history cannot be had (offline and not stored
 * here) the snapshot carries a short message instead.
 */
import {
  UndoHistory,
  idKey,
  revertEvents,
  type CodedError,
  type DocEvent,
  type EventId,
  type EventKind,
  type EventMeta,
  type LocalEvent,
  type Op,
  type Result,
  type UndoFoldEvent,
} from '../../../shared/src/index.js';
import type { EventSource } from '../history/event-source.js';

/** What the controller needs of the sync client (`SyncClient` fits). */
export interface UndoClient {
  readonly docId: string;
  readonly state: {
    readonly author: string;
    readonly confirmedSeq: number;
    readonly pending: readonly { readonly event: LocalEvent }[];
  };
  onConfirmed(f: (events: readonly DocEvent[], reset: boolean) => void): () => void;
  /** Called after every change of the client's state (edits, acks, arrivals). */
  subscribe(f: () => void): () => void;
  /** Writes what is queued to the local store (so the first fold reads every event confirmed so far). */
  flushStorage?(): Promise<void>;
}

/** What the controller needs of the local store (`LocalStore` fits). */
export interface UndoLocalEvents {
  firstEventSeq(docId: string): Promise<Result<number, CodedError>>;
  events(docId: string, from: number, to: number, limit?: number): Promise<Result<DocEvent[], CodedError>>;
}

/** Applies an undo or redo op to the live text and the editor (the binding supplies it). */
export type UndoApplier = (op: Op, kind: EventKind, meta: EventMeta) => Result<LocalEvent, CodedError>;

/** For the buttons. */
export interface UndoSnapshot {
  /** The stored history has been folded (before that, undo waits). */
  readonly ready: boolean;
  readonly canUndo: boolean;
  readonly canRedo: boolean;
  /** An undo or redo is fetching history. */
  readonly busy: boolean;
  /** Why the last undo or redo did nothing (null: it worked, or none yet). */
  readonly message: string | null;
}

export interface UndoControllerOptions {
  readonly client: UndoClient;
  readonly source: EventSource;
  readonly local: UndoLocalEvents | null;
  /** Events read per local page during the first fold. */
  readonly scanPage?: number;
}

interface Folded {
  readonly history: UndoHistory;
  /** Own confirmed event (id key) → seq. */
  readonly seqOf: Map<string, number>;
  /** How many of `ownSeqs` are folded, and the version of `own` then. */
  ownLen: number;
  ownVersion: number;
  /** The outbox events folded after them (id keys), and the outbox length then. */
  pendingKeys: string[];
  pendingLen: number;
}

function sameKey(key: string | undefined, e: LocalEvent): boolean {
  return key === idKey(e.id);
}

export type UndoOutcome = 'done' | 'nothing' | 'busy' | 'not-ready' | 'failed';

export class UndoController {
  private readonly o: UndoControllerOptions;
  /** The author's confirmed events, by seq (only what the fold needs). */
  private readonly own = new Map<number, UndoFoldEvent & { seq: number }>();
  /** The seqs of `own`, ascending (they mostly arrive in order: appends are O(1)). */
  private ownSeqs: number[] = [];
  private ownSorted = true;
  private ownVersion = 0;
  private folded: Folded | null = null;
  private ready = false;
  private busy = false;
  private message: string | null = null;
  private applier: UndoApplier | null = null;
  private snap: UndoSnapshot = { ready: false, canUndo: false, canRedo: false, busy: false, message: null };
  private readonly listeners = new Set<() => void>();
  private readonly offs: (() => void)[] = [];
  private closed = false;

  constructor(options: UndoControllerOptions) {
    this.o = options;
  }

  /** Starts following the client and folds the stored history (after the current task). */
  start(): void {
    const c = this.o.client;
    this.offs.push(
      c.onConfirmed((events) => {
        for (const e of events) this.takeConfirmed(e);
      }),
    );
    this.offs.push(c.subscribe(() => this.refresh()));
    setTimeout(() => void this.scanStored(), 0);
  }

  close(): void {
    this.closed = true;
    for (const off of this.offs.splice(0)) off();
    this.listeners.clear();
    this.applier = null;
  }

  /** The editor binding says how to apply an op (null: detached). */
  attach(applier: UndoApplier | null): void {
    this.applier = applier;
  }

  subscribe = (f: () => void): (() => void) => {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  };

  getSnapshot = (): UndoSnapshot => this.snap;

  /** The fold as it stands (tests, the history panel). */
  history(): UndoHistory {
    return this.fold().history;
  }

  undo(): Promise<UndoOutcome> {
    return this.act('undo');
  }

  redo(): Promise<UndoOutcome> {
    return this.act('redo');
  }

  /** Clears the message (a new edit was made). */
  clearMessage(): void {
    if (this.message === null) return;
    this.message = null;
    this.refresh();
  }

  // ---- the fold ----------------------------------------------------------------------

  private takeConfirmed(e: DocEvent): void {
    if (e.author !== this.o.client.state.author || this.own.has(e.seq)) return;
    this.own.set(e.seq, { id: e.id, author: e.author, kind: e.kind, ...(e.meta !== undefined ? { meta: e.meta } : {}), seq: e.seq });
    const last = this.ownSeqs[this.ownSeqs.length - 1];
    if (last !== undefined && e.seq < last) this.ownSorted = false;
    this.ownSeqs.push(e.seq);
    this.ownVersion++;
  }

  /** Reads the author's events from the local store's tail and history cache, once. */
  private async scanStored(): Promise<void> {
    const local = this.o.local;
    if (local !== null && !this.closed) {
      // Events confirmed before `start()` subscribed may still be queued for the store:
      // write them first, so that they are read below (later ones arrive through onConfirmed).
      await this.o.client.flushStorage?.().catch(() => undefined);
      const docId = this.o.client.docId;
      const first = await local.firstEventSeq(docId);
      if (first.ok && first.value > 0) {
        const page = this.o.scanPage ?? 5000;
        let from = first.value - 1;
        const to = this.o.client.state.confirmedSeq;
        while (from < to && !this.closed) {
          const r = await local.events(docId, from, to, page);
          if (!r.ok || r.value.length === 0) break;
          for (const e of r.value) this.takeConfirmed(e);
          from = r.value[r.value.length - 1].seq;
        }
      }
    }
    this.ready = true;
    this.refresh();
  }

  /**
   * The fold over own confirmed events (seq order), then the outbox. Kept up to date
   * incrementally: a keystroke appends to the outbox, an ack moves the outbox's head to
   * the confirmed events, and both leave the folded sequence a prefix of the new one, so
   * only the new events are added. Anything else (the stored events read after open,
   * another tab's events of the same author landing before our outbox) rebuilds it.
   * (A fold of 20,000 events takes about 20 ms: not something to do per keystroke.)
   */
  private fold(): Folded {
    const pending = this.o.client.state.pending;
    const f = this.folded;
    if (f !== null && f.ownVersion === this.ownVersion && f.pendingLen === pending.length && (pending.length === 0 || sameKey(f.pendingKeys[0], pending[0].event))) {
      return f;
    }
    if (f !== null && this.ownSorted && f.ownLen <= this.ownSeqs.length) {
      // The new sequence: ownSeqs[f.ownLen..] then the outbox; the folded outbox part must be its prefix.
      const fresh: UndoFoldEvent[] = [];
      for (let k = f.ownLen; k < this.ownSeqs.length; k++) fresh.push(this.own.get(this.ownSeqs[k])!);
      for (const p of pending) fresh.push(p.event);
      let ok = fresh.length >= f.pendingKeys.length;
      for (let k = 0; ok && k < f.pendingKeys.length; k++) ok = idKey(fresh[k].id) === f.pendingKeys[k];
      if (ok) {
        for (let k = f.pendingKeys.length; k < fresh.length; k++) f.history.add(fresh[k]);
        for (let k = f.ownLen; k < this.ownSeqs.length; k++) {
          const e = this.own.get(this.ownSeqs[k])!;
          f.seqOf.set(idKey(e.id), e.seq);
        }
        f.ownLen = this.ownSeqs.length;
        f.ownVersion = this.ownVersion;
        f.pendingKeys = pending.map((p) => idKey(p.event.id));
        f.pendingLen = pending.length;
        return f;
      }
    }
    return this.rebuild();
  }

  private rebuild(): Folded {
    const pending = this.o.client.state.pending;
    const history = new UndoHistory(this.o.client.state.author);
    const seqOf = new Map<string, number>();
    if (!this.ownSorted) {
      this.ownSeqs.sort((a, b) => a - b);
      this.ownSorted = true;
    }
    for (const s of this.ownSeqs) {
      const e = this.own.get(s)!;
      seqOf.set(idKey(e.id), s);
      history.add(e);
    }
    for (const p of pending) history.add(p.event);
    this.rebuilds++;
    this.folded = {
      history,
      seqOf,
      ownLen: this.ownSeqs.length,
      ownVersion: this.ownVersion,
      pendingKeys: pending.map((p) => idKey(p.event.id)),
      pendingLen: pending.length,
    };
    return this.folded;
  }

  /** How many times the fold was rebuilt from scratch (tests). */
  rebuilds = 0;

  private refresh(): void {
    if (this.closed) return;
    const h = this.ready ? this.fold().history : null;
    const next: UndoSnapshot = {
      ready: this.ready,
      canUndo: h?.canUndo ?? false,
      canRedo: h?.canRedo ?? false,
      busy: this.busy,
      message: this.message,
    };
    const s = this.snap;
    if (s.ready === next.ready && s.canUndo === next.canUndo && s.canRedo === next.canRedo && s.busy === next.busy && s.message === next.message) return;
    this.snap = next;
    for (const f of [...this.listeners]) f();
  }

  // ---- undo and redo -----------------------------------------------------------------

  private async act(kind: 'undo' | 'redo'): Promise<UndoOutcome> {
    if (!this.ready) return 'not-ready';
    if (this.busy) return 'busy';
    this.busy = true;
    this.refresh();
    try {
      return await this.attempt(kind);
    } finally {
      this.busy = false;
      this.refresh();
    }
  }

  private async attempt(kind: 'undo' | 'redo'): Promise<UndoOutcome> {
    // Fetching may take a while, and events keep arriving: after each fetch check again.
    for (let tries = 0; tries < 5; tries++) {
      const f = this.fold();
      const t = kind === 'undo' ? f.history.nextUndo() : f.history.nextRedo();
      if (t === null) return 'nothing';
      const from = this.stretchFrom(t.events, f.seqOf);
      if (from === null) return this.fail(`Cannot ${kind}: part of that change is not known on this device.`);
      if (this.o.source.memoryRange.from > from) {
        const r = await this.o.source.ensureMemoryFrom(from);
        if (this.closed) return 'failed';
        if (!r.ok) {
          return this.fail(
            r.error.code === 'offline'
              ? `Cannot ${kind} yet: the history it needs is not on this device. Go online and try again.`
              : `Cannot ${kind}: the history could not be loaded (${r.error.message}).`,
          );
        }
        continue; // re-read everything synchronously
      }
      // From here to the append nothing awaits: the view is the state the op applies to.
      const head = this.o.client.state.confirmedSeq;
      const confirmed = this.o.source.inMemory(from, head);
      if (confirmed.length !== head - from) continue; // memory moved (a reset): fetch again
      const view: { id: EventId; op: Op; author: string; kind: EventKind }[] = [];
      for (const e of confirmed) view.push(e);
      for (const p of this.o.client.state.pending) view.push(p.event);
      const h = f.history;
      // Summaries of the confirmed part (the outbox after it is read as is).
      const sums = this.o.source.summaries(from, head);
      const op = revertEvents(
        view,
        t.events,
        { author: this.o.client.state.author, revertedBy: (id) => h.revertedBy(id) },
        // The view starts at the step (stretchFrom): its events are searched forward.
        { summaries: sums.length === confirmed.length ? sums : undefined, groupFrom: 0 },
      );
      if (op === null) return this.fail(`Cannot ${kind}: its history is incomplete on this device.`);
      const apply = this.applier;
      if (apply === null) return this.fail(`Cannot ${kind}: the editor is not ready.`);
      const r = apply(op, kind, { target: t.step });
      if (!r.ok) return this.fail(`Cannot ${kind}: ${r.error.message}`);
      this.message = null;
      return 'done';
    }
    return this.fail(`Cannot ${kind} right now: the document kept changing; try again.`);
  }

  /**
   * Where the stretch of the log that reverting `events` needs begins (a `from`, so
   * events after it): before the earliest confirmed target, or the confirmed head when
   * they are all in the outbox. Null when a target is neither (not known here).
   */
  private stretchFrom(events: readonly EventId[], seqOf: Map<string, number>): number | null {
    let from = this.o.client.state.confirmedSeq;
    const pending = new Set(this.o.client.state.pending.map((p) => idKey(p.event.id)));
    for (const id of events) {
      const k = idKey(id);
      const s = seqOf.get(k);
      if (s !== undefined) from = Math.min(from, s - 1);
      else if (!pending.has(k)) return null;
    }
    return from;
  }

  private fail(message: string): UndoOutcome {
    this.message = message;
    return 'failed';
  }
}
