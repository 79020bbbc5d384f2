/**
 * A simulated network between real client sessions (shared/src/session) and the real
 * room (sim-server.ts), carrying the real encoded messages (JSON strings) both ways.
 * Each connection is a pair of FIFO channels; what is delivered when is the test's
 * choice (random in the fuzz, scripted in the undo tests).
 *
 * Failures it makes: connections that die (half-open ones still deliver their unsent
 * uplink to the server, as a socket's last frames do, so stale submits and duplicates
 * reach it, possibly after the client's next connection has said hello), clients that
 * stay offline for long, and server restarts with or without the sequencer's memory.
 * A client's session decides everything else: when to reconnect (its backoff, on the
 * simulation's clock), what to fetch, what to resend.
 */
import { ClientSession } from '../../src/session/client-session.js';
import type { SessionEffect as Effect } from '../../src/session/effects.js';
import { ClientState } from '../../src/sync/client-state.js';
import { encodeClientMessage, presenceEntries, type Cursor } from '../../src/protocol/messages.js';
import type { DocEvent } from '../../src/log/event.js';
import { replay } from '../../src/log/replay.js';
import { RoomServer, type ServerLink, type SimServer } from './sim-server.js';

export interface Conn extends ServerLink {
  readonly id: number;
  readonly owner: SimClient;
  /** The client still has this connection. */
  alive: boolean;
  /** The server still has it (it notices a close only after the uplink drained). */
  serverSide: boolean;
  /** The server closed it: the client reads what is on the downlink, then loses it. */
  closedByServer: boolean;
  readonly up: string[];
  /** Frames to the client as the server sent them: JSON text, or bytes (a binary welcome or history page). */
  readonly down: (string | Uint8Array)[];
}

export class SimClient {
  conn: Conn | null = null;
  /** When the session's backoff lets it reconnect (null: not waiting). */
  reconnectAt: number | null = null;
  /** Errors (server codes and stream problems), in order. */
  readonly errors: string[] = [];
  /** Problems a correct server and client never cause (a gap or divergence in the stream, fatal refusals, undecodable frames, a hole in the confirmed events). */
  readonly bugs: string[] = [];
  /** Every ack this client received: idKey → seq. */
  readonly acks: { key: string; seq: number }[] = [];
  checkpointsUsed = 0;
  historyCatchUps = 0;
  /** The last seq of the confirmed events the session handed out: they must follow each other, as the browser's store keeps them. */
  kept = 0;
  /** The caret this client last announced on its current connection (null: none yet). */
  cursor: Cursor = null;
  /** The others' carets as this client heard them (presence, presence-batch, presence-leave), by client. */
  readonly others = new Map<string, Cursor>();
  /**
   * A replaced connection of this client said hello after its newer one, or had a caret
   * waiting for the presence tick when it was replaced: the others may then hear that
   * connection's caret last, as the real server relays it. Its caret is left out of the
   * presence check.
   */
  staleCaret = false;
  constructor(
    readonly name: string,
    readonly session: ClientSession,
  ) {}

  get state(): ClientState {
    return this.session.state;
  }

  get ready(): boolean {
    return this.session.ready;
  }
}

export interface SimNetworkOptions {
  readonly docId?: string;
  /** Server checkpoint interval (small, so far-behind clients are welcomed from checkpoints). */
  readonly checkpointEvery?: number;
  /** Events behind after which a welcome brings a checkpoint. */
  readonly catchUpAfter?: number;
  /** Events per catch-up history page (small, so catch-ups take several pages). */
  readonly historyLimit?: number;
  /** Events per submit. */
  readonly maxBatch?: number;
  /** The sequencer's rebase window. */
  readonly window?: number;
  /** Randomness for the sessions' backoff jitter (seeded by the test). */
  readonly random?: () => number;
  /** Each commit moves each connection behind with this chance (P21; sim-server.ts). */
  readonly behindChance?: number;
  /** From this many connections on, presence waits for `presenceTick` and goes out batched (P24; sim-server.ts). */
  readonly presenceCrowd?: number;
}

export class SimNetwork {
  readonly server: SimServer;
  readonly clients: SimClient[] = [];
  private readonly conns: Conn[] = [];
  private nextConn = 1;
  /** The simulation's clock, in ms. */
  time = 0;
  /** Until then the server is down: connection attempts fail before they open. */
  downUntil = 0;
  private readonly o: SimNetworkOptions;

  constructor(o: SimNetworkOptions = {}) {
    this.o = o;
    this.server = new RoomServer({
      docId: o.docId ?? 'doc',
      checkpointEvery: o.checkpointEvery ?? 1000,
      catchUpAfter: o.catchUpAfter ?? 1000,
      ...(o.window !== undefined ? { window: o.window } : {}),
      ...(o.behindChance !== undefined ? { behindChance: o.behindChance, random: o.random ?? Math.random } : {}),
      ...(o.presenceCrowd !== undefined ? { presenceCrowd: o.presenceCrowd } : {}),
      now: () => this.time,
    });
  }

  /** The committed log. */
  get log(): { readonly events: readonly DocEvent[] } {
    return { events: this.server.events };
  }

  addClient(name: string, maxBatch = this.o.maxBatch ?? 1000): SimClient {
    const session = new ClientSession({
      docId: this.o.docId ?? 'doc',
      state: new ClientState({ client: name, author: name }),
      maxBatch,
      historyLimit: this.o.historyLimit ?? 1000,
      backoff: { minMs: 20, maxMs: 500 },
      random: this.o.random ?? (() => 0.5),
    });
    const c = new SimClient(name, session);
    this.clients.push(c);
    return c;
  }

  /** Opens a new connection for `c` (dropping any old one, half-open) and says hello. */
  connect(c: SimClient): void {
    if (c.session.fatal !== null) return;
    if (c.conn) this.kill(c.conn, true);
    if (this.time < this.downUntil) {
      // Refused: the session hears of a connection lost before it opened.
      c.reconnectAt = null;
      this.run(c, c.session.lost());
      return;
    }
    const conn: Conn = {
      id: this.nextConn++,
      owner: c,
      client: c.name,
      alive: true,
      serverSide: true,
      closedByServer: false,
      up: [],
      down: [],
      sendRaw(data) {
        if (this.alive && !this.closedByServer) this.down.push(data);
      },
      close: () => {
        conn.closedByServer = true;
        conn.up.length = 0;
        this.serverNoticesClose(conn);
      },
    };
    this.conns.push(conn);
    c.conn = conn;
    c.reconnectAt = null;
    // A new connection starts presence over, both ways (the browser's Presence does the same).
    c.cursor = null;
    c.others.clear();
    this.run(c, c.session.opened({ name: c.name, color: '#888' }));
  }

  /**
   * Kills c's connection; the session hears it is lost and picks its reconnect time. With
   * `halfOpen`, frames already on the uplink still reach the server later.
   */
  disconnect(c: SimClient, halfOpen: boolean): void {
    if (!c.conn) return;
    this.kill(c.conn, halfOpen);
    this.run(c, c.session.lost());
  }

  /** `c` stays offline until `until` on the clock (its session's backoff is overridden). */
  offlineUntil(c: SimClient, until: number): void {
    this.disconnect(c, false);
    c.reconnectAt = until;
  }

  private kill(conn: Conn, halfOpen: boolean): void {
    if (conn.serverSide && this.server.hasWaitingMove(conn)) conn.owner.staleCaret = true;
    conn.alive = false;
    conn.down.length = 0;
    if (!halfOpen) conn.up.length = 0;
    // A replaced connection's last carets are not what this fuzz checks (the client's
    // latest caret on its current connection): its edits still reach the server, not them.
    else for (let i = conn.up.length - 1; i >= 0; i--) if (conn.up[i].startsWith('{"type":"presence"')) conn.up.splice(i, 1);
    if (conn.owner.conn === conn) conn.owner.conn = null;
    if (conn.up.length === 0) this.serverNoticesClose(conn);
  }

  private serverNoticesClose(conn: Conn): void {
    if (!conn.serverSide) return;
    conn.serverSide = false;
    this.server.left(conn);
    const i = this.conns.indexOf(conn);
    if (i >= 0) this.conns.splice(i, 1);
  }

  /**
   * The server restarts: every connection goes (none of its uplink is read). With
   * `keepMemory` the room and its uncommitted submits survive (a network failure of the
   * whole server); without, it crashed and loads the document again from the store.
   */
  restartServer(keepMemory = false, downMs = 0): void {
    this.downUntil = this.time + downMs;
    for (const conn of [...this.conns]) {
      conn.up.length = 0;
      const owner = conn.owner;
      const mine = owner.conn === conn;
      this.kill(conn, false);
      if (mine) this.run(owner, owner.session.lost());
    }
    this.server.restart(keepMemory);
  }

  /** Carries out a session's effects. */
  run(c: SimClient, effects: readonly Effect[]): void {
    for (const e of effects) {
      switch (e.type) {
        case 'send':
          if (c.conn?.alive) c.conn.up.push(encodeClientMessage(e.message));
          break;
        case 'reconnect':
          if (c.conn) this.kill(c.conn, true);
          c.reconnectAt = this.time + e.afterMs;
          break;
        case 'close':
          if (c.conn) this.kill(c.conn, false);
          c.reconnectAt = null;
          break;
        case 'reset':
          c.checkpointsUsed++;
          // A checkpoint over kept events leaves a hole below it in the browser's tail and history.
          if (c.kept !== 0) c.bugs.push(`reset to a checkpoint at ${e.seq} over confirmed events up to ${c.kept}`);
          c.kept = e.seq;
          break;
        case 'confirmed':
          if (e.events.length > 0 && e.events[0].seq !== c.kept + 1) c.bugs.push(`confirmed events jump from ${c.kept} to ${e.events[0].seq}`);
          if (e.events.length > 0) c.kept = e.events[e.events.length - 1].seq;
          break;
        case 'other':
          if (e.message.type === 'presence-leave') c.others.delete(e.message.client);
          else for (const p of presenceEntries(e.message, c.name)) c.others.set(p.client, p.cursor);
          break;
        case 'problem':
          c.errors.push(e.code);
          if (e.fatal || e.source === 'decode' || e.source === 'stream') c.bugs.push(`${e.source} ${e.code}: ${e.message}`);
          break;
        default:
          break;
      }
    }
  }

  /** The client's session sends what its outbox has unsent (when caught up). */
  pump(c: SimClient): boolean {
    const before = c.conn?.up.length ?? 0;
    this.run(c, c.session.pump());
    return (c.conn?.up.length ?? 0) > before;
  }

  /** Connections with uplink frames waiting for the server. */
  upReady(): Conn[] {
    return this.conns.filter((k) => k.up.length > 0);
  }

  /** The server reads the next frame of `conn`. */
  serverStep(conn: Conn): void {
    const raw = conn.up.shift();
    if (raw === undefined) return;
    if (conn.owner.conn !== conn && raw.startsWith('{"type":"hello"')) conn.owner.staleCaret = true;
    this.server.frame(conn, raw);
    if (!conn.alive && conn.up.length === 0) this.serverNoticesClose(conn);
  }

  /** The group commit. */
  commit(): boolean {
    return this.server.commit();
  }

  /** `c` announces a caret (on its connection's uplink, if it has one). */
  presence(c: SimClient, cursor: Cursor): void {
    if (!c.conn?.alive) return;
    c.conn.up.push(encodeClientMessage({ type: 'presence', cursor }));
    c.cursor = cursor;
  }

  /** The server's presence tick (a crowded room's waiting carets go out, P24). */
  presenceTick(): boolean {
    return this.server.presenceTick();
  }

  /** `c` has read everything the server sent: if it was behind, the server catches it up (P21). */
  drain(c: SimClient): boolean {
    const conn = c.conn;
    if (!conn || conn.down.length > 0 || !conn.alive) return false;
    return this.server.drained(conn);
  }

  /** The server asks `c` to batch (P22; 0 lifts it). */
  slowDown(c: SimClient, batchMs: number): void {
    if (c.conn && c.conn.alive) this.server.slowDown(c.conn, batchMs);
  }

  /** The client reads the next frame the server sent it. */
  clientStep(c: SimClient): void {
    const conn = c.conn;
    if (!conn) return;
    const raw = conn.down.shift();
    if (raw === undefined) return;
    if (typeof raw === 'string' && raw.startsWith('{"type":"ack"')) {
      const m = JSON.parse(raw) as { id: { client: string; clientSeq: number }; seq: number };
      c.acks.push({ key: `${m.id.clientSeq}@${m.id.client}`, seq: m.seq });
    }
    const holding = c.session.holding;
    this.run(c, c.session.receive(raw, this.time));
    if (!holding && c.session.holding) c.historyCatchUps++;
    if (conn.closedByServer && conn.down.length === 0 && c.conn === conn) this.disconnect(c, false);
    // FUZZ_DEBUG=1: check the confirmed text after every frame, to find the first one that breaks it.
    if (process.env.FUZZ_DEBUG === '1') {
      const ev = this.server.events;
      const want = replay(null, ev.slice(0, c.state.confirmedSeq)).toString();
      if (c.state.confirmed.toString() !== want) throw new Error(`${c.name} confirmed differs at ${c.state.confirmedSeq} after ${raw.slice(0, 300)}; errors ${c.errors}; ack ${JSON.stringify(c.acks.slice(-3))}; log tail ${JSON.stringify(ev.slice(Math.max(0, c.state.confirmedSeq - 3), c.state.confirmedSeq).map((e) => [e.seq, e.id, e.op]))}`);
    }
  }

  /** Clients whose backoff (or offline spell) is over connect. */
  tick(ms: number): void {
    this.time += ms;
    for (const c of this.clients) {
      if (!c.conn && c.reconnectAt !== null && c.reconnectAt <= this.time) this.connect(c);
    }
  }

  /**
   * Clients that have neither a connection nor a reconnect coming (the session dropped
   * them without saying when to try again), and are not refused for good.
   */
  stranded(): SimClient[] {
    return this.clients.filter((c) => c.conn === null && c.reconnectAt === null && c.session.fatal === null);
  }

  /** Delivers everything everywhere until nothing moves; every client ends connected and caught up. */
  settle(): void {
    this.downUntil = 0;
    for (let guard = 0; guard < 100_000; guard++) {
      let moved = false;
      for (const c of this.clients) {
        if (!c.conn && c.session.fatal === null) {
          this.connect(c);
          moved = true;
        }
      }
      for (const conn of [...this.conns]) {
        while (conn.up.length > 0) {
          this.serverStep(conn);
          moved = true;
        }
      }
      if (this.commit()) moved = true;
      if (this.presenceTick()) moved = true;
      for (const c of this.clients) {
        while (c.conn && c.conn.down.length > 0) {
          this.clientStep(c);
          moved = true;
        }
        if (this.pump(c)) moved = true;
        if (this.drain(c)) moved = true;
      }
      if (!moved) return;
    }
    const stuck = this.clients.map((c) => `${c.bugs[0] ?? ''} ${c.name}: seq ${c.state.confirmedSeq} outbox ${c.state.pending.length} ready ${c.ready} errors ${c.errors.slice(-4).join(',')}`);
    throw new Error(`settle: no quiescence (log at ${this.server.events.length}; ${stuck.join('; ')})`);
  }
}
