/**
 * A simulated network around the real sequencer and client state machines: per
 * connection FIFO channels both ways, connections that die (their unsent uplink may
 * still reach the server, as a half-open socket's last frames do), reconnects with a
 * catch-up and an outbox resend, and server restarts that lose the sequencer's memory.
 * What arrives when is the test's choice (random, or scripted for trace replay).
 */
import type { DocEvent, EventId } from '../../src/log/event.js';
import type { Op } from '../../src/op/op.js';
import { Sequencer, type SubmitBatch } from '../../src/sync/sequencer.js';
import { ClientState } from '../../src/sync/client-state.js';
import { replay } from '../../src/log/replay.js';
import { MemoryLog } from '../../src/log/memory-log.js';

export type Down =
  | { type: 'events'; events: DocEvent[] }
  | { type: 'ack'; id: EventId; seq: number; op: Op }
  | { type: 'error'; code: string; message: string };

export type Up = { type: 'hello'; last: number } | { type: 'submit'; batch: SubmitBatch };

interface Conn {
  readonly id: number;
  readonly client: SimClient;
  alive: boolean;
  subscribed: boolean;
  readonly up: Up[];
  readonly down: Down[];
}

export class SimClient {
  conn: Conn | null = null;
  ready = false; // catch-up received on the current connection
  readonly errors: string[] = [];
  constructor(readonly name: string, public state: ClientState) {}
}

export class SimNetwork {
  readonly log = new MemoryLog();
  seq: Sequencer;
  readonly clients: SimClient[] = [];
  private readonly conns: Conn[] = [];
  private nextConn = 1;
  time = 0;

  constructor(readonly docId = 'doc') {
    this.seq = new Sequencer(docId, this.log, replay(null, []), 0);
  }

  addClient(name: string): SimClient {
    const c = new SimClient(name, new ClientState({ client: name, author: name }));
    this.clients.push(c);
    return c;
  }

  /** Opens a new connection for `c` (closing any old one) and sends hello. */
  connect(c: SimClient): void {
    if (c.conn) this.disconnect(c, true);
    const conn: Conn = { id: this.nextConn++, client: c, alive: true, subscribed: false, up: [], down: [] };
    this.conns.push(conn);
    c.conn = conn;
    c.ready = false;
    conn.up.push({ type: 'hello', last: c.state.confirmedSeq });
  }

  /**
   * Kills c's connection. With `halfOpen`, frames already on the uplink still reach
   * the server later (their answers are lost); otherwise they are dropped.
   */
  disconnect(c: SimClient, halfOpen: boolean): void {
    const conn = c.conn;
    if (!conn) return;
    conn.alive = false;
    conn.down.length = 0;
    if (!halfOpen) conn.up.length = 0;
    c.conn = null;
    c.ready = false;
    c.state.disconnected();
  }

  /** The server loses its memory (not its log): a new sequencer from the log. */
  restartServer(): void {
    for (const c of this.clients) if (c.conn) this.disconnect(c, false);
    for (const conn of this.conns) conn.up.length = 0;
    const text = replay(null, this.log.events);
    this.seq = new Sequencer(this.docId, this.log, text, this.log.head);
  }

  /** The client sends what its outbox has unsent, if connected and caught up. */
  send(c: SimClient, max = Infinity): boolean {
    if (!c.conn || !c.ready) return false;
    const batch = c.state.takeBatch(max);
    if (!batch) return false;
    c.conn.up.push({ type: 'submit', batch });
    return true;
  }

  /** Connections with uplink frames waiting for the server. */
  upReady(): Conn[] {
    return this.conns.filter((k) => k.up.length > 0);
  }

  /** The server handles the next frame from `conn`. */
  serverStep(conn: Conn): void {
    const msg = conn.up.shift();
    if (!msg) return;
    if (msg.type === 'hello') {
      if (!conn.alive) return;
      const events = this.log.range(msg.last, this.log.head).slice();
      conn.down.push({ type: 'events', events });
      conn.subscribed = true;
      return;
    }
    const r = this.seq.submit(conn.client.name, msg.batch, ++this.time);
    if (!r.ok) {
      if (conn.alive) conn.down.push({ type: 'error', code: r.error.code, message: r.error.message });
      return;
    }
    this.log.append(r.value.appended);
    for (const k of this.conns) {
      if (!k.alive || !k.subscribed) continue;
      if (k === conn) for (const e of r.value.appended) k.down.push({ type: 'ack', id: e.id, seq: e.seq, op: e.op });
      else if (r.value.appended.length > 0) k.down.push({ type: 'events', events: r.value.appended.slice() });
    }
  }

  /** The client handles the next frame the server sent it. */
  clientStep(c: SimClient): void {
    const conn = c.conn;
    if (!conn) return;
    const msg = conn.down.shift();
    if (!msg) return;
    if (msg.type === 'error') {
      c.errors.push(msg.code);
      this.connect(c); // re-sync: catch up, then resend everything unconfirmed
      return;
    }
    const r = msg.type === 'ack' ? c.state.ack(msg.id, msg.seq, msg.op) : c.state.receive(msg.events);
    if (!r.ok) {
      if (r.error.code === 'gap') {
        c.errors.push('gap');
        this.connect(c);
        return;
      }
      throw new Error(`client ${c.name}: ${r.error.code}: ${r.error.message}`);
    }
    if (msg.type === 'events' && !c.ready) c.ready = true;
  }

  /** Delivers everything everywhere until nothing moves; every client ends connected. */
  settle(): void {
    for (const c of this.clients) if (!c.conn) this.connect(c);
    for (let guard = 0; guard < 10_000; guard++) {
      let moved = false;
      for (const conn of this.conns) {
        while (conn.up.length > 0) {
          this.serverStep(conn);
          moved = true;
        }
      }
      for (const c of this.clients) {
        while (c.conn && c.conn.down.length > 0) {
          this.clientStep(c);
          moved = true;
        }
        if (this.send(c)) moved = true;
      }
      if (!moved) return;
    }
    throw new Error('settle: no quiescence');
  }
}
