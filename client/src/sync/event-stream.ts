/**
 * The events of one connection, both ways: the outbox going out in `submit`s, and
 * confirmed events and acks coming in, each passed on to the local store (the persister)
 * and to the listeners.
 *
 *   - Out: what the outbox has unsent goes in batches of at most `maxBatch`, several in
 *     flight, each event only once the local store holds it (O1:
 *     `DocPersister.sendableUpTo`); the persister's `onChange` pumps again when it does.
 *   - In, strictly in seq order (the caller sees to that): events from others, and our
 *     own either as acks, which confirm the outbox head, or as events (a welcome after a
 *     reconnect holds those whose acks the lost connection never brought). The log's form
 *     of an acked event goes to the stored tail; the ack carries no `base`, so the base its
 *     batch was submitted with is remembered per clientSeq until it is confirmed.
 *   - Others' events arriving while the outbox is not empty rebase it: the persister is
 *     told, so it writes the outbox's new forms too.
 */
import type {
  ClientMessage,
  ClientState,
  CodedError,
  DocEvent,
  EventId,
  LiveChange,
  LocalEvent,
} from '../../../shared/src/index.js';
import type { DocPersister } from '../local/persister.js';

/** What the stream needs from the sync client. */
export interface EventStreamOwner {
  /** The live state (replaced when a welcome's checkpoint starts it over). */
  state(): ClientState;
  /** Submits may go out: caught up, on an open socket. */
  maySubmit(): boolean;
  send(msg: ClientMessage): void;
  /** Newly confirmed events, in seq order, for `onConfirmed` (never a reset here). */
  confirmed(events: readonly DocEvent[]): void;
  /** Changes to the live text, for the editor. */
  remote(changes: readonly LiveChange[]): void;
  /** The outbox may be empty now: presence may go out. */
  announce(): void;
  /** A stream result that is not ok: report, re-sync. */
  streamError(e: CodedError): false;
}

export class EventStream {
  private readonly client: string;
  private readonly persister: DocPersister;
  private readonly maxBatch: number;
  private readonly owner: EventStreamOwner;
  /** Batch base of each sent event (by clientSeq), for the tail copy of acked events. */
  private readonly sentBase = new Map<number, number>();

  constructor(client: string, persister: DocPersister, maxBatch: number, owner: EventStreamOwner) {
    this.client = client;
    this.persister = persister;
    this.maxBatch = maxBatch;
    this.owner = owner;
  }

  /** Sends what the outbox has unsent and stored, in batches. */
  pump(): void {
    if (!this.owner.maySubmit()) return;
    const st = this.owner.state();
    const upTo = this.persister.sendableUpTo();
    const max = this.maxBatch;
    for (;;) {
      let n = 0;
      for (const p of st.pending) {
        if (p.sent) continue;
        if (p.event.id.clientSeq > upTo || n >= max) break;
        n++;
      }
      if (n === 0) return;
      const batch = st.takeBatch(n);
      if (!batch) return;
      for (const e of batch.events) this.sentBase.set(e.id.clientSeq, batch.base);
      this.owner.send({ type: 'submit', base: batch.base, events: batch.events as LocalEvent[] as never });
    }
  }

  /** Confirmed events from the server, in seq order. */
  receive(events: readonly DocEvent[]): boolean {
    const st = this.owner.state();
    const before = st.confirmedSeq;
    const hadPending = st.pending.length > 0;
    const r = st.receive(events);
    if (!r.ok) return this.owner.streamError(r.error);
    const fresh = events.filter((e) => e.seq > before);
    if (fresh.length > 0) {
      const rebased = hadPending && fresh.some((e) => e.id.client !== this.client);
      this.persister.noteConfirmed(fresh, rebased);
      this.owner.confirmed(fresh);
      for (const e of fresh) if (e.id.client === this.client) this.sentBase.delete(e.id.clientSeq);
    }
    if (r.value.length > 0) this.owner.remote(r.value);
    if (st.pending.length === 0) this.owner.announce();
    return true;
  }

  /** The server appended our event `id` at `seq` (`serverTime`: its clock then, if it says). */
  ack(id: EventId, seq: number, serverTime?: number): void {
    const st = this.owner.state();
    const head = st.pending[0]?.event;
    const before = st.confirmedSeq;
    const r = st.ack(id, seq);
    if (!r.ok) {
      this.owner.streamError(r.error);
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
        // The server's clock from the ack (the history panel shows it); an older server's ack has none.
        time: serverTime ?? Date.now(),
        op: head.op,
        kind: head.kind,
        ...(head.meta !== undefined ? { meta: head.meta } : {}),
      };
      this.persister.noteConfirmed([ev], false);
      this.owner.confirmed([ev]);
      if (st.pending.length === 0) this.owner.announce();
    }
  }
}
