/**
 * Fan-out between server nodes of one database (spec R23, P20). Each node's rooms
 * commit through the database; this tells the other nodes, and hears them:
 *
 *   - after a local commit, a `commit` notice: (document, seq), a pointer only;
 *   - on a `commit` notice, the room decides (RoomCore.heardCommit, shared/src/room/
 *     remote-commits.ts) whether to read (committed head, seq] from the store now or wait
 *     for its own commit; this reads, one read per room at a time, and the room adopts
 *     the events and sends them to its connections, in seq order, once;
 *   - when the listener (re)connects, and every `pollMs`, the head of every open room is
 *     read, as if noticed: lost notices cost at most that long, never an event;
 *   - after a local `rotate-links`, a `links` notice (R28): every node checks the tokens of
 *     its connections to that document against the new access record and closes those
 *     they no longer open with `links-replaced`; after the listener (re)connects (notices
 *     may have been missed) it checks every open document's connections the same way;
 *   - presence: the latest caret per client and document is sent at most every
 *     `presenceEveryMs` (a dragged caret is many moves and one notice), repeated every
 *     `presenceRepeatMs` so other nodes can expire the clients of a node that died.
 *
 * Nothing here decides what a client sees: that is the room core's. This is transport.
 */
import type { CatchUpPlan, Cursor, DocEvent, RemoteClient, User } from '../../../shared/src/index.js';
import type { Logger } from '../options.js';
import { NotifyListener } from './notify-listener.js';
import { ACCESS_CHANNEL, COMMIT_CHANNEL, PRESENCE_CHANNEL, decodeNotice, encodeNotice, type Notice } from './cluster-notice.js';

/** What fan-out needs of an open room (server/src/room.ts implements it). */
export interface ClusterRoom {
  readonly docId: string;
  /** RoomCore.heardCommit. */
  heardCommit(seq: number): CatchUpPlan;
  /** RoomCore.catchUpPlan. */
  catchUpPlan(): CatchUpPlan;
  /** Adopts events read from the log (continuing the committed head) and sends them to the room's connections. */
  adoptRemote(events: readonly DocEvent[]): void;
  remotePresence(entry: RemoteClient): void;
  remoteLeave(client: string, node: string): void;
  expireRemote(now: number): void;
  /** The room's local connections' presence, to repeat. */
  localPresence(): Iterable<{ readonly client: string; readonly user: User; readonly cursor: Cursor }>;
}

/** What fan-out needs of the node: its open rooms and reads of the shared log. */
export interface ClusterHost {
  room(docId: string): ClusterRoom | undefined;
  rooms(): Iterable<ClusterRoom>;
  readRange(docId: string, from: number, to: number): Promise<readonly DocEvent[]>;
  readHead(docId: string): Promise<number>;
  /** Another node replaced `docId`'s links (or notices may have been missed: `docId` null, every document): close what the old tokens opened. */
  recheckAccess(docId: string | null): void;
}

export interface FanoutOptions {
  readonly url: string;
  /** This node's id, unique among the nodes (a random one per process). */
  readonly nodeId: string;
  readonly host: ClusterHost;
  readonly log: Logger;
  readonly pollMs?: number;
  readonly presenceEveryMs?: number;
  readonly presenceRepeatMs?: number;
  readonly now?: () => number;
}

export class ClusterFanout {
  private readonly listener: NotifyListener;
  /** Rooms with a read in flight, and whether another pass is due after it. */
  private readonly reading = new Map<string, { again: boolean }>();
  private readonly pendingPresence = new Map<string, Notice>();
  private presenceTimer: NodeJS.Timeout | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly now: () => number;
  /** Whether the listener has connected before (a reconnect may have missed `links` notices). */
  private connectedOnce = false;
  /** Counters for tests and the bench. */
  readonly stats = { noticesIn: 0, noticesOut: 0, adopted: 0, polls: 0 };

  constructor(private readonly opts: FanoutOptions) {
    this.now = opts.now ?? Date.now;
    this.listener = new NotifyListener({
      url: opts.url,
      channels: [COMMIT_CHANNEL, PRESENCE_CHANNEL, ACCESS_CHANNEL],
      log: opts.log,
      onNotice: (_ch, payload) => this.notice(payload),
      onConnected: () => {
        this.pollAll();
        if (this.connectedOnce) this.opts.host.recheckAccess(null);
        this.connectedOnce = true;
      },
    });
  }

  get nodeId(): string {
    return this.opts.nodeId;
  }

  get listening(): boolean {
    return this.listener.listening;
  }

  async start(): Promise<void> {
    await this.listener.start();
    const poll = setInterval(() => this.pollAll(), this.opts.pollMs ?? 2000);
    const repeat = setInterval(() => this.repeatPresence(), this.opts.presenceRepeatMs ?? 10_000);
    for (const t of [poll, repeat]) {
      t.unref();
      this.timers.push(t);
    }
  }

  /** A local commit of `docId` reached `seq`: tell the other nodes. */
  committed(docId: string, seq: number): void {
    const payload = encodeNotice({ t: 'commit', n: this.opts.nodeId, d: docId, s: seq });
    if (payload !== null) {
      this.stats.noticesOut++;
      this.listener.notify(COMMIT_CHANNEL, payload);
    }
  }

  /** This node replaced `docId`'s links: the other nodes close the connections the old tokens opened. */
  linksReplaced(docId: string): void {
    const payload = encodeNotice({ t: 'links', n: this.opts.nodeId, d: docId });
    if (payload !== null) this.listener.notify(ACCESS_CHANNEL, payload);
  }

  /** The room's own commit finished (or failed): a catch-up that had to wait may run now. */
  settle(room: ClusterRoom): void {
    this.pump(room);
  }

  /** A local client's caret (coalesced: the latest per client and document is sent). */
  presence(docId: string, client: string, user: User, cursor: Cursor): void {
    this.pendingPresence.set(`${docId}\n${client}`, { t: 'presence', n: this.opts.nodeId, d: docId, c: client, u: user, k: cursor });
    this.presenceTimer ??= setTimeout(() => this.flushPresence(), this.opts.presenceEveryMs ?? 50);
  }

  /** A local client left the document on this node. */
  left(docId: string, client: string): void {
    this.pendingPresence.delete(`${docId}\n${client}`);
    const payload = encodeNotice({ t: 'leave', n: this.opts.nodeId, d: docId, c: client });
    if (payload !== null) this.listener.notify(PRESENCE_CHANNEL, payload);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    if (this.presenceTimer !== null) clearTimeout(this.presenceTimer);
    await this.listener.close();
  }

  private flushPresence(): void {
    this.presenceTimer = null;
    const all = [...this.pendingPresence.values()];
    this.pendingPresence.clear();
    for (const n of all) {
      const payload = encodeNotice(n);
      if (payload !== null) this.listener.notify(PRESENCE_CHANNEL, payload);
    }
  }

  private repeatPresence(): void {
    for (const room of this.opts.host.rooms()) {
      room.expireRemote(this.now());
      for (const p of room.localPresence()) this.presence(room.docId, p.client, p.user, p.cursor);
    }
  }

  private notice(payload: string): void {
    const n = decodeNotice(payload);
    if (n === null || n.n === this.opts.nodeId) return;
    this.stats.noticesIn++;
    // A connection may be joining with an old token while no room is open yet: checked too.
    if (n.t === 'links') return this.opts.host.recheckAccess(n.d);
    const room = this.opts.host.room(n.d);
    if (room === undefined) return; // nobody here has it open: the next open reads the log
    switch (n.t) {
      case 'commit':
        if (room.heardCommit(n.s) !== null) this.pump(room);
        break;
      case 'presence':
        room.remotePresence({ client: n.c, node: n.n, user: n.u, cursor: n.k, heardAt: this.now() });
        break;
      case 'leave':
        room.remoteLeave(n.c, n.n);
        break;
    }
  }

  /** Reads every open room's head, as a notice would say it (after a reconnect, and every pollMs). */
  private pollAll(): void {
    this.stats.polls++;
    for (const room of this.opts.host.rooms()) {
      this.opts.host.readHead(room.docId).then(
        (head) => {
          if (this.opts.host.room(room.docId) === room && room.heardCommit(head) !== null) this.pump(room);
        },
        (e: unknown) => this.opts.log.warn(`cluster: head of ${room.docId} not read: ${(e as Error).message}`),
      );
    }
  }

  /** Runs the room's catch-up: one read at a time per room, again while more was heard meanwhile. */
  private pump(room: ClusterRoom): void {
    const busy = this.reading.get(room.docId);
    if (busy !== undefined) {
      busy.again = true;
      return;
    }
    const plan = room.catchUpPlan();
    if (plan === null || plan === 'wait') return;
    const state = { again: false };
    this.reading.set(room.docId, state);
    this.opts.host
      .readRange(room.docId, plan.from, plan.to)
      .then(
        (events) => {
          if (this.opts.host.room(room.docId) !== room) return;
          // While reading, the room may have sequenced a submit of its own: then it waits
          // for that commit (which will lose the race or follow these), and asks again.
          const now = room.catchUpPlan();
          if (now === null || now === 'wait') return;
          const fresh = events.filter((e) => e.seq > now.from);
          // Nothing new (or a hole, which a read from the head cannot give): the next
          // notice or poll asks again; a loop here could spin on a bogus notice.
          if (fresh.length === 0 || fresh[0].seq !== now.from + 1) return;
          this.stats.adopted += fresh.length;
          room.adoptRemote(fresh);
          // More may have been heard while reading.
          state.again = true;
        },
        (e: unknown) => this.opts.log.warn(`cluster: events of ${room.docId} not read (next notice or poll retries): ${(e as Error).message}`),
      )
      .finally(() => {
        this.reading.delete(room.docId);
        if (state.again) this.pump(room);
      });
  }
}
