/**
 * The sequencer: the one place that appends to a document's log (L1). It takes batches
 * of a client's events, made at some older `base`, and turns each into a log event that
 * applies to the head, or refuses the batch whole, appending nothing.
 *
 * What an incoming op means. A client sends its events in order, several batches may
 * be in flight at once, and each batch says `base`: the last seq the client had
 * received. Its ops apply to the client's own view: the log up to base, then its own
 * earlier events that are not in that prefix, in the form the client had for them at
 * that moment. The sequencer rebuilds that view by replaying what the client did: it
 * walks the log from the oldest base involved, keeps the client's own events (as they
 * were sent) pending, adds each when the walk reaches the base it was sent at, rebases
 * the pending ones over everyone else's events (sync/rebase.ts, the same code the
 * client runs) and retires each when the walk reaches its seq. At the head the new
 * events' forms are exactly what the client will compute when it sees the same log,
 * so both sides agree without the server ever asking.
 *
 * This needs the ops as sent for the client's recent events; they are kept for a
 * window of recent seqs. When they are gone (after a restart) and the client still has
 * events in flight, the batch is refused with `rebase-required` and the client
 * re-syncs: it then has none of its own events after its base, and the walk is plain.
 *
 * Duplicates (L3): an event whose clientSeq the client already used is answered with
 * the seq it got the first time, never appended again. A gap in clientSeqs (an earlier
 * batch was refused) refuses the batch: the client must resend from the first event the
 * log lacks. So does a batch at an older base than its author's previous event was
 * appended at: a client's bases only grow, so it can only be a replaced connection's
 * last frames, read after the new connection's resend, and made on a form of that
 * previous event the walk does not have.
 */
import type { Op } from '../op/op.js';
import { checkOp } from '../op/apply.js';
import type { AuthorRun } from '../text/authorship.js';
import type { DocEvent, EventId, LocalEvent } from '../log/event.js';
import { idKey } from '../log/event.js';
import type { Rope } from '../text/rope.js';
import { rebasePending } from './rebase.js';
import { type Result, type CodedError, ok, err } from '../result.js';

/** Read access to the committed log, for what the sequencer's memory no longer holds. */
export interface SequencerLog {
  /**
   * The last seq the log holds (committed). Events above it exist only in the
   * sequencer's memory until the caller commits them, so the window never drops them.
   */
  readonly head: number;
  /** Committed events with from < seq ≤ to, in seq order. */
  range(from: number, to: number): readonly DocEvent[];
  /** The seq of the event with this id, if it was appended. */
  seqOf(id: EventId): number | undefined;
  /** The highest clientSeq appended for this client; 0 if none. */
  lastClientSeq(client: string): number;
}

/** Events of one client, in clientSeq order, made on the view described above. */
export interface SubmitBatch {
  readonly base: number;
  readonly events: readonly LocalEvent[];
}

export type SubmitErrorCode =
  | 'base-ahead'
  | 'wrong-client'
  | 'out-of-order'
  | 'rebase-required'
  | 'doc-too-large'
  | 'op-out-of-range'
  | 'op-delete-mismatch';

/** Which events of a batch were appended, and which were already in the log. */
export interface SubmitOutcome {
  readonly appended: readonly DocEvent[];
  readonly duplicates: readonly { readonly id: EventId; readonly seq: number }[];
}

export interface SequencerOptions {
  /** Largest document, in UTF-16 units. */
  maxDocLength?: number;
  /** How many recent events (and their sent forms) stay in memory. */
  window?: number;
}

interface Sent {
  readonly op: Op;
  readonly base: number;
}

export class Sequencer {
  private headSeq: number;
  private readonly recent: DocEvent[] = []; // seqs recentFrom+1 … head
  private recentFrom: number;
  private readonly sent = new Map<number, Sent>(); // seq → op and base as the client sent them
  private readonly recentIds = new Map<string, number>();
  private readonly lastCs = new Map<string, number>();
  /** What takes back each event sequenced here and not yet committed (seq order), for `rewind`. */
  private readonly undo = new Map<number, { readonly op: Op; readonly deleted: AuthorRun[][] }>();
  private readonly maxDocLength: number;
  private readonly window: number;

  /** `text` is the document at `head` and becomes the sequencer's own. */
  constructor(
    readonly docId: string,
    private readonly log: SequencerLog,
    readonly text: Rope,
    head: number,
    opts: SequencerOptions = {},
  ) {
    this.headSeq = head;
    this.recentFrom = head;
    this.maxDocLength = opts.maxDocLength ?? 64 * 1024 * 1024;
    this.window = opts.window ?? 20_000;
  }

  get head(): number {
    return this.headSeq;
  }

  /**
   * Takes over what `prev` (the sequencer this one replaces after a reload) remembered of
   * how committed events (seq ≤ `upTo`) were sent, so a client's next batch made at a base
   * before them still finds their forms. Only committed seqs: those are the same events in
   * the log the new sequencer reads; what `prev` sequenced beyond them was never stored.
   */
  adoptSent(prev: Sequencer, upTo: number): void {
    const keepFrom = Math.max(0, upTo - this.window);
    for (const [seq, sent] of prev.sent) if (seq <= upTo && seq > keepFrom) this.sent.set(seq, sent);
  }

  /**
   * Sequences a batch from `client` at server time `now`. On success the appended
   * events are the sequencer's state already; the caller commits them before
   * acknowledging (L2). If the commit fails, the caller must drop this sequencer and
   * build a new one from the store.
   */
  submit(client: string, batch: SubmitBatch, now: number): Result<SubmitOutcome, CodedError<SubmitErrorCode>> {
    const { base, events } = batch;
    if (!Number.isInteger(base) || base < 0 || base > this.headSeq) {
      return err('base-ahead', `base ${base} is not a seq of this document (head is ${this.headSeq})`);
    }
    let last = this.lastClientSeq(client);
    const duplicates: { id: EventId; seq: number }[] = [];
    const fresh: LocalEvent[] = [];
    for (const e of events) {
      if (e.id.client !== client) {
        return err('wrong-client', `event ${idKey(e.id)} is not from client ${client}`);
      }
      if (e.id.clientSeq <= last && fresh.length === 0) {
        const seq = this.seqOf(e.id);
        if (seq === undefined) {
          return err('out-of-order', `event ${idKey(e.id)} reuses a clientSeq already used by another event`);
        }
        duplicates.push({ id: e.id, seq });
        continue;
      }
      if (e.id.clientSeq !== last + 1) {
        return err('out-of-order', `event ${idKey(e.id)} follows clientSeq ${last}: resend from ${last + 1}`);
      }
      fresh.push(e);
      last = e.id.clientSeq;
    }
    if (fresh.length === 0) return ok({ appended: [], duplicates });
    // A client's bases never go down: a batch at an older base than the one its previous
    // event was (re)sent at comes from a connection it has since replaced, and was made
    // on a form of that event the walk no longer knows.
    const prevBase = this.sentBaseOf({ client, clientSeq: fresh[0].id.clientSeq - 1 });
    if (prevBase !== undefined && base < prevBase) {
      return err('out-of-order', `event ${idKey(fresh[0].id)} is made at base ${base}, but the event before it was sent at base ${prevBase}: a replaced connection's; resend from the current one`);
    }

    const forms = this.formsAtHead(client, base, fresh.map((e) => e.op));
    if (!forms.ok) return forms;

    // Check and apply one by one; on a bad op, take back what this batch applied.
    const applied: { op: Op; deleted: AuthorRun[][] }[] = [];
    const rollback = () => {
      for (let k = applied.length - 1; k >= 0; k--) this.text.revert(applied[k].op, applied[k].deleted);
    };
    for (let i = 0; i < fresh.length; i++) {
      const op = forms.value[i];
      const checked = checkOp(op, this.text.length, (a, b) => this.text.slice(a, b));
      if (!checked.ok) {
        rollback();
        return err(checked.error.code as SubmitErrorCode, `event ${idKey(fresh[i].id)}: ${checked.error.message}`);
      }
      applied.push({ op, deleted: this.text.applyRevertible(op, this.text.authorId(fresh[i].author)) });
      if (this.text.length > this.maxDocLength) {
        rollback();
        return err('doc-too-large', `the document would exceed ${this.maxDocLength} units`);
      }
    }

    // Committed events can no longer be taken back: forget how (their map entries come first).
    for (const seq of this.undo.keys()) {
      if (seq > this.log.head) break;
      this.undo.delete(seq);
    }
    const appended: DocEvent[] = [];
    for (let i = 0; i < fresh.length; i++) {
      const e = fresh[i];
      const ev: DocEvent = {
        id: e.id,
        seq: ++this.headSeq,
        base,
        author: e.author,
        time: now,
        op: forms.value[i],
        kind: e.kind,
        ...(e.meta !== undefined ? { meta: e.meta } : {}),
      };
      appended.push(ev);
      this.remember(ev, { op: e.op, base });
      this.undo.set(ev.seq, applied[i]);
    }
    this.lastCs.set(client, last);
    return ok({ appended, duplicates });
  }

  /**
   * Takes back everything sequenced after `to` (the committed head), newest first, as if
   * it had never been submitted: the text, the recent window, the ids and the clients'
   * last clientSeqs return to what they were at `to`. For an append that lost a race to
   * another node (R26): the events another node committed at those seqs are adopted
   * next and the lost batches sequenced again over them, with the sequencer's memory
   * (its window of recent events and their sent forms) kept, unlike a reload. Throws if
   * `to` is below the log's head (a committed event cannot be taken back) or above the head.
   */
  rewind(to: number): void {
    if (!Number.isInteger(to) || to > this.headSeq || to < this.log.head) {
      throw new Error(`sequencer ${this.docId}: cannot rewind to ${to} (head ${this.headSeq}, committed ${this.log.head})`);
    }
    const n = this.headSeq - to;
    if (n === 0) return;
    if (this.recent.length < n) throw new Error(`sequencer ${this.docId}: uncommitted events left the window`);
    const dropped = this.recent.splice(this.recent.length - n, n);
    const firstCs = new Map<string, number>();
    for (let k = dropped.length - 1; k >= 0; k--) {
      const ev = dropped[k];
      const u = this.undo.get(ev.seq);
      if (u === undefined) throw new Error(`sequencer ${this.docId}: no way to take back seq ${ev.seq}`);
      this.text.revert(u.op, u.deleted);
      this.undo.delete(ev.seq);
      this.recentIds.delete(idKey(ev.id));
      this.sent.delete(ev.seq);
      firstCs.set(ev.id.client, ev.id.clientSeq);
    }
    // A client's sequenced events are consecutive clientSeqs after its committed ones.
    for (const [client, cs] of firstCs) this.lastCs.set(client, cs - 1);
    this.headSeq = to;
  }

  /**
   * Takes events another appender committed (another server node, over the same
   * database) as the sequencer's own next seqs: `events` must continue the head
   * gaplessly, and nothing may be sequenced here and not yet committed (the caller
   * waits for its commits first; a lost race is the store's to report). They are
   * remembered without the forms they were sent in, so a client whose own events came
   * through another node and who still has events in flight gets `rebase-required` and
   * re-syncs, as after a restart. Throws on a gap or an op that does not apply: the log
   * is the truth, so either is a bug or a corrupt log.
   */
  adopt(events: readonly DocEvent[]): void {
    for (const ev of events) {
      if (ev.seq !== this.headSeq + 1) throw new Error(`sequencer ${this.docId}: adopted seq ${ev.seq} does not follow the head ${this.headSeq}`);
      const applied = this.text.apply(ev.op, ev.author);
      if (!applied.ok) throw new Error(`sequencer ${this.docId}: adopted event ${idKey(ev.id)} at ${ev.seq}: ${applied.error.message}`);
      this.headSeq = ev.seq;
      this.remember(ev, null);
      // A cached clientSeq would be stale; an uncached one is read from the log, which has these.
      const cs = this.lastCs.get(ev.id.client);
      if (cs !== undefined && ev.id.clientSeq > cs) this.lastCs.set(ev.id.client, ev.id.clientSeq);
    }
  }

  /** The seq of an appended event, or undefined. */
  seqOf(id: EventId): number | undefined {
    return this.recentIds.get(idKey(id)) ?? this.log.seqOf(id);
  }

  /** The base an appended event was sent at; undefined if it was not appended. */
  private sentBaseOf(id: EventId): number | undefined {
    if (id.clientSeq < 1) return undefined;
    const seq = this.seqOf(id);
    if (seq === undefined) return undefined;
    return this.sent.get(seq)?.base ?? this.log.range(seq - 1, seq)[0]?.base;
  }

  private lastClientSeq(client: string): number {
    let n = this.lastCs.get(client);
    if (n === undefined) {
      n = this.log.lastClientSeq(client);
      this.lastCs.set(client, n);
    }
    return n;
  }

  /** Replays the client's view (see the essay) to find the new ops' forms at the head. */
  private formsAtHead(client: string, base: number, ops: Op[]): Result<Op[], CodedError<SubmitErrorCode>> {
    // The client's own events after `from` must be walked too, from the oldest base
    // any of them was sent at; extend until no earlier base turns up.
    let from = base;
    let tail = this.events(from, this.headSeq);
    // The client's own events in the walk, collected in the same pass.
    let own: DocEvent[] = [];
    for (;;) {
      let lowest = from;
      own = [];
      for (const ev of tail) {
        if (ev.id.client !== client) continue;
        own.push(ev);
        const s = this.sent.get(ev.seq);
        if (s === undefined) {
          return err('rebase-required', `this server no longer has the form in which event ${idKey(ev.id)} was sent: re-sync and resend`);
        }
        if (s.base < lowest) lowest = s.base;
      }
      if (lowest === from) break;
      tail = this.events(lowest, from).concat(tail);
      from = lowest;
    }

    if (own.length === 0) return ok(rebasePending(ops, tail.map((ev) => ev.op)));

    let pending: Op[] = [];
    let next = 0; // next own event to add
    let batchAdded = false;
    const addDue = (at: number) => {
      while (next < own.length && (this.sent.get(own[next].seq) as Sent).base <= at) {
        pending.push((this.sent.get(own[next].seq) as Sent).op);
        next++;
      }
      if (!batchAdded && base <= at && next === own.length) {
        pending.push(...ops);
        batchAdded = true;
      }
    };
    let run: Op[] = [];
    const flush = () => {
      if (run.length > 0) pending = rebasePending(pending, run);
      run = [];
    };
    // When the next thing joins the pending list; it only changes when something joins.
    let due = dueAt(this.sent, own, next, base, batchAdded);
    for (let i = 0; i < tail.length; i++) {
      const ev = tail[i];
      const at = ev.seq - 1;
      if (due <= at) {
        flush();
        addDue(at);
        due = dueAt(this.sent, own, next, base, batchAdded);
      }
      if (ev.id.client === client) {
        flush();
        pending.shift(); // the walk reached this own event: the client has it confirmed
      } else {
        run.push(ev.op);
      }
    }
    flush();
    addDue(this.headSeq);
    return ok(pending.slice(pending.length - ops.length));
  }

  /** Events with from < seq ≤ to, from memory where possible. */
  private events(from: number, to: number): DocEvent[] {
    if (to <= from) return [];
    if (from >= this.recentFrom) return this.recent.slice(from - this.recentFrom, to - this.recentFrom);
    const older = this.log.range(from, Math.min(to, this.recentFrom)).slice();
    if (to <= this.recentFrom) return older;
    return older.concat(this.recent.slice(0, to - this.recentFrom));
  }

  private remember(ev: DocEvent, sent: Sent | null): void {
    this.recent.push(ev);
    this.recentIds.set(idKey(ev.id), ev.seq);
    if (sent !== null) this.sent.set(ev.seq, sent);
    if (this.recent.length > this.window * 2) {
      // Only what the log can give back may leave memory: sequenced events wait for their
      // commit, and a walk over one the log lacks would rebase past a hole.
      const readable = Math.min(this.recent.length - this.window, this.log.head - this.recentFrom);
      if (readable <= 0) return;
      const drop = this.recent.splice(0, readable);
      for (const d of drop) {
        this.recentIds.delete(idKey(d.id));
        this.sent.delete(d.seq);
      }
      this.recentFrom += drop.length;
    }
  }
}

/** The earliest version at which something is due to join the pending list. */
function dueAt(sent: Map<number, Sent>, own: readonly DocEvent[], next: number, base: number, batchAdded: boolean): number {
  if (next < own.length) return (sent.get(own[next].seq) as Sent).base;
  return batchAdded ? Infinity : base;
}
