/**
 * Catching up from a `welcome`: what a connection must receive before its stream is
 * taken and anything is submitted.
 *
 * A welcome brings either the events after the hello's `last`, or a checkpoint and the
 * events after it. Events are simply received. A checkpoint replaces the state only when
 * there is nothing here at all (seq 0, empty outbox): an outbox (or a copy) can only move
 * forward over events, never jump to a checkpoint, since rebasing needs the ops it is
 * rebased over. Otherwise the events the checkpoint skips are fetched with `history`
 * requests, page by page, and the stream is held back meanwhile (messages that arrive are
 * buffered and taken, in order, once caught up): nothing may be taken out of seq order.
 */
import {
  ClientState,
  diffOp,
  type CodedError,
  type DocEvent,
  type HistoryPageMessage,
  type LiveChange,
  type ServerMessage,
  type WelcomeMessage,
} from '../../../shared/src/index.js';

/** What catching up needs from the sync client. */
export interface CatchUpOwner {
  /** The live state. */
  state(): ClientState;
  /** Makes `next` (started from a server checkpoint) the state; the store is to write it whole. */
  replaceState(next: ClientState): void;
  /** Confirmed events that follow a replaced state: to the store, and to `onConfirmed` with `reset`. */
  confirmedAfterReset(events: readonly DocEvent[]): void;
  /** Changes to the live text, for the editor. */
  remote(changes: readonly LiveChange[]): void;
  /** Confirmed events into the state, as the stream takes them; false when that failed (the connection is then lost). */
  receive(events: readonly DocEvent[]): boolean;
  /** A stream result that is not ok: report, re-sync. */
  streamError(e: CodedError): false;
  /** Caught up: submits and presence may go out. */
  caughtUp(): void;
  /** Sends a `history` request whose answer comes back through `historyPage`; returns its reqId. */
  requestHistory(from: number, to: number): number;
  /** Takes a held-back message, as if it arrived now. */
  take(msg: ServerMessage): void;
  /** A socket still exists (taking a held-back message may have lost the connection). */
  connected(): boolean;
}

interface Pending {
  readonly welcome: WelcomeMessage;
  readonly buffered: ServerMessage[];
  reqId: number;
}

export class CatchUp {
  private readonly client: string;
  private readonly owner: CatchUpOwner;
  private pending: Pending | null = null;

  constructor(client: string, owner: CatchUpOwner) {
    this.client = client;
    this.owner = owner;
  }

  /** The stream is held back: a welcome's skipped events are being fetched. */
  get holding(): boolean {
    return this.pending !== null;
  }

  /** Keeps a stream message until caught up (only while `holding`). */
  hold(msg: ServerMessage): void {
    this.pending?.buffered.push(msg);
  }

  /** The connection is gone: what it was catching up on is void (the next welcome starts again). */
  cancel(): void {
    this.pending = null;
  }

  welcome(msg: WelcomeMessage): void {
    const st = this.owner.state();
    const cp = msg.checkpoint;
    if (cp !== null && cp.seq > st.confirmedSeq) {
      if (st.pending.length === 0 && st.confirmedSeq === 0) {
        // Nothing here yet: start from the checkpoint.
        const before = st.live.toString();
        const next = new ClientState({
          client: this.client,
          author: st.author,
          checkpoint: cp,
          nextClientSeq: st.nextClientSeq,
        });
        this.owner.replaceState(next);
        const r = next.receive(msg.events);
        if (!r.ok) {
          this.owner.streamError(r.error);
          return;
        }
        const fresh = msg.events.filter((e) => e.seq > cp.seq);
        this.owner.confirmedAfterReset(fresh);
        this.owner.remote([diffChange(before, next.live.toString())]);
        this.owner.caughtUp();
        return;
      }
      // An outbox (or a copy) can only move forward over events: fetch what the checkpoint skips.
      const cu: Pending = { welcome: msg, buffered: [], reqId: 0 };
      this.pending = cu;
      cu.reqId = this.owner.requestHistory(st.confirmedSeq, cp.seq);
      return;
    }
    if (!this.owner.receive(msg.events)) return;
    this.owner.caughtUp();
  }

  /** A history page for the stream: the next part of what the welcome's checkpoint skipped. */
  historyPage(msg: HistoryPageMessage): void {
    const cu = this.pending;
    if (!cu || msg.reqId !== cu.reqId) return;
    if (!this.owner.receive(msg.events)) return;
    const target = cu.welcome.checkpoint?.seq ?? 0;
    if (msg.next !== null && this.owner.state().confirmedSeq < target) {
      cu.reqId = this.owner.requestHistory(msg.next, target);
      return;
    }
    this.pending = null;
    if (!this.owner.receive(cu.welcome.events)) return;
    this.owner.caughtUp();
    for (const m of cu.buffered) if (this.owner.connected()) this.owner.take(m);
  }
}

/** The change from `a` to `b` as one op (common prefix and suffix kept). */
export function diffChange(a: string, b: string): LiveChange {
  return { op: diffOp(a, b), author: '' };
}
