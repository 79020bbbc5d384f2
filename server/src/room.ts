/**
 * A room is one open document on the server: the shell around the core's `RoomCore`
 * (shared/src/room/room-core.ts), which decides everything per document (welcomes,
 * history pages, the stream after a group commit, presence, what a submit produces).
 * The shell adds what is not pure: the store behind the core's `RoomLog` (asynchronous:
 * every core step runs through room-reads.ts, which fetches what it reads), the sockets
 * the core's `Send`s go to, the clock, the checkpoint writes, and the bookkeeping the
 * commit queue and the hub need (`pending`, `broken`).
 *
 * It also keeps the log as encoded blocks (block-cache.ts) and builds welcomes and
 * history pages, binary frames (shared/src/protocol/frames.ts), from them, so a frame the
 * core describes by seqs is mostly cached bytes instead of a read and an encode. What
 * goes out decodes to exactly what `welcomeMessage` and `historyPageMessage` would give
 * (server/test/block-cache.test.ts checks it).
 */
import {
  RoomCore,
  planWelcome,
  PROTOCOL_VERSION,
  encodeServerMessage,
  encodeServerFrame,
  encodeWelcomeFrame,
  encodeHistoryFrame,
  type CommitItem as CoreCommitItem,
  type CatchUpPlan,
  type Cursor,
  type DocEvent,
  type HistoryMessage,
  type HistoryPlan,
  type RoomLog,
  type RoomPeer,
  type Send,
  type SequencerOptions,
  type ServerMessage,
  type User,
  type WelcomePlan,
  type SubmitBatch,
  type SubmitErrorCode,
  type CodedError,
  type Result,
  type RemoteClient,
  ok,
  err,
} from '../../shared/src/index.js';
import type { LogStore } from './store/log-store.js';
import type { Logger } from './options.js';
import { BlockCache } from './block-cache.js';
import { RoomReads } from './room-reads.js';
import type { ClusterRoom } from './cluster/fanout.js';
import { FanOut } from './fan-out.js';
import { PresencePacer } from './presence-pacer.js';

export { MAX_PAGE_CHECKPOINTS } from '../../shared/src/index.js';

/** What a room needs of a connection: what the core needs, a way to send frames, and its output's backlog. */
export interface Peer extends RoomPeer {
  /** Sends an encoded server message (text: JSON; bytes: a binary frame); a closed peer drops it. */
  sendRaw(data: string | Uint8Array): void;
  /** Bytes sent but not yet handed to the kernel (`ws`'s bufferedAmount). */
  readonly backlog: number;
  /** Calls `then` once, when the backlog has fallen to `below` bytes or less; never if the connection closes first. */
  whenDrained(below: number, then: () => void): void;
}

/** One sequenced submit waiting for its commit, with the room it belongs to (the commit queue groups by it). */
export interface CommitItem extends CoreCommitItem<Peer> {
  readonly room: Room;
  /** The batch as the client sent it: sequenced again if the append loses a race (commit-queue.ts). */
  readonly batch: SubmitBatch;
}

export interface RoomOptions {
  readonly store: LogStore;
  readonly log: Logger;
  readonly sequencer: SequencerOptions;
  /** A server checkpoint after this many committed events. */
  readonly checkpointEvery: number;
  /** Server clock, ms since the epoch. */
  readonly now: () => number;
  /** Other server nodes of the same database (DATABASE_URL): told of commits and presence. */
  readonly cluster?: RoomCluster;
  /** A connection's send budget, bytes (K15; SyncOptions.sendBudgetBytes). */
  readonly sendBudgetBytes?: number;
  /** Median staleness of submits (ms) past which editors are asked to batch (K16). */
  readonly targetLagMs?: number;
}

/** What a room tells the other nodes (cluster/fanout.ts). */
export interface RoomCluster {
  committed(docId: string, seq: number): void;
  presence(docId: string, client: string, user: User, cursor: Cursor): void;
  left(docId: string, client: string): void;
}

export class Room implements ClusterRoom {
  private core!: RoomCore<Peer>;
  /** The store, as the core reads it (synchronously, step by step). */
  private readonly reads: RoomReads;
  /** Commit items of this room still in the queue. */
  pending = 0;
  /** Set when the room could not be rebuilt from the store: it must be dropped. */
  broken = false;
  /** The log as encoded blocks, for welcomes and history pages. */
  private readonly blocks: BlockCache;
  /** Send budgets: who falls behind, and their catch-up when drained (fan-out.ts). */
  private readonly fanOut: FanOut;
  /** Presence in a crowded document, coalesced (presence-pacer.ts). */
  private readonly presencePacer = new PresencePacer<Peer>(
    (peer, cursor, user) => {
      if (this.core.peers.has(peer)) this.deliver(this.core.presence(peer, cursor, user));
    },
    (moves) => this.deliver(this.core.presenceBatch(moves)),
  );

  /** A checkpoint write is in flight (one at a time: the next is due again until it lands). */
  private checkpointing = false;

  private constructor(
    readonly docId: string,
    private readonly opts: RoomOptions,
  ) {
    this.reads = new RoomReads(opts.store, docId);
    this.blocks = new BlockCache(this.reads);
    this.fanOut = new FanOut(opts.sendBudgetBytes ?? Infinity, (peer) => this.drained(peer));
  }

  /** Loads the document from the store: latest checkpoint plus the tail. Rejects if the store does. */
  static async open(docId: string, opts: RoomOptions): Promise<Room> {
    const room = new Room(docId, opts);
    const { reads } = room;
    room.core = await reads.run(() => new RoomCore(docId, reads, room.coreOptions()), { freshHead: true });
    room.afterLoad();
    return room;
  }

  private coreOptions() {
    const { sequencer, checkpointEvery, targetLagMs } = this.opts;
    return { sequencer, checkpointEvery, ...(targetLagMs !== undefined ? { targetLagMs } : {}) };
  }

  get committedHead(): number {
    return this.core.committedHead;
  }

  get sequencerHead(): number {
    return this.core.sequencerHead;
  }

  get peers(): ReadonlySet<Peer> {
    return this.core.peers;
  }

  /** Whether `peer` fell behind its send budget and waits to drain (P21; tests and diagnostics). */
  isBehind(peer: Peer): boolean {
    return this.core.isBehind(peer);
  }

  /** The document's text at the sequencer's head (tests and debugging). */
  text(): string {
    return this.core.text();
  }

  private afterLoad(): void {
    const { head, checkpoint } = this.core.loaded;
    this.reads.committed = head;
    this.blocks.reset(head);
    if (checkpoint !== null) this.blocks.keepCheckpoint(checkpoint);
    this.checkpoint();
  }

  /**
   * The store is the truth again (after a failed commit): see RoomCore.reload. `swapped`
   * runs in the same turn as the swap, before anything else can be sequenced on the new
   * sequencer (the commit queue drops what the old one sequenced). Rejects if the store
   * does, with the room unchanged.
   */
  async reload(swapped: () => void = () => {}, opts: { keepSent?: boolean } = {}): Promise<void> {
    const sends = await this.reads.run(
      () => {
        const out = this.core.reload(opts);
        swapped();
        return out;
      },
      { freshHead: true },
    );
    this.afterLoad();
    this.deliver(sends);
  }

  /**
   * Adds `peer` and sends its welcome and the presence messages; refuses a `last` beyond
   * the committed head. Rejects if the store does, before anything changed.
   */
  async join(peer: Peer, last: number): Promise<Result<null, CodedError<'base-ahead' | 'store-failed'>>> {
    if (last > this.core.committedHead) {
      const shorter = await this.catchUpTo(last);
      if (!shorter && last > this.core.committedHead) {
        // The log has `last` but this room could not reach it in time: its own commit was still
        // in flight after every wait (a database restarting under it). Not the client's state
        // being foreign to this log (base-ahead, fatal): it tries again after its backoff.
        return err('store-failed', `the server has not caught up to seq ${last} of this document yet (it is at ${this.core.committedHead}); re-sync`);
      }
    }
    return this.reads.run(() => {
      // The welcome's frame is built (the one step that may read the store) before the core
      // adds the peer, so a failing (or missing) read leaves the room as it was.
      const plan = planWelcome(this.docId, peer.role, last, this.core.committedHead, this.core.newestCheckpoint);
      if (!plan.ok) return plan;
      const welcome = this.welcomeFrame(plan.value);
      const r = this.core.join(peer, last);
      if (!r.ok) return r;
      peer.sendRaw(welcome);
      this.deliver(r.value.sends);
      this.opts.cluster?.presence(this.docId, peer.client, peer.user, peer.cursor);
      return ok(null);
    });
  }

  /** Removes `peer`; the others hear it left unless the same client is still here. */
  leave(peer: Peer): void {
    this.deliver(this.core.leave(peer));
    if (this.opts.cluster !== undefined && ![...this.core.peers].some((p) => p.client === peer.client)) {
      this.opts.cluster.left(this.docId, peer.client);
    }
  }

  /**
   * A hello from beyond this room's committed head: with other nodes appending, the log
   * may well have it (the client came from a node further on), so the room reads the
   * log's head and adopts what it lacks before the welcome decides; only a log that really
   * is shorter refuses it (base-ahead, P15). While this room's own commit is in flight it
   * waits for it (a few times 25 ms). A single node's log never runs ahead of its room:
   * one head read, then the refusal as before. True when the log really is shorter than
   * `last` (the welcome then refuses it); false otherwise, caught up or not.
   */
  private async catchUpTo(last: number): Promise<boolean> {
    for (let i = 0; i < 40 && last > this.core.committedHead; i++) {
      const head = await this.opts.store.head(this.docId);
      if (head < last) return true;
      const plan = this.heardCommit(head);
      if (plan === null) return false;
      if (plan === 'wait') {
        await new Promise((r) => setTimeout(r, 25));
        continue;
      }
      const events = await this.opts.store.range(this.docId, plan.from, plan.to);
      const now = this.catchUpPlan();
      if (now !== null && now !== 'wait' && events.some((e) => e.seq === now.from + 1)) this.adoptRemote(events);
    }
    return false;
  }

  /** A connection that fell behind has drained: its welcome from where its stream stopped, then presence. */
  private drained(peer: Peer): void {
    if (this.broken || !this.core.peers.has(peer)) return;
    // The welcome's frame is built (it may read chunks the cache lacks) before the core
    // takes the peer off its behind list, so a step run again after a miss finds it as it was.
    this.reads
      .run(() => {
        if (this.broken || !this.core.peers.has(peer)) return;
        const plan = this.core.drainPlan(peer);
        if (plan === null) return;
        const frame = this.welcomeFrame(plan);
        const d = this.core.drained(peer)!;
        peer.sendRaw(frame);
        this.deliver(d.sends);
      })
      .catch((e: Error) => {
        // A failed store read: the connection re-syncs, as after any loss.
        this.opts.log.warn(`room ${this.docId}: catching up a connection that fell behind failed: ${e.message}`);
        peer.sendRaw(encodeServerMessage({ type: 'error', code: 'store-failed', message: 'the server could not catch you up; re-sync', fatal: false }));
      });
  }

  /** Whether the room can be dropped from memory: nobody here, nothing waiting. */
  get idle(): boolean {
    return this.core.peers.size === 0 && this.pending === 0;
  }

  /**
   * Sequences a batch and hands the item to `commit` (the commit queue) in the same turn,
   * so the queue holds a room's items in seq order however the steps' reads interleave;
   * nothing goes out before it is committed. Rejects if the store does, with nothing sequenced.
   */
  async submit(peer: Peer, batch: SubmitBatch, commit: (item: CommitItem) => void): Promise<Result<null, CodedError<SubmitErrorCode>>> {
    // While the room catches up after a lost race, new submits wait: the ones it sequences
    // again keep their place ahead of them. That holds for a submit whose step was waiting
    // for a read when the catch-up began, too: it finds `catchingUp` set, changes nothing
    // and waits.
    for (;;) {
      while (this.catchingUp !== null) await this.catchingUp;
      const r = await this.sequence(peer, batch, commit, false);
      if (r !== 'wait') return r;
    }
  }

  /** Sequences `batch` now; with `catchUp` false, answers 'wait' instead while the room catches up. */
  sequence(peer: Peer, batch: SubmitBatch, commit: (item: CommitItem) => void, catchUp = true): Promise<Result<null, CodedError<SubmitErrorCode>> | 'wait'> {
    return this.reads.run(() => {
      if (!catchUp && this.catchingUp !== null) return 'wait' as const;
      const r = this.core.submit(peer, batch, this.opts.now());
      if (!r.ok) return r;
      commit({ ...r.value, room: this, batch });
      return ok(null);
    });
  }

  /**
   * Set while the room catches up after its append lost a race (commit-queue.ts): `run`
   * holds new submits until it resolves.
   */
  catchingUp: Promise<void> | null = null;

  /** Runs `f` with new submits held until it is done. */
  async catchUp(f: () => Promise<void>): Promise<void> {
    const done = f();
    this.catchingUp = done.then(
      () => {},
      () => {},
    );
    try {
      await done;
    } finally {
      this.catchingUp = null;
    }
  }

  /**
   * After this room's append lost a race (R26): reads only what the log has beyond the
   * committed head (one read), then in one turn takes back what was sequenced here
   * (`swapped` runs right after, so the commit queue drops what it held of this room) and
   * adopts the other node's events, which every connection gets. The sequencer keeps its
   * memory, so the batches sequenced again need no reads. Rejects if the store does,
   * with the room unchanged.
   */
  async rebaseAfterRace(swapped: () => void): Promise<void> {
    const events = await this.opts.store.range(this.docId, this.core.committedHead, Number.MAX_SAFE_INTEGER);
    // Nothing beyond the committed head: the log is not ahead of this room but behind it
    // (restored from a backup?). Only a reload makes the log the truth again.
    if (events.length === 0) return this.reload(swapped, { keepSent: true });
    this.rewindAndAdopt(events, swapped);
  }

  /** Takes back what was sequenced here, runs `swapped`, adopts `events` (committed elsewhere, continuing the committed head). Reads nothing. */
  rewindAndAdopt(events: readonly DocEvent[], swapped: () => void): void {
    this.core.rewind();
    swapped();
    this.adoptRemote(events);
  }

  /** The queue committed `items` (this room's, in sequencing order): the core's stream goes out. */
  committedItems(items: readonly CommitItem[]): void {
    const events: DocEvent[] = [];
    for (const it of items) for (const e of it.appended) events.push(e);
    // Kept as values: the welcomes to come encode their run without a store read.
    this.blocks.push(events);
    this.deliver(this.fanOut.committed(this.core, items));
    this.deliver(this.core.pace(this.opts.now()));
    this.reads.committed = this.core.committedHead;
    if (events.length > 0) this.opts.cluster?.committed(this.docId, this.core.committedHead);
    this.checkpoint();
    this.warmLater();
  }

  // ---- other nodes (cluster/fanout.ts; the rules are the core's) ----

  /** RoomCore.heardCommit; 'wait' while the room catches up after a lost race (that reload reads the log anyway). */
  heardCommit(seq: number): CatchUpPlan {
    const plan = this.core.heardCommit(seq);
    return this.catchingUp !== null && plan !== null ? 'wait' : plan;
  }

  catchUpPlan(): CatchUpPlan {
    return this.catchingUp !== null ? 'wait' : this.core.catchUpPlan();
  }

  /** Events another node committed, read from the log: every connection here gets them, once, in order. Reads nothing. */
  adoptRemote(events: readonly DocEvent[]): void {
    const fresh = events.filter((e) => e.seq > this.core.committedHead);
    const sends = this.core.adopt(fresh);
    this.reads.committed = this.core.committedHead;
    this.blocks.push(fresh);
    this.deliver(sends);
    this.checkpoint();
    this.warmLater();
  }

  remotePresence(entry: RemoteClient): void {
    this.deliver(this.core.remotePresence(entry));
  }

  remoteLeave(client: string, node: string): void {
    this.deliver(this.core.remoteLeave(client, node));
  }

  expireRemote(now: number): void {
    this.deliver(this.core.expireRemote(now));
  }

  localPresence(): Iterable<Peer> {
    return this.core.peers;
  }

  private warming = false;

  /** Encodes a completed chunk or a new checkpoint after this turn, off the ack's path (block-cache.ts). */
  private warmLater(): void {
    if (this.warming || !this.blocks.cold) return;
    this.warming = true;
    setImmediate(() => {
      if (this.broken) {
        this.warming = false;
        return;
      }
      this.reads.run(() => this.blocks.warm()).then(
        () => (this.warming = false),
        (e) => {
          this.warming = false;
          // Only a store read can fail here (a dropped chunk is read again); the page that needs it will report it.
          this.opts.log.warn(`room ${this.docId}: blocks not encoded ahead: ${(e as Error).message}`);
        },
      );
    });
  }

  /** Writes a checkpoint if one is due (in the background); a failure only costs a longer replay later. */
  private checkpoint(): void {
    if (this.checkpointing) return;
    const cp = this.core.dueCheckpoint();
    if (cp === null) return;
    this.checkpointing = true;
    this.opts.store.putCheckpoint(cp).then(
      (r) => {
        this.checkpointing = false;
        if (!r.ok) return this.opts.log.warn(`room ${this.docId}: checkpoint at ${cp.seq} not stored: ${r.error.message}`);
        this.core.checkpointStored(cp);
        this.blocks.keepCheckpoint(cp);
      },
      (e) => {
        this.checkpointing = false;
        this.opts.log.warn(`room ${this.docId}: checkpoint at ${cp.seq} not stored: ${(e as Error).message}`);
      },
    );
  }

  /** Answers a history request with one page; resolves with its bytes (the read budget charges them). Rejects if the store does. */
  history(peer: Peer, req: HistoryMessage): Promise<number> {
    return this.reads.run(() => {
      const plan = this.core.history(req, this.blocks.beginPage());
      const frame = this.historyFrame(plan);
      peer.sendRaw(frame);
      return frame.length;
    });
  }

  /**
   * A cursor moved (and, with `user`, the name or colour changed): everyone else hears it,
   * at once in a small document, coalesced in a crowded one (presence-pacer.ts). Never logged.
   */
  presence(peer: Peer, cursor: Cursor, user?: User): void {
    this.presencePacer.moved(peer, cursor, user, this.core.peers.size);
    this.opts.cluster?.presence(this.docId, peer.client, peer.user, peer.cursor);
  }

  /**
   * Sends in order; a message sent to several peers (a broadcast, a relay) is encoded once.
   * Live `events` go out as binary frames (P25): bytes that `ws` writes to every socket as
   * they are, where a string would be made into UTF-8 again for each receiver.
   */
  private deliver(sends: readonly Send<Peer>[]): void {
    let last: ServerMessage | null = null;
    let frame: string | Uint8Array = '';
    let frames: Map<ServerMessage, string | Uint8Array> | null = null;
    for (const s of sends) {
      if (s.msg !== last) {
        // Runs of one message are the common case; a message that comes back after
        // another (a broadcast around a submitter's own stream) is looked up.
        if (last !== null) (frames ??= new Map()).set(last, frame);
        last = s.msg;
        frame = frames?.get(s.msg) ?? encodeServerFrame(s.msg);
      }
      s.to.sendRaw(frame);
    }
  }

  /** The binary frame of welcomeMessage(plan, log), from cached blocks. */
  private welcomeFrame(plan: WelcomePlan): Uint8Array {
    return encodeWelcomeFrame(
      { protocol: PROTOCOL_VERSION, docId: plan.docId, role: plan.role, head: plan.head, from: plan.from },
      {
        events: this.blocks.runs(plan.from, plan.head),
        checkpoints: plan.checkpoint !== null ? [this.blocks.checkpointBlock(plan.checkpoint)] : [],
      },
    );
  }

  /** The binary frame of historyPageMessage(plan, log), from cached blocks. */
  private historyFrame(plan: HistoryPlan): Uint8Array {
    return encodeHistoryFrame(
      { reqId: plan.reqId, next: plan.next, from: plan.from, end: plan.end },
      { events: this.blocks.runs(plan.from, plan.end), checkpoints: plan.checkpoints.map((s) => this.blocks.checkpointBlock(s)) },
    );
  }
}
