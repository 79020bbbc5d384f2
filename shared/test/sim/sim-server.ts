/**
 * The server side of the simulated network: the real room core (shared/src/room: its
 * sequencer, which welcome a hello gets, where a history page ends, how acks interleave
 * with broadcasts, when a checkpoint is due) over an in-memory log, behind the wire: it
 * reads encoded client frames and writes encoded server frames. What the server's shell
 * adds around the core (access, rate limits, the group commit's timer, the encoded tail)
 * is reduced to what a correct client meets: a hello joins, a submit is sequenced and
 * waits for the next commit, a history request is answered; a connection may be moved
 * behind at a commit (its send budget, P21) and caught up once it has read everything,
 * asked to batch (`slow-down`, P22), and, in a crowded room, its caret moves coalesced
 * into one `presence-batch` a tick (the presence pacer, K17, P24).
 *
 * The commit is the simulation's to trigger (`commit`), so acks wait for durability
 * (L2) for as long as the test likes, and a crash (`restart(false)`) loses what was
 * sequenced but not committed, as the real server does.
 */
import { decodeClientMessage, encodeServerMessage, type Cursor, type HistoryMessage, type SubmitMessage, type User } from '../../src/protocol/messages.js';
import { encodeServerFrame } from '../../src/protocol/frames.js';
import type { DocEvent } from '../../src/log/event.js';
import { MemoryLog } from '../../src/log/memory-log.js';
import { RoomCore, type RoomPeer } from '../../src/room/room-core.js';
import { welcomeMessage } from '../../src/room/welcome.js';
import { historyPageMessage } from '../../src/room/history-page.js';
import type { CommitItem, Send } from '../../src/room/commit-stream.js';

/** One connection as the server sees it: frames out, and whether it still exists. */
export interface ServerLink {
  readonly client: string;
  /** Puts an encoded server message on the connection's downlink (dropped when it is closed). */
  sendRaw(data: string | Uint8Array): void;
  /** The server closes the connection (after a fatal error). */
  close(): void;
}

/** What the simulated network needs of a server. */
export interface SimServer {
  /** The committed log, in seq order. */
  readonly events: readonly DocEvent[];
  /** The text the server's sequencer holds (its head may run ahead of the committed log). */
  text(): string;
  /** One frame from `link`. */
  frame(link: ServerLink, raw: string): void;
  /** The server noticed `link` closed. */
  left(link: ServerLink): void;
  /** The group commit: everything sequenced so far is stored, then answered. */
  commit(): boolean;
  /** `link` has read everything sent to it: if it was behind (P21), its catch-up welcome goes out. */
  drained(link: ServerLink): boolean;
  /** The server asks `link` to batch (P22; 0 lifts it). */
  slowDown(link: ServerLink, batchMs: number): void;
  /** Something sequenced is waiting for the commit. */
  readonly uncommitted: number;
  /** A presence tick: the carets waiting in a crowded room go out together (P24). Whether any did. */
  presenceTick(): boolean;
  /** Whether a caret of `link` waits for the next presence tick. */
  hasWaitingMove(link: ServerLink): boolean;
  /**
   * Every connection is gone. `keepMemory`: the process lived (the room and its sequencer
   * stay, the commit still comes); otherwise it crashed: what was not committed is lost and
   * the room is loaded again from the store.
   */
  restart(keepMemory: boolean): void;
}

export interface RoomServerOptions {
  readonly docId: string;
  /** A server checkpoint every this many committed events. */
  readonly checkpointEvery: number;
  /** A client further behind than this (or new) is welcomed from a checkpoint. */
  readonly catchUpAfter: number;
  /** Recent events the sequencer keeps (its rebase window). */
  readonly window?: number;
  readonly now: () => number;
  /**
   * At each commit, each connection is past its send budget with this chance and moved
   * behind (P21) until the network reports it drained. Unset: never.
   */
  readonly behindChance?: number;
  readonly random?: () => number;
  /**
   * From this many connections on, caret moves wait for `presenceTick` and go out as one
   * batch (the server's presence pacer, K17, P24). Unset: relayed at once.
   */
  readonly presenceCrowd?: number;
}

interface SimPeer extends RoomPeer {
  readonly link: ServerLink;
}

/** The room core over a memory log. */
export class RoomServer implements SimServer {
  private readonly log = new MemoryLog();
  private room: RoomCore<SimPeer>;
  private readonly peers = new Map<ServerLink, SimPeer>();
  private queue: CommitItem<SimPeer>[] = [];
  /** Carets waiting for the presence tick, the latest per connection. */
  private readonly moved = new Map<SimPeer, { cursor: Cursor; user?: User }>();

  constructor(private readonly o: RoomServerOptions) {
    this.room = this.load();
  }

  private load(): RoomCore<SimPeer> {
    return new RoomCore<SimPeer>(this.o.docId, this.log, {
      sequencer: this.o.window !== undefined ? { window: this.o.window } : {},
      checkpointEvery: this.o.checkpointEvery,
      catchUpAfter: this.o.catchUpAfter,
    });
  }

  get events(): readonly DocEvent[] {
    return this.log.events;
  }

  get uncommitted(): number {
    return this.queue.length;
  }

  text(): string {
    return this.room.text();
  }

  private deliver(sends: readonly Send<SimPeer>[]): void {
    for (const s of sends) s.to.link.sendRaw(encodeServerFrame(s.msg));
  }

  frame(link: ServerLink, raw: string): void {
    const r = decodeClientMessage(raw);
    if (!r.ok) {
      link.sendRaw(encodeServerMessage({ type: 'error', code: r.error.code, message: r.error.message, fatal: r.error.code === 'protocol-version' }));
      if (r.error.code === 'protocol-version') link.close();
      return;
    }
    const msg = r.value;
    const peer = this.peers.get(link);
    switch (msg.type) {
      case 'hello': {
        if (peer !== undefined) return this.error(link, 'already-joined', 'one document per connection');
        const p: SimPeer = { link, client: msg.client, user: msg.user, role: 'edit', cursor: null };
        const joined = this.room.join(p, msg.last);
        if (!joined.ok) {
          link.sendRaw(encodeServerMessage({ type: 'error', code: joined.error.code, message: joined.error.message, fatal: true }));
          link.close();
          return;
        }
        this.peers.set(link, p);
        link.sendRaw(encodeServerFrame(welcomeMessage(joined.value.welcome, this.log)));
        this.deliver(joined.value.sends);
        return;
      }
      case 'submit':
        if (peer === undefined) return this.error(link, 'not-joined', 'hello first');
        return this.submit(peer, msg);
      case 'history':
        if (peer === undefined) return this.error(link, 'not-joined', 'hello first');
        return this.history(peer, msg);
      case 'presence': {
        if (peer === undefined) return;
        const crowd = this.o.presenceCrowd;
        if (crowd === undefined || (this.peers.size < crowd && !this.moved.has(peer))) return this.deliver(this.room.presence(peer, msg.cursor, msg.user));
        const user = msg.user ?? this.moved.get(peer)?.user;
        this.moved.set(peer, { cursor: msg.cursor, ...(user !== undefined ? { user } : {}) });
        return;
      }
      case 'ping':
        link.sendRaw(encodeServerMessage({ type: 'pong', t: msg.t }));
        return;
    }
  }

  private error(link: ServerLink, code: 'not-joined' | 'already-joined', message: string): void {
    link.sendRaw(encodeServerMessage({ type: 'error', code, message, fatal: false }));
  }

  private submit(peer: SimPeer, msg: SubmitMessage): void {
    const r = this.room.submit(peer, { base: msg.base, events: msg.events }, this.o.now());
    if (!r.ok) {
      peer.link.sendRaw(encodeServerMessage({ type: 'error', code: r.error.code, message: r.error.message, fatal: false }));
      return;
    }
    this.queue.push(r.value);
  }

  private history(peer: SimPeer, msg: HistoryMessage): void {
    peer.link.sendRaw(encodeServerFrame(historyPageMessage(this.room.history(msg), this.log)));
  }

  left(link: ServerLink): void {
    const p = this.peers.get(link);
    if (p === undefined) return;
    this.peers.delete(link);
    this.deliver(this.room.leave(p));
  }

  /** As the server's commit queue: one append for the group, then the core's streams, then a due checkpoint. */
  commit(): boolean {
    const items = this.queue;
    if (items.length === 0) return false;
    this.queue = [];
    for (const it of items) if (it.appended.length > 0) this.log.append(it.appended);
    const chance = this.o.behindChance;
    const random = this.o.random ?? Math.random;
    this.deliver(this.room.committed(items, chance !== undefined ? () => random() < chance : undefined));
    const cp = this.room.dueCheckpoint();
    if (cp !== null) {
      this.log.putCheckpoint(cp);
      this.room.checkpointStored(cp);
    }
    return true;
  }

  presenceTick(): boolean {
    if (this.moved.size === 0) return false;
    const moves = [...this.moved].map(([peer, m]) => ({ peer, ...m }));
    this.moved.clear();
    this.deliver(this.room.presenceBatch(moves));
    return true;
  }

  hasWaitingMove(link: ServerLink): boolean {
    const p = this.peers.get(link);
    return p !== undefined && this.moved.has(p);
  }

  drained(link: ServerLink): boolean {
    const p = this.peers.get(link);
    if (p === undefined || !this.room.isBehind(p)) return false;
    const d = this.room.drained(p)!;
    link.sendRaw(encodeServerFrame(welcomeMessage(d.welcome, this.log)));
    this.deliver(d.sends);
    return true;
  }

  slowDown(link: ServerLink, batchMs: number): void {
    if (this.peers.has(link)) link.sendRaw(encodeServerMessage({ type: 'slow-down', batchMs }));
  }

  restart(keepMemory: boolean): void {
    for (const link of [...this.peers.keys()]) this.left(link);
    this.moved.clear();
    if (keepMemory) return;
    this.queue = [];
    this.room = this.load();
  }
}
