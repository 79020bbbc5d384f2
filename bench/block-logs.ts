/**
 * Logs of many authors for the block codec's size figures, made the way the server makes
 * them: the events of `clients` typists arriving interleaved, each stamped with the server's
 * clock, each based on the seq its author had seen. A block of one person's keystrokes is
 * the easy case (everything repeats); these are the hard one.
 *
 * - `serverBenchLog`: exactly what bench/server-load.ts sends (one `'x'` at the start, no meta,
 *   author = client), at its rates: every client fires on its own timer, spread over the
 *   period, with a millisecond or two of timer and network jitter; the server's time is the
 *   arrival; a client's base is the last seq it had heard of (commits reach it 1-4 ms later).
 * - `appLog`: what the editor sends: each author types at a caret of their own in a shared
 *   text, backspaces now and then, pauses, moves; `meta.step` names the undo step
 *   (shared/src/history/undo.ts) as the step grouper does (a new step after a pause or a jump).
 *
 * Seeded (mulberry32): the same arguments give the same log.
 */
import type { DocEvent } from '../shared/src/index.js';
import { idKey, opFromSplice } from '../shared/src/index.js';

export interface LoadShape {
  clients: number;
  /** Events a second per client. */
  rate: number;
  seconds: number;
  seed: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Arrival {
  at: number;
  client: number;
}

/** When each client's events reach the server, in arrival order. */
function arrivals(shape: LoadShape, random: () => number, busy: (client: number) => boolean): Arrival[] {
  const period = 1000 / shape.rate;
  const out: Arrival[] = [];
  for (let c = 0; c < shape.clients; c++) {
    const offset = (c * period) / shape.clients;
    for (let t = offset; t < shape.seconds * 1000; t += period) {
      if (!busy(c)) continue;
      out.push({ at: t + random() * 2, client: c });
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

const T0 = 1_764_950_400_000;

/** The events bench/server-load.ts makes the server append. */
export function serverBenchLog(shape: LoadShape): DocEvent[] {
  const random = rng(shape.seed);
  const seen = new Array<number>(shape.clients).fill(0);
  const counts = new Array<number>(shape.clients).fill(0);
  const events: DocEvent[] = [];
  const committedAt: number[] = [];
  for (const a of arrivals(shape, random, () => true)) {
    const seq = events.length + 1;
    const time = T0 + Math.floor(a.at);
    // What the client had heard of when it sent: commits older than 1-4 ms.
    let base = seen[a.client];
    while (base < committedAt.length && committedAt[base] + 1 + random() * 3 <= a.at) base++;
    seen[a.client] = base;
    const name = `load-c0-${a.client}`;
    events.push({ id: { client: name, clientSeq: ++counts[a.client] }, seq, base, author: name, time, op: ['x'], kind: 'edit' });
    committedAt.push(a.at);
  }
  return events;
}

/** Events as the editor makes them: own carets, backspaces, pauses, undo steps in meta. */
export function appLog(shape: LoadShape): DocEvent[] {
  const random = rng(shape.seed);
  const int = (n: number) => Math.floor(random() * n);
  const ids = Array.from({ length: shape.clients }, () => randomId(random));
  const names = ids.map((id, i) => `${['Calm', 'Brave', 'Quick', 'Kind'][i % 4]} ${['Otter', 'Heron', 'Lynx'][i % 3]} #${id.slice(0, 6)}`);
  const carets = new Array<number>(shape.clients).fill(0);
  const counts = new Array<number>(shape.clients).fill(0);
  const steps = new Array<string | null>(shape.clients).fill(null);
  const seen = new Array<number>(shape.clients).fill(0);
  const committedAt: number[] = [];
  const pausing = new Array<number>(shape.clients).fill(0);
  let doc = '';
  let lengthBefore = 0;
  const events: DocEvent[] = [];
  const words = 'the quick brown fox jumps over a lazy dog while every author types their own part of it '.split(' ');
  const pending = new Array<string>(shape.clients).fill('');
  for (const a of arrivals(shape, random, (c) => {
    if (pausing[c] > 0) {
      pausing[c]--;
      return false;
    }
    if (random() < 0.02) pausing[c] = 5 + int(20);
    return true;
  })) {
    const c = a.client;
    const seq = events.length + 1;
    let base = seen[c];
    while (base < committedAt.length && committedAt[base] + 1 + random() * 3 <= a.at) base++;
    seen[c] = base;
    const id = { client: ids[c], clientSeq: ++counts[c] };
    let caret = Math.min(carets[c], doc.length);
    let newStep = steps[c] === null || random() < 0.05;
    if (random() < 0.01) {
      caret = int(doc.length + 1);
      newStep = true;
    }
    let op;
    if (caret > 0 && random() < 0.1) {
      op = opFromSplice(caret - 1, doc.slice(caret - 1, caret), '');
      doc = doc.slice(0, caret - 1) + doc.slice(caret);
      caret -= 1;
    } else {
      if (pending[c] === '') pending[c] = `${words[int(words.length)]} `;
      const ch = pending[c][0];
      pending[c] = pending[c].slice(1);
      op = opFromSplice(caret, '', ch);
      doc = doc.slice(0, caret) + ch + doc.slice(caret);
      caret += 1;
    }
    // Others' carets after this edit move with it.
    const delta = doc.length - lengthBefore;
    for (let o = 0; o < shape.clients; o++) if (o !== c && carets[o] >= caret - (delta > 0 ? 1 : 0)) carets[o] += delta;
    carets[c] = caret;
    lengthBefore = doc.length;
    if (newStep) steps[c] = idKey(id);
    events.push({ id, seq, base, author: names[c], time: T0 + Math.floor(a.at), op, kind: 'edit', meta: { step: steps[c] as string } });
    committedAt.push(a.at);
  }
  return events;
}

function randomId(random: () => number): string {
  let s = '';
  for (let i = 0; i < 10; i++) s += 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(random() * 36)];
  return s;
}

/** Bytes a block spends per event on a log, in one block and in blocks of `every`. */
export interface ManyAuthorFigures {
  log: string;
  events: number;
  wholeBytesPerEvent: number;
  blocksBytesPerEvent: number;
}

/**
 * The many-author figures of `npm run bench`: the server bench's own load (100 clients x 10
 * events/s for 10 s) and editor-like logs of 100 and of 5 authors; each log is checked to
 * come back exactly from its blocks.
 */
export function manyAuthorFigures(
  encode: (events: readonly DocEvent[]) => Uint8Array,
  decode: (bytes: Uint8Array) => readonly DocEvent[],
  every = 1000,
): ManyAuthorFigures[] {
  const logs: [string, DocEvent[]][] = [
    ['server bench, 100 clients x 10/s', serverBenchLog({ clients: 100, rate: 10, seconds: 10, seed: 1 })],
    ['editor, 100 authors x 10/s, undo steps', appLog({ clients: 100, rate: 10, seconds: 10, seed: 2 })],
    ['editor, 5 authors x 8/s, undo steps', appLog({ clients: 5, rate: 8, seconds: 200, seed: 3 })],
  ];
  return logs.map(([name, events]) => {
    const whole = encode(events);
    let blocks = 0;
    const back: DocEvent[] = [];
    for (let i = 0; i < events.length; i += every) {
      const b = encode(events.slice(i, i + every));
      blocks += b.length;
      back.push(...decode(b));
    }
    if (JSON.stringify(back) !== JSON.stringify(events) || JSON.stringify(decode(whole)) !== JSON.stringify(events)) {
      throw new Error(`${name}: the blocks do not give the log back`);
    }
    return { log: name, events: events.length, wholeBytesPerEvent: whole.length / events.length, blocksBytesPerEvent: blocks / events.length };
  });
}
