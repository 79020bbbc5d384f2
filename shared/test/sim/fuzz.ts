/**
 * One simulated-network session: real client sessions and the real room core, random
 * edits, sends, deliveries, group commits, disconnects (some half-open, some for long),
 * late joiners (some with offline edits), clients that mostly read, server restarts
 * with and without the sequencer's memory, connections moved behind their send budget
 * and caught up once drained (P21), `slow-down` asked and lifted (P22), and carets
 * announced, batched in a crowd for half the seeds (P24); then everything settles and the invariants
 * are checked: no client ever saw a gap in its stream or a problem a correct server
 * never causes, its confirmed events followed each other (no checkpoint over kept
 * events), the log has every event once, every ack names the log's seq, and every
 * replica is the log's replay, and every client has heard every other's latest caret. The server
 * checkpoints every few events and welcomes clients a few events behind from a
 * checkpoint, and catch-up pages are a few events long, so catch-ups through history
 * pages happen in most seeds. Returns a description of the first broken invariant, or
 * null.
 */
import { SimNetwork, type SimClient } from './network.js';
import { Random } from './random.js';
import { replay } from '../../src/log/replay.js';
import { idKey, type DocEvent, type LocalEvent } from '../../src/log/event.js';
import type { Op } from '../../src/op/op.js';
import { OpBuilder } from '../../src/op/op.js';
import type { Rope } from '../../src/text/rope.js';

export interface FuzzOptions {
  clients: number;
  steps: number;
  restarts: boolean;
  /**
   * Makes a client's local change instead of a random edit (undo tests use it); returns
   * the event made, or a string naming what went wrong.
   */
  act?: (rnd: Random, net: SimNetwork, c: SimClient) => LocalEvent | string;
  /** Extra invariants on the settled log; a string names the first one broken. */
  check?: (events: readonly DocEvent[]) => string | null;
}

/** What a run went through (the fuzz test checks that the catch-up paths were reached). */
export interface FuzzStats {
  /** Welcomes taken from a server checkpoint. */
  checkpoints: number;
  /** Welcomes whose skipped events were fetched through history pages. */
  historyCatchUps: number;
  restarts: number;
}

/** A random edit that fits `text`: insert, delete, or replace somewhere. */
export function randomEdit(rnd: Random, text: Rope): Op {
  const len = text.length;
  const b = new OpBuilder();
  const r = rnd.next();
  if (len === 0 || r < 0.55) {
    b.retain(rnd.int(len + 1)).insert(rnd.text());
  } else {
    const pos = rnd.int(len);
    const n = 1 + rnd.int(Math.min(len - pos, 6));
    b.retain(pos).delete(text.slice(pos, pos + n));
    if (r > 0.9) b.insert(rnd.text());
  }
  return b.done();
}

export function runFuzz(seed: number, opts: FuzzOptions, stats?: FuzzStats): string | null {
  const rnd = new Random(seed);
  const jitter = new Random(seed ^ 0x5eed);
  // Presence draws from its own stream: carets announced, and presence ticks (P24).
  const pres = new Random(seed ^ 0x9e5e);
  const presenceCrowd = pres.chance(0.5) ? pres.pick([1, 3]) : undefined;
  const net = new SimNetwork({
    checkpointEvery: 3 + rnd.int(20),
    catchUpAfter: 2 + rnd.int(30),
    historyLimit: 1 + rnd.int(8),
    window: rnd.chance(0.2) ? 5 + rnd.int(40) : undefined,
    random: () => jitter.next(),
    // Half the seeds have connections fall behind their send budget at commits (P21).
    ...(rnd.chance(0.5) ? { behindChance: 0.03 + rnd.next() * 0.1 } : {}),
    // Half the seeds batch presence in a crowd of 1 or 3 connections (the server's is 32).
    ...(presenceCrowd !== undefined ? { presenceCrowd } : {}),
  });
  const clients: SimClient[] = [];
  /** Late joiners that make no edit before their first connection (welcomed from a checkpoint). */
  const quiet = new Set<SimClient>();
  /** Clients that mostly read: back from a long absence with an empty outbox, they meet checkpoint welcomes with events to keep. */
  const readers = new Set<SimClient>();
  for (let i = 0; i < opts.clients; i++) {
    const c = net.addClient(`c${i}`, 1 + rnd.int(5));
    // Some join late, half of them with edits made before their first connection.
    if (i > 0 && rnd.chance(0.3)) {
      c.reconnectAt = rnd.int(opts.steps * 3);
      if (rnd.chance(0.5)) quiet.add(c);
    } else net.connect(c);
    if (i > 0 && rnd.chance(0.3)) readers.add(c);
    clients.push(c);
  }
  const made = new Set<string>();
  let restarts = 0;
  for (let step = 0; step < opts.steps; step++) {
    net.tick(1 + rnd.int(5));
    const c = rnd.pick(clients);
    const r = rnd.next();
    if (quiet.has(c) && c.conn !== null) quiet.delete(c);
    if (r < 0.33 && (quiet.has(c) || (readers.has(c) && !rnd.chance(0.1)))) {
      net.pump(c);
    } else if (r < 0.33) {
      if (opts.act) {
        const e = opts.act(rnd, net, c);
        if (typeof e === 'string') return `seed ${seed} step ${step}: ${e}`;
        made.add(idKey(e.id));
      } else {
        const op = randomEdit(rnd, c.state.live);
        const e = c.state.edit(op);
        if (!e.ok) return `seed ${seed} step ${step}: a valid edit was refused: ${e.error.message}`;
        made.add(idKey(e.value.id));
      }
    } else if (r < 0.45) {
      net.pump(c);
    } else if (r < 0.65) {
      const ready = net.upReady();
      if (ready.length > 0) net.serverStep(rnd.pick(ready));
    } else if (r < 0.68) {
      net.commit();
    } else if (r < 0.695) {
      net.drain(c);
    } else if (r < 0.7) {
      // Asked to batch, or lifted (P22).
      net.slowDown(c, rnd.pick([0, 0, 30, 200]));
    } else if (r < 0.93) {
      net.clientStep(c);
    } else if (r < 0.965) {
      net.disconnect(c, rnd.chance(0.5));
    } else if (r < 0.975) {
      net.offlineUntil(c, net.time + 100 + rnd.int(600));
    } else if (r < 0.995) {
      if (!c.conn) net.connect(c);
    } else if (opts.restarts) {
      restarts++;
      net.restartServer(rnd.chance(0.5), rnd.int(100));
    }
    if (pres.chance(0.1)) {
      const p = pres.pick(clients);
      const anchor = pres.int(p.state.live.length + 1);
      net.presence(p, pres.chance(0.1) ? null : { anchor, head: pres.chance(0.5) ? anchor : pres.int(p.state.live.length + 1) });
    }
    if (pres.chance(0.05)) net.presenceTick();
    const stranded = net.stranded();
    if (stranded.length > 0) return `seed ${seed} step ${step}: ${stranded[0].name} has no connection and no reconnect coming`;
  }
  net.settle();
  if (stats) {
    for (const c of clients) {
      stats.checkpoints += c.checkpointsUsed;
      stats.historyCatchUps += c.historyCatchUps;
    }
    stats.restarts += restarts;
  }

  for (const c of clients) if (c.bugs.length > 0) return `seed ${seed}: ${c.name}: ${c.bugs[0]}`;
  const events = net.log.events;
  for (let i = 0; i < events.length; i++) {
    if (events[i].seq !== i + 1) return `seed ${seed}: seq ${events[i].seq} at index ${i}`;
  }
  const seqOf = new Map(events.map((e) => [idKey(e.id), e.seq]));
  if (seqOf.size !== events.length) return `seed ${seed}: an id appears twice in the log`;
  for (const k of made) if (!seqOf.has(k)) return `seed ${seed}: event ${k} was lost`;
  if (seqOf.size !== made.size) return `seed ${seed}: the log has ${seqOf.size} events, clients made ${made.size}`;
  for (const c of clients) {
    for (const a of c.acks) {
      if (seqOf.get(a.key) !== a.seq) return `seed ${seed}: ${c.name} got an ack of ${a.key} at ${a.seq}, the log has it at ${seqOf.get(a.key)}`;
    }
  }
  const truth = replay(null, events);
  const text = truth.toString();
  const authors = JSON.stringify(truth.authorship());
  if (net.server.text() !== text) return `seed ${seed}: the sequencer's text differs from the replay`;
  for (const c of clients) {
    if (!c.ready) return `seed ${seed}: ${c.name} is not caught up after settling`;
    if (c.state.pending.length !== 0) return `seed ${seed}: ${c.name} still has ${c.state.pending.length} pending`;
    if (c.state.confirmedSeq !== events.length) return `seed ${seed}: ${c.name} is at ${c.state.confirmedSeq}, the log at ${events.length}`;
    if (c.state.live.toString() !== text) return `seed ${seed}: ${c.name}'s live text differs from the log's replay (confirmed ${c.state.confirmed.toString() === text ? 'equal' : 'differs'}) ${JSON.stringify(c.state.live.toString())} vs ${JSON.stringify(text)}`;
    if (c.state.confirmed.toString() !== text) return `seed ${seed}: ${c.name}'s confirmed text differs`;
    if (JSON.stringify(c.state.live.authorship()) !== authors) return `seed ${seed}: ${c.name}'s authorship differs`;
  }
  // Everyone hears everyone else's latest caret (P10, P24), batched or not.
  for (const c of clients) {
    for (const d of clients) {
      if (d === c || c.conn === null || d.conn === null || d.staleCaret) continue;
      const heard = JSON.stringify(c.others.has(d.name) ? c.others.get(d.name) : 'unheard');
      if (heard !== JSON.stringify(d.cursor)) return `seed ${seed}: ${c.name} has ${d.name}'s caret at ${heard}, ${d.name} announced ${JSON.stringify(d.cursor)}`;
    }
  }
  if (opts.check) {
    const r = opts.check(events);
    if (r !== null) return `seed ${seed}: ${r}`;
  }
  return null;
}
