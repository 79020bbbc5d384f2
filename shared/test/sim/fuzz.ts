/**
 * One simulated-network session: random edits, sends, deliveries, disconnects (some
 * half-open), reconnects and server restarts, then everything settles and the
 * invariants are checked. Returns a description of the first broken invariant, or null.
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

export function runFuzz(seed: number, opts: FuzzOptions): string | null {
  const rnd = new Random(seed);
  const net = new SimNetwork();
  const clients: SimClient[] = [];
  for (let i = 0; i < opts.clients; i++) {
    const c = net.addClient(`c${i}`);
    net.connect(c);
    clients.push(c);
  }
  const made = new Set<string>();
  for (let step = 0; step < opts.steps; step++) {
    const c = rnd.pick(clients);
    const r = rnd.next();
    if (r < 0.35) {
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
    } else if (r < 0.5) {
      net.send(c, 1 + rnd.int(4));
    } else if (r < 0.7) {
      const ready = net.upReady();
      if (ready.length > 0) net.serverStep(rnd.pick(ready));
    } else if (r < 0.93) {
      net.clientStep(c);
    } else if (r < 0.97) {
      net.disconnect(c, rnd.chance(0.5));
    } else if (r < 0.995) {
      if (!c.conn) net.connect(c);
    } else if (opts.restarts) {
      net.restartServer();
    }
  }
  net.settle();

  const events = net.log.events;
  for (let i = 0; i < events.length; i++) {
    if (events[i].seq !== i + 1) return `seed ${seed}: seq ${events[i].seq} at index ${i}`;
  }
  const logged = new Set(events.map((e) => idKey(e.id)));
  if (logged.size !== events.length) return `seed ${seed}: an id appears twice in the log`;
  for (const k of made) if (!logged.has(k)) return `seed ${seed}: event ${k} was lost`;
  if (logged.size !== made.size) return `seed ${seed}: the log has ${logged.size} events, clients made ${made.size}`;
  const truth = replay(null, events);
  const text = truth.toString();
  const authors = JSON.stringify(truth.authorship());
  if (net.seq.text.toString() !== text) return `seed ${seed}: the sequencer's text differs from the replay`;
  for (const c of clients) {
    if (c.state.pending.length !== 0) return `seed ${seed}: ${c.name} still has ${c.state.pending.length} pending`;
    if (c.state.live.toString() !== text) return `seed ${seed}: ${c.name}'s live text differs from the log's replay (confirmed ${c.state.confirmed.toString() === text ? "equal" : "differs"}) ${JSON.stringify(c.state.live.toString())} vs ${JSON.stringify(text)}`;
    if (c.state.confirmed.toString() !== text) return `seed ${seed}: ${c.name}'s confirmed text differs`;
    if (JSON.stringify(c.state.live.authorship()) !== authors) return `seed ${seed}: ${c.name}'s authorship differs`;
  }
  if (opts.check) {
    const r = opts.check(events);
    if (r !== null) return `seed ${seed}: ${r}`;
  }
  return null;
}
