/**
 * A room is one open document on the server: the shell around the core's `RoomCore`
 * (shared/src/room/room-core.ts), which decides everything per document (welcomes,
 * history pages, the stream after a group commit, presence, what a submit produces).
 * The shell adds what is not pure: the store behind the core's `RoomLog`, the sockets
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
  encodeWelcomeFrame,
  encodeHistoryFrame,
  type Checkpoint,
  type CommitItem as CoreCommitItem,
  type Cursor,
  type DocEvent,
  type EventId,
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
  ok,
} from '../../shared/src/index.js';
import type { LogStore } from './store/log-store.js';
import type { Logger } from './options.js';
import { BlockCache } from './block-cache.js';
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
}

export interface RoomOptions {
  readonly store: LogStore;
  readonly log: Logger;
  readonly sequencer: SequencerOptions;
  /** A server checkpoint after this many committed events. */
  readonly checkpointEvery: number;
  /** Server clock, ms since the epoch. */
  readonly now: () => number;
  /** A connection's send budget, bytes (K15; SyncOptions.sendBudgetBytes). */
  readonly sendBudgetBytes?: number;
  /** Median staleness of submits (ms) past which editors are asked to batch (K16). */
  readonly targetLagMs?: number;
}

/** One document of the store, as the core reads it. Reads throw if the store does. */
class StoreLog implements RoomLog {
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
  checkpointAtOrBefore(at: number): Checkpoint | null {
    return this.store.checkpointAtOrBefore(this.docId, at);
  }
  checkpointSeqs(from: number, to: number): readonly number[] {
    return this.store.checkpointSeqs(this.docId, from, to);
  }
}

export class Room {
  private readonly core: RoomCore<Peer>;
  private readonly storeLog: StoreLog;
  /** Commit items of this room still in the queue. */
  pending = 0;
  /** Set when the room could not be rebuilt from the store: it must be dropped. */
  broken = false;
  /** The log as encoded blocks, for welcomes and history pages. */
  private readonly blocks: BlockCache;
  /** Send budgets: who falls behind, and their catch-up when drained (fan-out.ts). */
  private readonly fanOut: FanOut;
  /** Presence in a crowded document, coalesced (presence-pacer.ts). */
  private readonly presencePacer = new PresencePacer<Peer>((peer, cursor, user) => {
    if (this.core.peers.has(peer)) this.deliver(this.core.presence(peer, cursor, user));
  });

  /** Loads the document from the store: latest checkpoint plus the tail. Throws if the store does. */
  constructor(
    readonly docId: string,
    private readonly opts: RoomOptions,
  ) {
    this.storeLog = new StoreLog(opts.store, docId);
    this.blocks = new BlockCache(this.storeLog);
    this.fanOut = new FanOut(opts.sendBudgetBytes ?? Infinity, (peer) => this.drained(peer));
    this.core = new RoomCore(docId, this.storeLog, {
      sequencer: opts.sequencer,
      checkpointEvery: opts.checkpointEvery,
      ...(opts.targetLagMs !== undefined ? { targetLagMs: opts.targetLagMs } : {}),
    });
    this.afterLoad();
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
    this.blocks.reset(head);
    if (checkpoint !== null) this.blocks.keepCheckpoint(checkpoint);
    this.checkpoint();
  }

  /** The store is the truth again (after a failed commit): see RoomCore.reload. Throws if the store does. */
  reload(): void {
    const sends = this.core.reload();
    this.afterLoad();
    this.deliver(sends);
  }

  /**
   * Adds `peer` and sends its welcome and the presence messages; refuses a `last` beyond
   * the committed head. Throws if the store does, before anything changed.
   */
  join(peer: Peer, last: number): Result<null, CodedError<'base-ahead'>> {
    // The welcome's frame is built (the one step that may read the store) before the core
    // adds the peer, so a failing read leaves the room as it was.
    const plan = planWelcome(this.docId, peer.role, last, this.core.committedHead, this.core.newestCheckpoint);
    if (!plan.ok) return plan;
    const welcome = this.welcomeFrame(plan.value);
    const r = this.core.join(peer, last);
    if (!r.ok) return r;
    peer.sendRaw(welcome);
    this.deliver(r.value.sends);
    return ok(null);
  }

  /** A connection that fell behind has drained: its welcome from where its stream stopped, then presence. */
  private drained(peer: Peer): void {
    if (this.broken || !this.core.peers.has(peer)) return;
    try {
      const d = this.core.drained(peer);
      if (d === null) return;
      peer.sendRaw(this.welcomeFrame(d.welcome));
      this.deliver(d.sends);
    } catch (e) {
      // Only a store read can throw (a chunk not cached): the connection re-syncs, as after any loss.
      this.opts.log.warn(`room ${this.docId}: catching up a connection that fell behind failed: ${(e as Error).message}`);
      peer.sendRaw(encodeServerMessage({ type: 'error', code: 'store-failed', message: 'the server could not catch you up; re-sync', fatal: false }));
    }
  }

  /** Removes `peer`; the others hear it left unless the same client is still here. */
  leave(peer: Peer): void {
    this.deliver(this.core.leave(peer));
  }

  /** Whether the room can be dropped from memory: nobody here, nothing waiting. */
  get idle(): boolean {
    return this.core.peers.size === 0 && this.pending === 0;
  }

  /** Sequences a batch; the item goes to the commit queue and nothing goes out before it is committed. */
  submit(peer: Peer, batch: SubmitBatch): Result<CommitItem, CodedError<SubmitErrorCode>> {
    const r = this.core.submit(peer, batch, this.opts.now());
    if (!r.ok) return r;
    return ok({ ...r.value, room: this });
  }

  /** The queue committed `items` (this room's, in sequencing order): the core's stream goes out. */
  committedItems(items: readonly CommitItem[]): void {
    const events: DocEvent[] = [];
    for (const it of items) for (const e of it.appended) events.push(e);
    // Kept as values: the welcomes to come encode their run without a store read.
    this.blocks.push(events);
    this.deliver(this.fanOut.committed(this.core, items));
    this.deliver(this.core.pace(this.opts.now()));
    this.checkpoint();
    this.warmLater();
  }

  private warming = false;

  /** Encodes a completed chunk or a new checkpoint after this turn, off the ack's path (block-cache.ts). */
  private warmLater(): void {
    if (this.warming || !this.blocks.cold) return;
    this.warming = true;
    setImmediate(() => {
      this.warming = false;
      if (this.broken) return;
      try {
        this.blocks.warm();
      } catch (e) {
        // Only a store read can throw here (a dropped chunk is read again); the page that needs it will report it.
        this.opts.log.warn(`room ${this.docId}: blocks not encoded ahead: ${(e as Error).message}`);
      }
    });
  }

  /** Writes a checkpoint if one is due; a failure only costs a longer replay later. */
  private checkpoint(): void {
    const cp = this.core.dueCheckpoint();
    if (cp === null) return;
    const r = this.opts.store.putCheckpoint(cp);
    if (!r.ok) {
      this.opts.log.warn(`room ${this.docId}: checkpoint at ${cp.seq} not stored: ${r.error.message}`);
      return;
    }
    this.core.checkpointStored(cp);
    this.blocks.keepCheckpoint(cp);
  }

  /** Answers a history request with one page; returns its bytes (the read budget charges them). Throws if the store does. */
  history(peer: Peer, req: HistoryMessage): number {
    const plan = this.core.history(req, this.blocks.beginPage());
    const frame = this.historyFrame(plan);
    peer.sendRaw(frame);
    return frame.length;
  }

  /**
   * A cursor moved (and, with `user`, the name or colour changed): everyone else hears it,
   * at once in a small document, coalesced in a crowded one (presence-pacer.ts). Never logged.
   */
  presence(peer: Peer, cursor: Cursor, user?: User): void {
    this.presencePacer.moved(peer, cursor, user, this.core.peers.size);
  }

  /** Sends in order; a message sent to several peers (a broadcast, a relay) is encoded once. */
  private deliver(sends: readonly Send<Peer>[]): void {
    let last: ServerMessage | null = null;
    let text = '';
    let texts: Map<ServerMessage, string> | null = null;
    for (const s of sends) {
      if (s.msg !== last) {
        // Runs of one message are the common case; a message that comes back after
        // another (a broadcast around a submitter's own stream) is looked up.
        if (last !== null) (texts ??= new Map()).set(last, text);
        last = s.msg;
        text = texts?.get(s.msg) ?? encodeServerMessage(s.msg);
      }
      s.to.sendRaw(text);
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
