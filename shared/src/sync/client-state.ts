/**
 * A client's side of sync, as a pure state machine: the confirmed document (the log
 * prefix it has received, at `confirmedSeq`), the outbox of its own events the log
 * does not have yet, and the live document people see and type into (confirmed, then
 * the outbox). The browser wires it to a socket and IndexedDB; the tests to a
 * simulated network.
 *
 * Rules that make it agree with the sequencer (see sequencer.ts):
 *   - the server's stream is taken strictly in seq order; anything else is a `gap` and
 *     the caller re-syncs from `confirmedSeq`;
 *   - a remote event rebases the whole outbox, sent or not (sync/rebase.ts);
 *   - an own event comes back as an ack (or, from another connection, as the event):
 *     it must be the outbox's head, which is then confirmed in the form the client
 *     holds, the same form the server computed;
 *   - batches go out in order, each with base = confirmedSeq at the time of sending,
 *     several may be in flight; after a disconnect everything unconfirmed goes again.
 */
import type { Op } from '../op/op.js';
import { opsEqual } from '../op/op.js';
import type { DocEvent, EventId, EventKind, EventMeta, LocalEvent } from '../log/event.js';
import { idKey, sameId } from '../log/event.js';
import type { Checkpoint } from '../log/checkpoint.js';
import { ropeFromCheckpoint } from '../log/checkpoint.js';
import { Rope } from '../text/rope.js';
import { rebase } from './rebase.js';
import type { SubmitBatch } from './sequencer.js';
import { type Result, type CodedError, ok, err } from '../result.js';

/** An outbox entry: the event in its current form (rebased over what arrived since). */
export interface PendingEvent {
  readonly event: LocalEvent;
  /** Whether it went out on the current connection. */
  sent: boolean;
}

/** A change for the editor: apply `op` to the live text; its inserts are by `author`. */
export interface LiveChange {
  readonly op: Op;
  readonly author: string;
}

export type ClientErrorCode = 'gap' | 'unexpected-ack' | 'diverged' | 'op-out-of-range' | 'op-delete-mismatch';

export interface ClientStateInit {
  readonly client: string;
  readonly author: string;
  /** Where the confirmed document starts (null: empty, seq 0). */
  readonly checkpoint?: Checkpoint | null;
  /** Confirmed events after the checkpoint (a locally stored tail). */
  readonly tail?: readonly DocEvent[];
  /** A restored outbox, in order, in forms that apply after the tail. */
  readonly outbox?: readonly LocalEvent[];
  /** The next clientSeq to use; must be above every id this client ever used. */
  readonly nextClientSeq?: number;
}

export class ClientState {
  readonly client: string;
  readonly author: string;
  private seq: number;
  private readonly confirmedText: Rope;
  private liveText: Rope;
  private readonly outbox: PendingEvent[] = [];
  private nextSeq: number;

  constructor(init: ClientStateInit) {
    this.client = init.client;
    this.author = init.author;
    const cp = init.checkpoint ?? null;
    this.confirmedText = cp === null ? Rope.empty() : ropeFromCheckpoint(cp);
    this.seq = cp === null ? 0 : cp.seq;
    for (const ev of init.tail ?? []) {
      if (ev.seq !== this.seq + 1) throw new Error(`client state: tail has seq ${ev.seq} after ${this.seq}`);
      this.confirmedText.applyTrusted(ev.op, this.confirmedText.authorId(ev.author));
      this.seq = ev.seq;
    }
    this.liveText = this.confirmedText.clone();
    let maxSeq = 0;
    for (const e of init.outbox ?? []) {
      this.liveText.applyTrusted(e.op, this.liveText.authorId(e.author));
      this.outbox.push({ event: e, sent: false });
      maxSeq = Math.max(maxSeq, e.id.clientSeq);
    }
    this.nextSeq = Math.max(init.nextClientSeq ?? 1, maxSeq + 1);
  }

  /** The last seq received from the server. */
  get confirmedSeq(): number {
    return this.seq;
  }

  get confirmed(): Rope {
    return this.confirmedText;
  }

  /** What the user sees: confirmed plus the outbox. */
  get live(): Rope {
    return this.liveText;
  }

  get pending(): readonly PendingEvent[] {
    return this.outbox;
  }

  get nextClientSeq(): number {
    return this.nextSeq;
  }

  /** A local edit on the live text. Refused (changing nothing) if it does not fit. */
  edit(op: Op, kind: EventKind = 'edit', meta?: EventMeta): Result<LocalEvent, CodedError<ClientErrorCode>> {
    const r = this.liveText.apply(op, this.author);
    if (!r.ok) return err(r.error.code as ClientErrorCode, r.error.message);
    const event: LocalEvent = {
      id: { client: this.client, clientSeq: this.nextSeq++ },
      author: this.author,
      op,
      kind,
      ...(meta !== undefined ? { meta } : {}),
    };
    this.outbox.push({ event, sent: false });
    return ok(event);
  }

  /** The outbox events not yet sent on this connection, as one batch (null if none). */
  takeBatch(max = Infinity): SubmitBatch | null {
    const events: LocalEvent[] = [];
    for (const p of this.outbox) {
      if (p.sent) continue;
      if (events.length >= max) break;
      p.sent = true;
      events.push(p.event);
    }
    return events.length === 0 ? null : { base: this.seq, events };
  }

  /** The connection is gone: everything unconfirmed goes out again on the next one. */
  disconnected(): void {
    for (const p of this.outbox) p.sent = false;
  }

  /**
   * The server appended our event `id` at `seq`. `op`, when the server sends it, is
   * checked against the outbox's form (a guard against divergence, used in tests).
   */
  ack(id: EventId, seq: number, op?: Op): Result<null, CodedError<ClientErrorCode>> {
    if (seq <= this.seq) return ok(null); // already seen (e.g. echoed on another connection)
    if (seq !== this.seq + 1) return err('gap', `ack for seq ${seq} while at ${this.seq}`);
    const head = this.outbox[0];
    if (head === undefined || !sameId(head.event.id, id)) {
      return err('unexpected-ack', `ack for ${idKey(id)}, but the outbox starts with ${head ? idKey(head.event.id) : 'nothing'}`);
    }
    if (op !== undefined && !opsEqual(op, head.event.op)) {
      return err('diverged', `own event ${idKey(id)} was sequenced in another form than the outbox holds`);
    }
    this.confirm(head.event.op, head.event.author);
    return ok(null);
  }

  /**
   * Events from the server, in seq order. Returns the changes to make to the live
   * text, in order. Events already received are skipped.
   */
  receive(events: readonly DocEvent[]): Result<LiveChange[], CodedError<ClientErrorCode>> {
    const changes: LiveChange[] = [];
    let i = 0;
    while (i < events.length && events[i].seq <= this.seq) i++;
    while (i < events.length) {
      const ev = events[i];
      if (ev.seq !== this.seq + 1) return err('gap', `got seq ${ev.seq} while at ${this.seq}`);
      const head = this.outbox[0];
      if (head !== undefined && sameId(head.event.id, ev.id)) {
        if (!opsEqual(head.event.op, ev.op)) {
          return err('diverged', `own event ${idKey(ev.id)} came back in another form than the outbox holds`);
        }
        this.confirm(ev.op, ev.author);
        i++;
        continue;
      }
      // A run of others' events up to the next own one.
      let j = i;
      while (j < events.length && !(head !== undefined && sameId(head.event.id, events[j].id))) {
        if (events[j].seq !== this.seq + 1 + (j - i)) return err('gap', `got seq ${events[j].seq} after ${this.seq + (j - i)}`);
        j++;
      }
      this.applyRemote(events.slice(i, j), changes);
      i = j;
    }
    return ok(changes);
  }

  private confirm(op: Op, author: string): void {
    this.confirmedText.applyTrusted(op, this.confirmedText.authorId(author));
    this.outbox.shift();
    this.seq++;
  }

  private applyRemote(run: readonly DocEvent[], changes: LiveChange[]): void {
    const conf = this.confirmedText;
    for (const ev of run) conf.applyTrusted(ev.op, conf.authorId(ev.author));
    this.seq += run.length;
    const r = rebase(
      this.outbox.map((p) => p.event.op),
      run.map((ev) => ev.op),
    );
    for (let k = 0; k < this.outbox.length; k++) {
      const p = this.outbox[k];
      this.outbox[k] = { event: { ...p.event, op: r.pending[k] }, sent: p.sent };
    }
    const live = this.liveText;
    for (let k = 0; k < run.length; k++) {
      live.applyTrusted(r.remote[k], live.authorId(run[k].author));
      changes.push({ op: r.remote[k], author: run[k].author });
    }
  }
}
