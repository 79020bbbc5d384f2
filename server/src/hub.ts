/**
 * The sync hub: everything the WebSocket endpoint shares across connections. It owns
 * the open rooms (loaded on the first hello for a document, dropped when the last
 * connection leaves and nothing waits for a commit), the commit queue, the heartbeat,
 * and the order of a clean shutdown:
 *
 *   1. stop taking events: submits and hellos are refused with `server-shutting-down`;
 *   2. flush the commit queue, so everything sequenced is stored and acknowledged;
 *   3. close every socket with 1001 (going away), after its queued output;
 *   4. close the store.
 *
 * A crash skips all of this and loses nothing acknowledged (L2): acks only ever follow
 * a commit. What a crash loses is sequenced-but-uncommitted events, which their
 * clients still hold and resend.
 */
import type { WebSocket } from 'ws';
import type { LogStore } from './store/log-store.js';
import { CommitQueue } from './commit-queue.js';
import { Room, type CommitItem } from './room.js';
import { Connection, type ConnectionHost } from './connection.js';
import { CloseCode } from './transport.js';
import { defaultSyncOptions, type SyncOptions } from './options.js';
import { MemoryAccessStore, type AccessStore } from './access/access-store.js';
import { AccessGate, type AccessErrorCode, type GateRequest } from './access/gate.js';
import { AddressBuckets, TurnBudget } from './limits/index.js';
import { ClusterFanout } from './cluster/index.js';
import type { CodedError, Result, Role } from '../../shared/src/index.js';

/** What a connection closed by replaced links is told (on the rotating node and on the others, R28). */
const LINKS_REPLACED = "this document's links were replaced by an editor: this link no longer works; ask for the new one";

export class SyncHub implements ConnectionHost {
  readonly options: SyncOptions;
  readonly rooms = new Map<string, Room>();
  /** Rooms being loaded: a second hello for the document waits for the same load. */
  private readonly loading = new Map<string, Promise<Room>>();
  readonly connections = new Set<Connection>();
  readonly queue: CommitQueue;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private readonly heartbeat: NodeJS.Timeout | null;
  private readonly gate: AccessGate;
  private readonly addressFrames: AddressBuckets;
  /** History bytes served per address (options.addressReads). */
  private readonly addressReads: AddressBuckets;
  /** The other nodes of the same database, when there are (options.cluster). */
  readonly cluster: ClusterFanout | null;
  /**
   * 2 ms of frame handling per turn of the event loop, then everyone waiting gets 4 frames
   * in turn: a flood is spread thin instead of landing on others' latency in one piece.
   */
  readonly turn = new TurnBudget({ sliceMs: 2, quantum: 4 });

  constructor(
    readonly store: LogStore,
    options: Partial<SyncOptions> = {},
    /** Whether shutdown closes the stores (true when the server opened them). */
    private readonly ownsStore = true,
    /** Who may use which document (hashes of tokens). */
    readonly access: AccessStore = new MemoryAccessStore(),
  ) {
    this.options = { ...defaultSyncOptions, ...options };
    this.addressFrames = new AddressBuckets(this.options.addressFrames);
    this.addressReads = new AddressBuckets(this.options.addressReads);
    this.gate = new AccessGate(access, (docId) => this.rooms.get(docId)?.sequencerHead ?? store.head(docId), this.options.creates);
    this.queue = new CommitQueue({
      store,
      log: this.options.log,
      windowMs: this.options.commitWindowMs,
      afterFlush: (rooms) => this.afterFlush(rooms),
      perDocument: this.options.cluster !== null,
    });
    const c = this.options.cluster;
    this.cluster =
      c === null
        ? null
        : new ClusterFanout({
            url: c.url,
            nodeId: c.nodeId,
            log: this.options.log,
            pollMs: c.pollMs,
            host: {
              room: (docId) => this.rooms.get(docId),
              rooms: () => this.rooms.values(),
              readRange: (docId, from, to) => store.range(docId, from, to),
              readHead: (docId) => store.head(docId),
              recheckAccess: (docId) => void this.recheckAccess(docId),
            },
          });
    this.heartbeat = this.options.heartbeatMs > 0 ? setInterval(() => this.beat(), this.options.heartbeatMs) : null;
    this.heartbeat?.unref();
  }

  /** Starts listening to the other nodes (a no-op for a single node). */
  async startCluster(): Promise<void> {
    await this.cluster?.start();
  }

  get shuttingDown(): boolean {
    return this.stopping;
  }

  /** A new WebSocket on /ws from `address`. */
  accept(ws: WebSocket, address = ''): void {
    if (this.stopping) {
      ws.on('error', () => {});
      ws.close(CloseCode.goingAway, 'server-shutting-down');
      return;
    }
    this.connections.add(new Connection(ws, this, address));
  }

  chargeAddressFrame(address: string): number {
    return this.addressFrames.charge(address);
  }

  chargeAddressReads(address: string, bytes: number): number {
    return this.addressReads.charge(address, bytes);
  }

  authorize(req: GateRequest): Promise<Result<Role, CodedError<AccessErrorCode>>> {
    return this.gate.authorize(req);
  }

  async rotateLinks(conn: Connection, token: string): Promise<Result<null, CodedError<AccessErrorCode>>> {
    const room = conn.room;
    if (room === null) throw new Error('rotateLinks before the connection joined');
    const r = await this.gate.rotate(room.docId, token);
    if (!r.ok) return r;
    // Every other connection to the document joined with an old token (only the asker knows the new one): close them now.
    for (const c of this.connections) {
      if (c !== conn && c.room !== null && c.room.docId === room.docId) {
        c.sendError('links-replaced', LINKS_REPLACED, CloseCode.policy);
      }
    }
    this.cluster?.linksReplaced(room.docId);
    return r;
  }

  /**
   * Another node replaced `docId`'s links (or, with null, notices may have been missed):
   * the connections here whose hello token no longer gives the role they joined with are
   * closed with `links-replaced`, as on the node that rotated (R28). A failed read of the
   * access record is logged; the next reconnect of the listener checks again.
   */
  private async recheckAccess(docId: string | null): Promise<void> {
    const docs = new Set<string>();
    for (const c of this.connections) if (c.room !== null && (docId === null || c.room.docId === docId)) docs.add(c.room.docId);
    for (const d of docs) {
      let roleOf: (hash: string | null) => Role | null;
      try {
        roleOf = await this.gate.roleOfHash(d);
      } catch (e) {
        this.options.log.warn(`links of ${d} not checked: ${(e as Error).message}`);
        continue;
      }
      for (const c of this.connections) {
        if (c.room !== null && c.room.docId === d && roleOf(c.tokenHash) !== c.role) c.sendError('links-replaced', LINKS_REPLACED, CloseCode.policy);
      }
    }
  }

  async openRoom(docId: string): Promise<Room> {
    const open = this.rooms.get(docId);
    if (open !== undefined) return open;
    let loading = this.loading.get(docId);
    if (loading === undefined) {
      loading = Room.open(docId, {
        store: this.store,
        log: this.options.log,
        sequencer: { maxDocLength: this.options.maxDocLength, window: this.options.sequencerWindow },
        checkpointEvery: this.options.checkpointEvery,
        sendBudgetBytes: this.options.sendBudgetBytes,
        ...(this.options.docTargetLagMs > 0 ? { targetLagMs: this.options.docTargetLagMs } : {}),
        now: Date.now,
        ...(this.cluster !== null ? { cluster: this.cluster } : {}),
      }).then(
        (room) => {
          this.loading.delete(docId);
          this.rooms.set(docId, room);
          return room;
        },
        (e: unknown) => {
          this.loading.delete(docId);
          throw e;
        },
      );
      this.loading.set(docId, loading);
    }
    return loading;
  }

  releaseRoom(room: Room): void {
    if (room.idle && this.rooms.get(room.docId) === room) this.rooms.delete(room.docId);
  }

  commit(item: CommitItem): void {
    this.queue.push(item);
  }

  connectionClosed(conn: Connection): void {
    this.connections.delete(conn);
    const room = conn.room;
    if (room === null) return;
    room.leave(conn);
    this.releaseRoom(room);
  }

  private afterFlush(rooms: readonly Room[]): void {
    for (const room of rooms) {
      if (room.broken) {
        // Its sequencer no longer matches the store and could not be rebuilt: drop it;
        // the clients reconnect and the next hello loads it afresh.
        if (this.rooms.get(room.docId) === room) this.rooms.delete(room.docId);
        for (const c of this.connections) if (c.room === room) c.sendError('store-failed', 'the document had to be reloaded', CloseCode.serverError);
      } else {
        this.releaseRoom(room);
        // A catch-up that waited for this room's commit may run now.
        if (this.rooms.get(room.docId) === room) this.cluster?.settle(room);
      }
    }
  }

  /** Ping every socket; drop those that did not answer the previous ping. */
  private beat(): void {
    for (const c of this.connections) {
      if (!c.alive) {
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      try {
        c.ws.ping();
      } catch {
        c.ws.terminate();
      }
    }
  }

  /** The clean shutdown described above; resolves when the store is closed. */
  shutdown(graceMs = 2000): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      if (this.heartbeat) clearInterval(this.heartbeat);
      await this.queue.flush();
      const conns = [...this.connections];
      const closed = conns.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.ws.readyState === c.ws.CLOSED) return resolve();
            c.ws.once('close', () => resolve());
          }),
      );
      for (const c of conns) c.close(CloseCode.goingAway, 'server-shutting-down');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(closed), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      for (const c of this.connections) c.ws.terminate();
      // Anything that slipped in while closing was refused, but flush once more to be sure.
      await this.queue.flush();
      this.rooms.clear();
      await this.cluster?.close();
      if (this.ownsStore) {
        await this.store.close();
        await this.access.close();
      }
    })();
    return this.stopped;
  }
}
