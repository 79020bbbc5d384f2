/**
 * One open document as the server decides it, without the server: the sequencer (the
 * only appender, L1), the connections that joined, and every message that goes to them,
 * returned as values (`Send`s) for a shell to deliver. The shell owns the sockets, the
 * store's writes, the commit queue and the clock; this owns the rules. So a simulation
 * can run the real rules with many clients, restarts (a new `RoomCore` over the same
 * log: the sequencer's memory is gone) and clients far behind, with no Node, socket,
 * database or timer.
 *
 * Two heads. The sequencer's head runs ahead: a submit is sequenced the moment it
 * arrives (`submit`), so the next submit, pipelined or from anyone, is rebased over it.
 * The committed head follows when the shell reports a group durable (`committed`); only
 * then do acks and events go out (L2), as one gapless stream per connection
 * (commit-stream.ts). Welcomes and history pages serve only what is committed: a
 * connection that joins between sequencing and commit gets the committed prefix in its
 * welcome and the rest with the next group.
 *
 * If a commit fails, the sequencer has advanced past what is durable; `reload` rebuilds
 * it from the log, exactly as a restart would (the submitters' outboxes still hold the
 * lost events, and they resend them after `store-failed`).
 *
 * Every `checkpointEvery` committed events a server checkpoint is due (`dueCheckpoint`),
 * so that a new or far-behind client is caught up from a checkpoint plus a short tail,
 * and loading replays at most that tail. Storing it is the shell's effect; it reports
 * success with `checkpointStored`, and a failure only means it is due again later.
 */
import { Sequencer, type SequencerOptions, type SubmitBatch, type SubmitErrorCode } from '../sync/sequencer.js';
import { replay } from '../log/replay.js';
import { checkpointOf, type Checkpoint } from '../log/checkpoint.js';
import type { DocEvent } from '../log/event.js';
import type { Role } from '../access/capability.js';
import type { Cursor, HistoryMessage, PresenceEntry, User } from '../protocol/messages.js';
import { type Result, type CodedError, ok } from '../result.js';
import type { RoomLog } from './room-log.js';
import { planWelcome, type WelcomePlan } from './welcome.js';
import { planHistoryPage, type HistoryPlan, type PageCost } from './history-page.js';
import { commitStream, type CommitItem, type Send } from './commit-stream.js';
import { planCatchUp, type CatchUpPlan } from './remote-commits.js';
import { RemotePresence, type RemoteClient } from './remote-presence.js';
import { LoadGovernor } from './load-governor.js';

/**
 * A connection as the room sees it. `client` and `role` are fixed by the hello; `user`
 * and `cursor` are what others last heard of it, and the core updates them on presence.
 * Two connections may share a `client` (two tabs): the client leaves when the last does.
 */
export interface RoomPeer {
  readonly client: string;
  user: User;
  readonly role: Role;
  cursor: Cursor;
}

export interface RoomCoreOptions {
  readonly sequencer?: SequencerOptions;
  /** A server checkpoint is due after this many committed events. */
  readonly checkpointEvery: number;
  /**
   * A client further behind than this (or new) is welcomed from a checkpoint. The
   * protocol's `catchUpCheckpointAfter` by default; the simulated network makes it small,
   * so its clients meet checkpoint welcomes within a few hundred events.
   */
  readonly catchUpAfter?: number;
  /** How long a remote client's presence lasts without being heard again (remote-presence.ts); 30 s by default. */
  readonly remotePresenceTtlMs?: number;
  /**
   * Median staleness of a document's submits (ms) above which its editors are asked to
   * batch (`slow-down`, load-governor.ts). Unset: never asked.
   */
  readonly targetLagMs?: number;
}

/** What a join produces: the welcome (as a plan of seqs), then the presence messages, in this order. */
export interface Joined<P> {
  readonly welcome: WelcomePlan;
  readonly sends: readonly Send<P>[];
}

/** Where the core started from at its last (re)load: the head and the checkpoint it replayed from. */
export interface LoadedState {
  readonly head: number;
  readonly checkpoint: Checkpoint | null;
}

export class RoomCore<P extends RoomPeer> {
  private sequencer!: Sequencer;
  private committedSeq = 0;
  /** The newest checkpoint of the document (0: none). The room writes every one, so it knows. */
  private lastCheckpoint = 0;
  private loadedState: LoadedState = { head: 0, checkpoint: null };
  private readonly members = new Set<P>();
  /** Clients of this document on other server nodes (presence only). */
  private readonly remote: RemotePresence;
  /** The highest seq other nodes are known to have committed (remote-commits.ts). */
  private heardHead = 0;
  /** Connections that fell behind (send budget), with the seq their stream stopped after. */
  private readonly behindAt = new Map<P, number>();
  private readonly governor: LoadGovernor | null;
  /** Edit connections among the members (K21). */
  private editors = 0;
  /** Recent commit turns: the last seq of each and when its first event was sequenced, oldest first (staleness). */
  private readonly turns: { last: number; time: number }[] = [];

  /** Loads the document from `log`: its newest checkpoint plus the events after it. Throws if the log does. */
  constructor(
    readonly docId: string,
    private readonly log: RoomLog,
    private readonly opts: RoomCoreOptions,
  ) {
    this.remote = new RemotePresence(opts.remotePresenceTtlMs ?? 30_000);
    this.governor = opts.targetLagMs !== undefined ? new LoadGovernor({ targetLagMs: opts.targetLagMs }) : null;
    this.load();
  }

  get committedHead(): number {
    return this.committedSeq;
  }

  get sequencerHead(): number {
    return this.sequencer.head;
  }

  /** The newest checkpoint's seq (0: none). */
  get newestCheckpoint(): number {
    return this.lastCheckpoint;
  }

  /** Where the last load started (the shell may keep the checkpoint it read). */
  get loaded(): LoadedState {
    return this.loadedState;
  }

  /** The connections in the room, in the order they joined. */
  get peers(): ReadonlySet<P> {
    return this.members;
  }

  /** The document's text at the sequencer's head (tests and debugging). */
  text(): string {
    return this.sequencer.text.toString();
  }

  /** Reads everything first, then changes state: a throwing log leaves the core as it was. */
  private load(): void {
    const head = this.log.head;
    const cp = head > 0 ? this.log.checkpointAtOrBefore(head) : null;
    const from = cp?.seq ?? 0;
    const text = replay(cp, this.log.range(from, head));
    this.sequencer = new Sequencer(this.docId, this.log, text, head, this.opts.sequencer);
    this.committedSeq = head;
    this.lastCheckpoint = from;
    this.loadedState = { head, checkpoint: cp };
  }

  /**
   * The log is the truth again (after a failed commit, or to forget the sequencer's
   * memory as a restart would): a new sequencer from it. If the log holds more than was
   * sent (a commit reported as failed that did land), the difference goes to everyone
   * now, so no connection's stream has a gap.
   */
  reload(opts: { keepSent?: boolean } = {}): Send<P>[] {
    const before = this.committedSeq;
    const prev = this.sequencer;
    // Read the difference before `load` changes anything, so a throwing log (or one that
    // must be asked again, server/src/room-reads.ts) leaves the core as it was.
    const head = this.log.head;
    const events = head > before ? this.log.range(before, head) : [];
    this.load();
    // After a lost race (another node appended first) the same clients resend at bases before
    // the events this node committed: keep the forms those were sent in.
    if (opts.keepSent === true) this.sequencer.adoptSent(prev, before);
    if (this.committedSeq <= before || events.length === 0) return [];
    const msg = { type: 'events', events } as const;
    return [...this.members].filter((p) => !this.behindAt.has(p)).map((to) => ({ to, msg }));
  }

  /**
   * Adds `peer` (joining with its hello's `last`) and says what it gets: the welcome,
   * then a presence for each connection already here; they get one for the newcomer.
   * A `last` beyond the committed head is refused, and the peer is not added.
   */
  join(peer: P, last: number): Result<Joined<P>, CodedError<'base-ahead'>> {
    const plan = planWelcome(this.docId, peer.role, last, this.committedSeq, this.lastCheckpoint, this.opts.catchUpAfter);
    if (!plan.ok) return plan;
    const sends: Send<P>[] = [];
    for (const p of this.members) sends.push({ to: peer, msg: { type: 'presence', client: p.client, user: p.user, cursor: p.cursor } });
    for (const r of this.remote.all) {
      if (r.client !== peer.client && !this.hasLocal(r.client)) sends.push({ to: peer, msg: { type: 'presence', client: r.client, user: r.user, cursor: r.cursor } });
    }
    this.members.add(peer);
    this.relay(peer, { type: 'presence', client: peer.client, user: peer.user, cursor: peer.cursor }, sends);
    if (peer.role === 'edit') {
      this.editors++;
      // The crowd's 100th editor asks the interval of everyone already here (K21); the
      // newcomer hears it below, after its welcome, like any joiner while one holds.
      const asked = this.governor?.connected(this.editors) ?? null;
      if (asked !== null) this.askEditors(asked, sends, peer);
    }
    const batchMs = this.governor?.batchMs ?? 0;
    if (batchMs > 0 && peer.role === 'edit') sends.push({ to: peer, msg: { type: 'slow-down', batchMs } });
    return ok({ welcome: plan.value, sends });
  }

  /** Removes `peer`; the others hear it left unless another connection of its client is still here. */
  leave(peer: P): Send<P>[] {
    if (!this.members.delete(peer)) return [];
    this.behindAt.delete(peer);
    if (peer.role === 'edit') this.governor?.connected(--this.editors);
    for (const p of this.members) if (p.client === peer.client) return [];
    const sends: Send<P>[] = [];
    this.relay(peer, { type: 'presence-leave', client: peer.client }, sends);
    return sends;
  }

  /** A caret moved (and, with `user`, the name or colour changed): everyone else hears it. Never logged. */
  presence(peer: P, cursor: Cursor, user?: User): Send<P>[] {
    peer.cursor = cursor;
    if (user !== undefined) peer.user = user;
    const sends: Send<P>[] = [];
    this.relay(peer, { type: 'presence', client: peer.client, user: peer.user, cursor }, sends);
    return sends;
  }

  /**
   * The carets that moved in a crowded document since the last presence tick (the shell
   * coalesces them, latest per connection): everyone hears them in one `presence-batch`
   * message, the same for every connection that is not behind (P24), so a receiver gets
   * one presence frame a tick however many moved. A single mover is relayed as a plain
   * `presence` to the others, as in a small document. Moves of connections no longer here
   * are dropped. Never logged.
   */
  presenceBatch(moves: readonly { readonly peer: P; readonly cursor: Cursor; readonly user?: User }[]): Send<P>[] {
    const entries: PresenceEntry[] = [];
    let only: P | null = null;
    for (const m of moves) {
      if (!this.members.has(m.peer)) continue;
      m.peer.cursor = m.cursor;
      if (m.user !== undefined) m.peer.user = m.user;
      entries.push({ client: m.peer.client, user: m.peer.user, cursor: m.cursor });
      only = m.peer;
    }
    const sends: Send<P>[] = [];
    if (entries.length === 1) this.relay(only!, { type: 'presence', ...entries[0] }, sends);
    else if (entries.length > 1) {
      const msg = { type: 'presence-batch', entries } as const;
      for (const p of this.members) if (!this.behindAt.has(p)) sends.push({ to: p, msg });
    }
    return sends;
  }

  /**
   * Sequences a batch from `peer` at server time `now`. On success the item must be
   * committed and then passed to `committed` (nothing goes out before, L2); a refusal
   * changes nothing. Throws if the log does (the sequencer then is unchanged).
   */
  submit(peer: P, batch: SubmitBatch, now: number): Result<CommitItem<P>, CodedError<SubmitErrorCode>> {
    this.governor?.submitted(peer.client, this.staleness(batch.base, now), now);
    const r = this.sequencer.submit(peer.client, batch, now);
    if (!r.ok) return r;
    return ok({ peer, appended: r.value.appended, duplicates: r.value.duplicates });
  }

  /**
   * The shell committed `items` (this room's, in sequencing order, all or nothing): the
   * committed head moves to their last event and each connection gets its stream (one
   * shared `events` message, P5). `overBudget`, the shell's view of each socket's unsent
   * output: a connection it names is moved behind instead (P21) and fed nothing more until
   * `drained`.
   */
  committed(items: readonly CommitItem<P>[], overBudget?: (peer: P) => boolean): Send<P>[] {
    let last: DocEvent | undefined;
    for (const it of items) if (it.appended.length > 0) last = it.appended[it.appended.length - 1];
    const before = this.committedSeq;
    if (last !== undefined) {
      if (last.seq > this.sequencer.head) throw new Error(`room ${this.docId}: committed seq ${last.seq} beyond the sequencer's head ${this.sequencer.head}`);
      this.committedSeq = last.seq;
      if (this.governor !== null) {
        const first = items.find((it) => it.appended.length > 0)!.appended[0];
        this.turns.push({ last: last.seq, time: first.time });
        if (this.turns.length > 256) this.turns.splice(0, 128);
      }
    }
    if (this.behindAt.size === 0 && overBudget === undefined) return commitStream(items, this.members);
    // A connection past its send budget is not fed frame by frame: it is told where its
    // stream stops (every live connection has it up to `before`), and gets nothing more
    // until `drained` (P21).
    const out: Send<P>[] = [];
    const live = new Set<P>();
    for (const p of this.members) {
      if (this.behindAt.has(p)) continue;
      if (overBudget?.(p) === true) {
        this.behindAt.set(p, before);
        out.push({ to: p, msg: { type: 'behind', at: before } });
      } else live.add(p);
    }
    for (const s of commitStream(items, live)) out.push(s);
    return out;
  }

  /**
   * How stale a submit made at `base` is at `now`: the age of the oldest committed event
   * after `base` (0 when it had seen everything committed, or when that turn is forgotten).
   */
  private staleness(base: number, now: number): number {
    const t = this.turns;
    if (t.length === 0 || base >= t[t.length - 1].last) return 0;
    let lo = 0;
    let hi = t.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (t[mid].last > base) hi = mid;
      else lo = mid + 1;
    }
    return Math.max(0, now - t[lo].time);
  }

  /** Whether `peer` fell behind and waits for `drained`. */
  isBehind(peer: P): boolean {
    return this.behindAt.has(peer);
  }

  /**
   * A connection that fell behind has drained its output: it gets a welcome from where its
   * stream stopped (the events since, or a checkpoint when that is far, P3), then the
   * presence of everyone here, as a join would give. Nothing if it is not behind.
   */
  drained(peer: P): Joined<P> | null {
    const plan = this.drainPlan(peer);
    if (plan === null) return null;
    this.behindAt.delete(peer);
    const sends: Send<P>[] = [];
    for (const p of this.members) if (p !== peer) sends.push({ to: peer, msg: { type: 'presence', client: p.client, user: p.user, cursor: p.cursor } });
    for (const r of this.remote.all) {
      if (r.client !== peer.client && !this.hasLocal(r.client)) sends.push({ to: peer, msg: { type: 'presence', client: r.client, user: r.user, cursor: r.cursor } });
    }
    const batchMs = this.governor?.batchMs ?? 0;
    if (batchMs > 0 && peer.role === 'edit') sends.push({ to: peer, msg: { type: 'slow-down', batchMs } });
    return { welcome: plan, sends };
  }

  /**
   * The welcome `drained` would give `peer` now, changing nothing (null if it is not
   * behind): a shell builds the frame, which may read the log, before it calls `drained`.
   */
  drainPlan(peer: P): WelcomePlan | null {
    const at = this.behindAt.get(peer);
    if (at === undefined) return null;
    const plan = planWelcome(this.docId, peer.role, at, this.committedSeq, this.lastCheckpoint, this.opts.catchUpAfter);
    // `at` was a committed seq, so it is never ahead of the head.
    if (!plan.ok) throw new Error(`room ${this.docId}: a behind connection's seq ${at} is past the head ${this.committedSeq}`);
    return plan.value;
  }

  /**
   * The load governor's verdict at `now` (load-governor.ts): when the batching interval
   * changed, a `slow-down` for every editor here that is not behind (a behind one hears it
   * with its welcome).
   */
  pace(now: number): Send<P>[] {
    const next = this.governor?.tick(now) ?? null;
    if (next === null) return [];
    const out: Send<P>[] = [];
    this.askEditors(next, out);
    return out;
  }

  /** A `slow-down` of `batchMs` for every editor here that is not behind (one that is hears it with its welcome), but `except`. */
  private askEditors(batchMs: number, sends: Send<P>[], except?: P): void {
    const msg = { type: 'slow-down', batchMs } as const;
    for (const p of this.members) if (p !== except && p.role === 'edit' && !this.behindAt.has(p)) sends.push({ to: p, msg });
  }

  /** The batching interval asked of editors now (0: none). */
  get batchMs(): number {
    return this.governor?.batchMs ?? 0;
  }

  /**
   * The checkpoint to store now, if one is due: `checkpointEvery` events after the
   * newest, and only when everything sequenced is committed (a checkpoint must not hold
   * text a crash could take back).
   */
  dueCheckpoint(): Checkpoint | null {
    const head = this.sequencer.head;
    if (head !== this.committedSeq || head - this.lastCheckpoint < this.opts.checkpointEvery) return null;
    return checkpointOf(this.docId, head, this.sequencer.text);
  }

  /** The shell stored `cp` (a checkpoint of this document): welcomes may now start from it. */
  checkpointStored(cp: Checkpoint): void {
    if (cp.seq > this.lastCheckpoint && cp.seq <= this.committedSeq) this.lastCheckpoint = cp.seq;
  }

  /**
   * Where the page answering `req` ends, over the committed log, within `MAX_PAGE_BYTES`
   * of `cost` when the shell prices its frames. Reads the checkpoint seqs (throws if the log does).
   */
  history(req: HistoryMessage, cost?: PageCost): HistoryPlan {
    return planHistoryPage(req, this.committedSeq, this.log, cost);
  }

  /**
   * Another node committed up to `seq` (a notice, or a head read after the notices were
   * interrupted): what to read now, if anything (remote-commits.ts). The highest seq
   * heard is kept, so a 'wait' is asked again with `catchUpPlan` after the room's commit.
   */
  heardCommit(seq: number): CatchUpPlan {
    if (seq > this.heardHead) this.heardHead = seq;
    return this.catchUpPlan();
  }

  /** What to read now for the highest seq heard so far. */
  catchUpPlan(): CatchUpPlan {
    return planCatchUp(this.committedSeq, this.sequencer.head, this.heardHead);
  }

  /**
   * An append lost a race to another node (R26): takes back everything sequenced here
   * and not committed, so the other node's events can be adopted (`adopt`) and the lost
   * batches sequenced again over them. Unlike `reload`, the sequencer keeps its memory.
   */
  rewind(): void {
    this.sequencer.rewind(this.committedSeq);
  }

  /**
   * Events other nodes committed, read from the log, continuing the committed head
   * (the caller read them as `catchUpPlan` said, while nothing was sequenced here; events
   * at or below the head, from a read that raced a newer one, are skipped). They become
   * the sequencer's, and every connection gets them in one `events` message: in seq
   * order, once each. Throws on a gap (a bug in the caller).
   */
  adopt(events: readonly DocEvent[]): Send<P>[] {
    const fresh = events.filter((e) => e.seq > this.committedSeq);
    if (fresh.length === 0) return [];
    if (this.sequencer.head !== this.committedSeq) throw new Error(`room ${this.docId}: adopting remote events while ${this.sequencer.head - this.committedSeq} are sequenced here`);
    this.sequencer.adopt(fresh);
    this.committedSeq = fresh[fresh.length - 1].seq;
    if (this.committedSeq > this.heardHead) this.heardHead = this.committedSeq;
    const msg = { type: 'events', events: fresh } as const;
    // A connection behind its send budget hears these with its catch-up welcome (P21).
    return [...this.members].filter((p) => !this.behindAt.has(p)).map((to) => ({ to, msg }));
  }

  /**
   * A client on another node moved its caret (or joined, or renamed): the connections
   * here hear it, unless it is no news or the same client is also connected here (then
   * its local presence speaks for it).
   */
  remotePresence(entry: RemoteClient): Send<P>[] {
    if (!this.remote.heard(entry) || this.hasLocal(entry.client)) return [];
    const msg = { type: 'presence', client: entry.client, user: entry.user, cursor: entry.cursor } as const;
    return [...this.members].filter((p) => !this.behindAt.has(p)).map((to) => ({ to, msg }));
  }

  /** A client left its node `node`: the connections here hear it left. */
  remoteLeave(client: string, node: string): Send<P>[] {
    if (!this.remote.left(client, node) || this.hasLocal(client)) return [];
    return this.leaveSends(client);
  }

  /** Forgets remote clients not heard for the TTL (their node died or went quiet); the connections hear they left. */
  expireRemote(now: number): Send<P>[] {
    const out: Send<P>[] = [];
    for (const client of this.remote.expire(now)) if (!this.hasLocal(client)) out.push(...this.leaveSends(client));
    return out;
  }

  private leaveSends(client: string): Send<P>[] {
    const msg = { type: 'presence-leave', client } as const;
    return [...this.members].filter((p) => !this.behindAt.has(p)).map((to) => ({ to, msg }));
  }

  private hasLocal(client: string): boolean {
    for (const p of this.members) if (p.client === client) return true;
    return false;
  }

  /** To everyone else that is not behind (a behind connection hears everyone's presence with its welcome). */
  private relay(from: P, msg: Send<P>['msg'], out: Send<P>[]): void {
    for (const p of this.members) if (p !== from && !this.behindAt.has(p)) out.push({ to: p, msg });
  }
}
