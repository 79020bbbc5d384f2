/**
 * People typing, for the integration tests and the soak: random edits on a client's
 * live text (seeded), waiting until a group of clients has settled, and the checks
 * every convergence test makes against the stored log (L1 contiguous seqs, L3 each id
 * once, L4 identical text, replay of the log equals what the clients hold). Plain
 * throws rather than vitest's expect, so server/test/soak.ts can run it outside vitest.
 */
import { opFromSplice, replay, idKey, type DocEvent } from '../../../shared/src/index.js';
import { Random } from '../../../shared/test/sim/random.js';
import { WsClient } from './ws-client.js';

export interface TypingOptions {
  /** Deletes only happen while the text is longer than this. */
  keepAtLeast?: number;
  /** Longest insert. */
  maxInsert?: number;
}

/** One random edit (insert, delete, or replace) on `c`'s live text. */
export function randomEdit(c: WsClient, rnd: Random, opts: TypingOptions = {}): boolean {
  const text = c.state.live;
  const len = text.length;
  const keep = opts.keepAtLeast ?? 0;
  const r = rnd.next();
  if (r < 0.7 || len <= keep + 1) {
    const pos = rnd.int(len + 1);
    return c.edit(opFromSplice(pos, '', rnd.text(opts.maxInsert ?? 4)));
  }
  const n = 1 + rnd.int(Math.min(5, len - keep));
  const pos = rnd.int(len - n + 1);
  const deleted = text.slice(pos, pos + n);
  return c.edit(opFromSplice(pos, deleted, r < 0.9 ? '' : rnd.text(2)));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until every client is caught up with an empty outbox and all stand at the same
 * seq: then every event ever made is committed and everyone has seen all of them.
 * Returns that seq (the document's head).
 */
export async function settle(clients: readonly WsClient[], ms = 30_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const fatal = clients.find((c) => c.fatal);
    if (fatal) throw new Error(`${fatal.opts.client}: ${fatal.fatal}`);
    const head = clients[0].state.confirmedSeq;
    if (clients.every((c) => c.ready && c.state.pending.length === 0 && c.state.confirmedSeq === head)) return head;
    if (Date.now() - t0 > ms) {
      const status = clients.map((c) => `${c.opts.client}: seq ${c.state.confirmedSeq} outbox ${c.state.pending.length} ready ${c.ready} errors ${c.errors.slice(-3)}`);
      throw new Error(`clients did not settle in ${ms} ms:\n${status.join('\n')}`);
    }
    await sleep(20);
  }
}

/** Every event each client made (clientSeq 1 … next-1). */
export function madeIds(clients: readonly WsClient[]): string[] {
  const out: string[] = [];
  for (const c of clients) for (let s = 1; s < c.state.nextClientSeq; s++) out.push(idKey({ client: c.opts.client, clientSeq: s }));
  return out;
}

/**
 * The log against the clients: seqs 1…n without a gap (L1), each id once (L3), every
 * event the clients made present, every ack they saw at the seq it named, and the
 * replay of the log equal to every client's text, byte for byte (L4).
 */
export function checkAgainstLog(log: readonly DocEvent[], clients: readonly WsClient[]): void {
  log.forEach((e, i) => {
    if (e.seq !== i + 1) throw new Error(`log: seq ${e.seq} at position ${i + 1}`);
  });
  const bySeq = new Map<string, number>();
  for (const e of log) {
    const k = idKey(e.id);
    if (bySeq.has(k)) throw new Error(`log: ${k} appended twice (seqs ${bySeq.get(k)} and ${e.seq})`);
    bySeq.set(k, e.seq);
  }
  for (const c of clients) {
    for (const [k, seq] of c.acks) {
      if (bySeq.get(k) !== seq) throw new Error(`${c.opts.client} saw ${k} acknowledged at ${seq}, the log has it at ${bySeq.get(k)}`);
    }
  }
  const made = madeIds(clients);
  const missing = made.filter((k) => !bySeq.has(k));
  if (missing.length > 0) throw new Error(`log: ${missing.length} events made by the clients are missing, e.g. ${missing.slice(0, 5).join(', ')}`);
  const own = new Set(clients.map((c) => c.opts.client));
  const ownInLog = log.filter((e) => own.has(e.id.client)).length;
  if (ownInLog !== made.length) throw new Error(`log: ${ownInLog} events of these clients, but they made ${made.length}`);
  const text = replay(null, log).toString();
  for (const c of clients) {
    if (c.state.confirmedSeq !== log.length) throw new Error(`${c.opts.client}: confirmed seq ${c.state.confirmedSeq}, the log has ${log.length}`);
    if (c.state.confirmed.toString() !== text) throw new Error(`${c.opts.client}: confirmed text differs from the log's replay`);
    if (c.state.live.toString() !== text) throw new Error(`${c.opts.client}: live text differs from the log's replay`);
  }
}

/**
 * Keeps `clients` typing: every `everyMs` (± jitter) one random client makes one
 * random edit, online or not (offline edits wait in its outbox). Returns `stop`.
 */
export function startTyping(clients: readonly WsClient[], rnd: Random, everyMs = 2, opts: TypingOptions = {}): () => void {
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    randomEdit(clients[rnd.int(clients.length)], rnd, opts);
    setTimeout(tick, rnd.int(everyMs * 2 + 1));
  };
  tick();
  return () => {
    stopped = true;
  };
}

/** The seed for a randomized test: $EVENTIDE_SEED, or a fresh one; printed either way. */
export function testSeed(name: string): number {
  const env = process.env.EVENTIDE_SEED;
  const seed = env !== undefined && env !== '' ? Number(env) : Math.floor(Math.random() * 2 ** 31);
  console.log(`${name}: seed ${seed} (rerun with EVENTIDE_SEED=${seed})`);
  return seed;
}

/** `n` clients of one document, each with its own seeded backoff jitter; not started. */
export function makeTypists(url: string | ((i: number) => string), n: number, docId: string, seed: number, backoffMaxMs = 300): WsClient[] {
  return Array.from({ length: n }, (_, i) => {
    const r = new Random(seed * 31 + i);
    return new WsClient({
      url: typeof url === 'function' ? () => url(i) : url,
      docId,
      client: `${docId}-c${i}`,
      user: { name: `user${i}`, color: '#333' },
      random: () => r.next(),
      backoffMaxMs,
    });
  });
}
