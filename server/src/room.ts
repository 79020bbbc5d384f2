/**
 * A room is one open document on the server: its sequencer (the only appender, L1),
 * the connections that joined it, and what goes out to them.
 *
 * Two heads. The sequencer's head runs ahead: a submit is sequenced the moment it
 * arrives, so the next submit (pipelined, from anyone) is rebased over it. The
 * committed head follows when the commit queue (commit-queue.ts) has written the group
 * to the store; only then do acks and events go out (L2), in seq order, so every
 * connection sees one gapless stream. Catch-up and history read the store, i.e. only
 * what is committed; a connection that joins between sequencing and commit gets the
 * committed prefix in its welcome and the rest with the next broadcast.
 *
 * If a commit fails, the sequencer has advanced past what is durable. It is then
 * rebuilt from the store (`reload`), exactly as after a restart: clients whose events
 * were lost resend them (their outbox still has them).
 *
 * Every `checkpointEvery` committed events the room writes a server checkpoint, so a
 * new or far-behind client is caught up from a checkpoint plus a short tail, and
 * loading the room replays at most that tail.
 */
import {
  Sequencer,
  replay,
  checkpointOf,
  protocolLimits,
  PROTOCOL_VERSION,
  encodeServerMessage,
  type Checkpoint,
  type Cursor,
  type DocEvent,
  type EventId,
  type SequencerLog,
  type SequencerOptions,
  type ServerMessage,
  type HistoryMessage,
  type User,
  type Role,
  type SubmitBatch,
  type SubmitErrorCode,
  type CodedError,
  type Result,
  ok,
  err,
} from '../../shared/src/index.js';
import type { LogStore } from './store/log-store.js';
import type { Logger } from './options.js';
import { EncodedTail } from './encoded-tail.js';

/** Most checkpoints in one history page; the page ends at the last one it holds. */
export const MAX_PAGE_CHECKPOINTS = 4;

/** What a room needs of a connection. */
export interface Peer {
  readonly client: string;
  user: User;
  /** What the connection may do (its welcome says so). */
  readonly role: Role;
  cursor: Cursor;
  /** Sends an encoded server message; a closed peer drops it. */
  sendRaw(text: string): void;
}

/** One sequenced submit waiting for its commit. */
export interface CommitItem {
  readonly room: Room;
  readonly peer: Peer;
  readonly appended: readonly DocEvent[];
  readonly duplicates: readonly { readonly id: EventId; readonly seq: number }[];
}

export interface RoomOptions {
  readonly store: LogStore;
  readonly log: Logger;
  readonly sequencer: SequencerOptions;
  /** A server checkpoint after this many committed events. */
  readonly checkpointEvery: number;
  /** Server clock, ms since the epoch. */
  readonly now: () => number;
  /**
   * A client further behind than this (or new) is welcomed from a checkpoint. The
   * protocol's `catchUpCheckpointAfter` by default; the simulated network makes it small.
   */
  readonly catchUpAfter?: number;
}

/** The sequencer reads what its memory no longer holds from the store. */
class StoreLog implements SequencerLog {
  constructor(
    private readonly store: LogStore,
    private readonly docId: string,
  ) {}
  get head(): number {
    return this.store.head(this.docId);
  }
  range(from: number, to: number): readonly DocEvent[] {
    return this.store.range(this.docId, from, to);
  }
  seqOf(id: EventId): number | undefined {
    return this.store.seqOf(this.docId, id);
  }
  lastClientSeq(client: string): number {
    return this.store.lastClientSeq(this.docId, client);
  }
}

export class Room {
  private sequencer!: Sequencer;
  private committed = 0;
  private lastCheckpoint = 0;
  /** Commit items of this room still in the queue. */
  pending = 0;
  /** Set when the room could not be rebuilt from the store: it must be dropped. */
  broken = false;
  readonly peers = new Set<Peer>();
  /** The newest committed events and checkpoints as JSON, for welcomes and history pages. */
  private readonly tail = new EncodedTail();

  /** Loads the document from the store: latest checkpoint plus the tail. Throws if the store does. */
  constructor(
    readonly docId: string,
    private readonly opts: RoomOptions,
  ) {
    this.load();
  }

  get committedHead(): number {
    return this.committed;
  }

  get sequencerHead(): number {
    return this.sequencer.head;
  }

  /** The document's text at the sequencer's head (tests and debugging). */
  text(): string {
    return this.sequencer.text.toString();
  }

  private load(): void {
    const { store } = this.opts;
    const head = store.head(this.docId);
    const cp = head > 0 ? store.checkpointAtOrBefore(this.docId, head) : null;
    const from = cp?.seq ?? 0;
    const text = replay(cp, store.range(this.docId, from, head));
    this.sequencer = new Sequencer(this.docId, new StoreLog(store, this.docId), text, head, this.opts.sequencer);
    this.committed = head;
    this.lastCheckpoint = from;
    this.tail.reset(head);
    if (cp !== null) this.tail.keepCheckpoint(cp);
    if (head - from >= this.opts.checkpointEvery) this.checkpoint();
  }

  /**
   * The store is the truth again (after a failed commit): a new sequencer from it. If
   * the store turns out to hold more than was broadcast (a commit reported as failed
   * that did land), the difference goes out now, so no connection's stream has a gap.
   */
  reload(): void {
    const before = this.committed;
    this.load();
    if (this.committed > before) {
      const events = this.opts.store.range(this.docId, before, this.committed);
      if (events.length > 0) this.broadcastRaw(encodeServerMessage({ type: 'events', events }));
    }
  }

  /**
   * Adds `peer` and sends its welcome: a checkpoint plus the tail if it is new or far
   * behind, else the events after `last`. Refuses a `last` beyond the committed head.
   */
  join(peer: Peer, last: number): Result<null, CodedError<'base-ahead'>> {
    const head = this.committed;
    if (last > head) {
      return err('base-ahead', `you have seq ${last}, but this document's log ends at ${head}: it is not the log you synced with`);
    }
    const { store } = this.opts;
    // The frame is spliced from kept JSON (encoded-tail.ts): the same message as
    // encodeServerMessage({ type: 'welcome', protocol, docId, role, head, checkpoint, events }).
    let checkpoint = 'null';
    let from = last;
    if (head > last && (last === 0 || head - last > (this.opts.catchUpAfter ?? protocolLimits.catchUpCheckpointAfter))) {
      // The room writes every checkpoint of its document, so the newest one is lastCheckpoint.
      const kept = this.lastCheckpoint > last ? this.tail.checkpointText(this.lastCheckpoint) : undefined;
      if (kept !== undefined) {
        checkpoint = kept;
        from = this.lastCheckpoint;
      } else {
        const cp = store.checkpointAtOrBefore(this.docId, head);
        if (cp !== null && cp.seq > last) {
          checkpoint = this.tail.keepCheckpoint(cp);
          from = cp.seq;
        }
      }
    }
    const events = this.tail.eventsJson(from, head, (a, b) => store.range(this.docId, a, b));
    peer.sendRaw(
      `{"type":"welcome","protocol":${PROTOCOL_VERSION},"docId":${JSON.stringify(this.docId)},"role":${JSON.stringify(peer.role)},"head":${head},"checkpoint":${checkpoint},"events":${events}}`,
    );
    // Who is here, then tell the others.
    for (const p of this.peers) {
      peer.sendRaw(encodeServerMessage({ type: 'presence', client: p.client, user: p.user, cursor: p.cursor }));
    }
    this.peers.add(peer);
    this.relay(peer, { type: 'presence', client: peer.client, user: peer.user, cursor: peer.cursor });
    return ok(null);
  }

  /** Removes `peer`; the others hear it left unless the same client is still here. */
  leave(peer: Peer): void {
    if (!this.peers.delete(peer)) return;
    for (const p of this.peers) if (p.client === peer.client) return;
    this.relay(peer, { type: 'presence-leave', client: peer.client });
  }

  /** Whether the room can be dropped from memory: nobody here, nothing waiting. */
  get idle(): boolean {
    return this.peers.size === 0 && this.pending === 0;
  }

  /**
   * Sequences a batch. On success the result is a commit item for the queue: nothing
   * goes out until it is committed. A refusal changes nothing.
   */
  submit(peer: Peer, batch: SubmitBatch): Result<CommitItem, CodedError<SubmitErrorCode>> {
    const r = this.sequencer.submit(peer.client, batch, this.opts.now());
    if (!r.ok) return r;
    return ok({ room: this, peer, appended: r.value.appended, duplicates: r.value.duplicates });
  }

  /**
   * The queue committed `items` (this room's, in sequencing order): move the committed
   * head and send each connection its stream in seq order: acks to the submitter,
   * events to everyone else, then the answers for duplicates (their seqs are at or
   * below the head by now).
   */
  committedItems(items: readonly CommitItem[]): void {
    const all: DocEvent[] = [];
    const submitters = new Set<Peer>();
    for (const it of items) {
      for (const e of it.appended) all.push(e);
      if (it.appended.length > 0) submitters.add(it.peer);
    }
    if (all.length > 0) {
      this.committed = all[all.length - 1].seq;
      // Each event is encoded once: for this broadcast and for the welcomes and history pages to come.
      const shared = `{"type":"events","events":[${this.tail.push(all).join(',')}]}`;
      for (const p of this.peers) {
        if (!submitters.has(p)) p.sendRaw(shared);
        else this.sendInterleaved(p, items);
      }
    }
    for (const it of items) {
      if (it.duplicates.length === 0 || !this.peers.has(it.peer)) continue;
      for (const d of it.duplicates) it.peer.sendRaw(encodeServerMessage({ type: 'ack', id: d.id, seq: d.seq }));
    }
    if (this.committed - this.lastCheckpoint >= this.opts.checkpointEvery && this.sequencer.head === this.committed) {
      this.checkpoint();
    }
  }

  /** A submitter's stream: runs of others' events, and an ack where its own event stands. */
  private sendInterleaved(p: Peer, items: readonly CommitItem[]): void {
    let run: DocEvent[] = [];
    for (const it of items) {
      for (const e of it.appended) {
        if (it.peer === p) {
          if (run.length > 0) p.sendRaw(encodeServerMessage({ type: 'events', events: run }));
          run = [];
          p.sendRaw(encodeServerMessage({ type: 'ack', id: e.id, seq: e.seq, time: e.time }));
        } else {
          run.push(e);
        }
      }
    }
    if (run.length > 0) p.sendRaw(encodeServerMessage({ type: 'events', events: run }));
  }

  /** Writes a checkpoint at the head; a failure only costs a longer replay later. */
  private checkpoint(): void {
    const head = this.sequencer.head;
    try {
      const cp = checkpointOf(this.docId, head, this.sequencer.text);
      const r = this.opts.store.putCheckpoint(cp);
      if (r.ok) {
        this.lastCheckpoint = head;
        this.tail.keepCheckpoint(cp);
      }
      else this.opts.log.warn(`room ${this.docId}: checkpoint at ${head} not stored: ${r.error.message}`);
    } catch (e) {
      this.opts.log.warn(`room ${this.docId}: checkpoint at ${head} not stored: ${(e as Error).message}`);
    }
  }

  /**
   * One page of history: events and checkpoints with from < seq ≤ end, where end is
   * `to` clamped to the committed head, at most `limit` events on, and cut at the
   * `MAX_PAGE_CHECKPOINTS`th checkpoint (they can be large), so that a page always holds
   * every checkpoint of its range and `next` continues exactly where it stopped.
   * Returns how many events it sent (the read budget charges them, socket.ts).
   */
  history(peer: Peer, req: HistoryMessage): number {
    const { store } = this.opts;
    const { end, stop, seqs } = this.page(req);
    const checkpoints: string[] = [];
    if (end > req.from) {
      for (const s of seqs) {
        const kept = this.tail.checkpointText(s);
        if (kept !== undefined) checkpoints.push(kept);
        else {
          const cp = store.checkpointAtOrBefore(this.docId, s);
          if (cp !== null && cp.seq === s) checkpoints.push(JSON.stringify(cp));
        }
      }
    }
    const events = this.tail.eventsJson(req.from, end, (a, b) => store.range(this.docId, a, b));
    const next = end < stop ? end : null;
    // Spliced as in join(): the same message as encodeServerMessage({ type: 'history-page', reqId, events, checkpoints, next }).
    peer.sendRaw(`{"type":"history-page","reqId":${req.reqId},"events":${events},"checkpoints":[${checkpoints.join(',')}],"next":${next}}`);
    return end - req.from;
  }

  /** A cursor moved (and, with `user`, the name or colour changed): everyone else hears it. Never logged. */
  presence(peer: Peer, cursor: Cursor, user?: User): void {
    peer.cursor = cursor;
    if (user !== undefined) peer.user = user;
    this.relay(peer, { type: 'presence', client: peer.client, user: peer.user, cursor });
  }

  private relay(from: Peer, msg: ServerMessage): void {
    if (this.peers.size <= 1 && this.peers.has(from)) return;
    const text = encodeServerMessage(msg);
    for (const p of this.peers) if (p !== from) p.sendRaw(text);
  }

  private broadcastRaw(text: string): void {
    for (const p of this.peers) p.sendRaw(text);
  }

  /** Where a history page ends (`stop`: where the request ends) and the checkpoints it holds. */
  private page(req: HistoryMessage): { end: number; stop: number; seqs: readonly number[] } {
    const stop = Math.min(req.to, this.committed);
    let end = Math.max(req.from, Math.min(stop, req.from + req.limit));
    let seqs: number[] = [];
    if (end > req.from) {
      seqs = this.opts.store.checkpointSeqs(this.docId, req.from + 1, end);
      if (seqs.length > MAX_PAGE_CHECKPOINTS) {
        end = seqs[MAX_PAGE_CHECKPOINTS - 1];
        seqs = seqs.slice(0, MAX_PAGE_CHECKPOINTS);
      }
    }
    return { end, stop, seqs };
  }
}
