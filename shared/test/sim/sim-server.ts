/**
 * The server side of the simulated network: the real per-document room (server/src/room.ts:
 * its sequencer, which welcome a hello gets, where a history page ends, how acks
 * interleave with broadcasts, its checkpoints) over a real in-memory log store, behind
 * the wire: it reads encoded client frames and writes encoded server frames. What the
 * server's socket layer adds around the room (access, rate limits, the group commit's
 * timer) is reduced to what a correct client meets: a hello joins, a submit is
 * sequenced and waits for the next commit, a history request is answered.
 *
 * The commit is the simulation's to trigger (`commit`), so acks wait for durability
 * (L2) for as long as the test likes, and a crash (`restart(false)`) loses what was
 * sequenced but not committed, as the real server does.
 *
 * `SimServer` is what the network needs; once the room core lives in `shared/`, a
 * second implementation drives it directly and this one goes.
 */
import { decodeClientMessage, encodeServerMessage, type HistoryMessage, type SubmitMessage } from '../../src/protocol/messages.js';
import type { DocEvent } from '../../src/log/event.js';
import { Room, type CommitItem, type Peer } from '../../../server/src/room.js';
import { MemoryLogStore } from '../../../server/src/store/memory-log-store.js';
import { silentLogger } from '../../../server/src/options.js';

/** One connection as the server sees it: frames out, and whether it still exists. */
export interface ServerLink {
  readonly client: string;
  /** Puts an encoded server message on the connection's downlink (dropped when it is closed). */
  sendRaw(text: string): void;
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
  /** Something sequenced is waiting for the commit. */
  readonly uncommitted: number;
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
}

interface SimPeer extends Peer {
  readonly link: ServerLink;
}

/** The real room over a memory store. */
export class RoomServer implements SimServer {
  private readonly store = new MemoryLogStore();
  private room: Room;
  private readonly peers = new Map<ServerLink, SimPeer>();
  private queue: CommitItem[] = [];

  constructor(private readonly o: RoomServerOptions) {
    this.room = this.load();
  }

  private load(): Room {
    return new Room(this.o.docId, {
      store: this.store,
      log: silentLogger,
      sequencer: this.o.window !== undefined ? { window: this.o.window } : {},
      checkpointEvery: this.o.checkpointEvery,
      catchUpAfter: this.o.catchUpAfter,
      now: this.o.now,
    });
  }

  get events(): readonly DocEvent[] {
    return this.store.range(this.o.docId, 0, this.store.head(this.o.docId));
  }

  get uncommitted(): number {
    return this.queue.length;
  }

  text(): string {
    return this.room.text();
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
        const p: SimPeer = { link, client: msg.client, user: msg.user, role: 'edit', cursor: null, sendRaw: (t) => link.sendRaw(t) };
        const joined = this.room.join(p, msg.last);
        if (!joined.ok) {
          link.sendRaw(encodeServerMessage({ type: 'error', code: joined.error.code, message: joined.error.message, fatal: true }));
          link.close();
          return;
        }
        this.peers.set(link, p);
        return;
      }
      case 'submit':
        if (peer === undefined) return this.error(link, 'not-joined', 'hello first');
        return this.submit(peer, msg);
      case 'history':
        if (peer === undefined) return this.error(link, 'not-joined', 'hello first');
        return this.history(peer, msg);
      case 'presence':
        if (peer !== undefined) this.room.presence(peer, msg.cursor, msg.user);
        return;
      case 'ping':
        link.sendRaw(encodeServerMessage({ type: 'pong', t: msg.t }));
        return;
    }
  }

  private error(link: ServerLink, code: 'not-joined' | 'already-joined', message: string): void {
    link.sendRaw(encodeServerMessage({ type: 'error', code, message, fatal: false }));
  }

  private submit(peer: SimPeer, msg: SubmitMessage): void {
    const r = this.room.submit(peer, { base: msg.base, events: msg.events });
    if (!r.ok) {
      peer.sendRaw(encodeServerMessage({ type: 'error', code: r.error.code, message: r.error.message, fatal: false }));
      return;
    }
    this.queue.push(r.value);
    this.room.pending++;
  }

  private history(peer: SimPeer, msg: HistoryMessage): void {
    this.room.history(peer, msg);
  }

  left(link: ServerLink): void {
    const p = this.peers.get(link);
    if (p === undefined) return;
    this.peers.delete(link);
    this.room.leave(p);
  }

  /** As server/src/commit-queue.ts: one append for the group, then the room answers in seq order. */
  commit(): boolean {
    const items = this.queue;
    if (items.length === 0) return false;
    this.queue = [];
    this.room.pending -= items.length;
    const events: DocEvent[] = [];
    for (const it of items) for (const e of it.appended) events.push(e);
    if (events.length > 0) {
      const r = this.store.appendMany([{ docId: this.o.docId, expectedHead: this.room.committedHead, events }]);
      if (!r.ok) throw new Error(`sim store refused a commit: ${r.error.message}`);
    }
    this.room.committedItems(items);
    return true;
  }

  restart(keepMemory: boolean): void {
    for (const link of [...this.peers.keys()]) this.left(link);
    if (keepMemory) return;
    this.queue = [];
    this.room = this.load();
  }
}
