/**
 * Named cases for the client session (shared/src/session): the one catch-up rule, the
 * held-back stream, batches, the re-sync decision and the backoff. The simulated-network
 * fuzz (shared/test/sync/fuzz.test.ts) drives the same code at random.
 */
import { describe, it, expect } from 'vitest';
import { ClientSession } from '../../src/session/client-session.js';
import type { SessionEffect } from '../../src/session/effects.js';
import { backoffDelay, isFatalError } from '../../src/session/resync.js';
import { ClientState } from '../../src/sync/client-state.js';
import { PROTOCOL_VERSION, SHORTEST_BATCH_MS, type ClientMessage, type ServerMessage } from '../../src/protocol/messages.js';
import { encodeServerFrame } from '../../src/protocol/frames.js';
import type { DocEvent } from '../../src/log/event.js';
import type { Checkpoint } from '../../src/log/checkpoint.js';

const user = { name: 'ann', color: '#c00' };

function session(state = new ClientState({ client: 'me', author: 'me' }), maxBatch = 2) {
  return new ClientSession({ docId: 'd', state, maxBatch, historyLimit: 2, backoff: { minMs: 100, maxMs: 1000 }, random: () => 0.5 });
}

/** Events by `who`, each inserting one character at the start, seqs from+1 … to. */
function events(from: number, to: number, who = 'you'): DocEvent[] {
  const out: DocEvent[] = [];
  for (let s = from + 1; s <= to; s++) out.push({ id: { client: who, clientSeq: s }, seq: s, base: s - 1, author: who, time: s, op: ['y'], kind: 'edit' });
  return out;
}

const checkpoint = (seq: number): Checkpoint => ({ docId: 'd', seq, text: 'y'.repeat(seq), authorship: seq > 0 ? [{ author: 'you', length: seq }] : [] });

function welcome(cp: Checkpoint | null, evs: DocEvent[], head: number): ServerMessage {
  return { type: 'welcome', protocol: PROTOCOL_VERSION, docId: 'd', role: 'edit', head, checkpoint: cp, events: evs };
}

const sent = (fx: readonly SessionEffect[]): ClientMessage[] => fx.flatMap((e) => (e.type === 'send' ? [e.message] : []));
const kinds = (fx: readonly SessionEffect[]) => fx.map((e) => e.type);

describe('client session', () => {
  it('says hello with its confirmed seq and sends nothing before the welcome (L2)', () => {
    const s = session();
    s.edit(['a']);
    const hello = sent(s.opened(user));
    expect(hello).toMatchObject([{ type: 'hello', docId: 'd', client: 'me', last: 0 }]);
    expect(sent(s.pump())).toEqual([]);
    const fx = s.take(welcome(null, [], 0), 1);
    expect(kinds(fx)).toEqual(['caught-up', 'send']);
    expect(sent(fx)).toMatchObject([{ type: 'submit', base: 0 }]);
  });

  it('starts from a welcome checkpoint only when it has nothing at all (L5, P4)', () => {
    const s = session();
    s.opened(user);
    const fx = s.take(welcome(checkpoint(5), events(5, 7), 7), 1);
    expect(kinds(fx)).toEqual(['reset', 'confirmed', 'live', 'caught-up']);
    expect(fx[0]).toMatchObject({ type: 'reset', seq: 5 });
    expect(fx[1]).toMatchObject({ type: 'confirmed', reset: true });
    expect(s.state.confirmedSeq).toBe(7);
    expect(s.state.live.toString()).toBe('yyyyyyy');
  });

  it('with confirmed events to keep, fetches what the checkpoint skips page by page, holding the stream back (L4, P4, P18)', () => {
    const st = new ClientState({ client: 'me', author: 'me', tail: events(0, 1) });
    const s = session(st);
    s.opened(user);
    let fx = s.take(welcome(checkpoint(5), events(5, 6), 6), 1);
    expect(kinds(fx)).toEqual(['send']);
    expect(sent(fx)).toEqual([{ type: 'history', reqId: 1, from: 1, to: 5, limit: 2 }]);
    expect(s.holding).toBe(true);
    // The stream goes on meanwhile: held, not taken.
    expect(s.take({ type: 'events', events: events(6, 7) }, 2)).toEqual([]);
    // Someone else's page is not the stream's.
    expect(kinds(s.take({ type: 'history-page', reqId: 99, events: [], checkpoints: [], next: null }, 2))).toEqual(['other']);
    const seqs = (f: readonly SessionEffect[]) => f.flatMap((e) => (e.type === 'confirmed' ? e.events.map((x) => x.seq) : []));
    fx = s.take({ type: 'history-page', reqId: 1, events: events(1, 3), checkpoints: [], next: 3 }, 2);
    expect(sent(fx)).toEqual([{ type: 'history', reqId: 2, from: 3, to: 5, limit: 2 }]);
    expect(seqs(fx)).toEqual([2, 3]);
    fx = s.take({ type: 'history-page', reqId: 2, events: events(3, 5), checkpoints: [checkpoint(5)], next: null }, 3);
    expect(kinds(fx)).toEqual(['confirmed', 'live', 'confirmed', 'live', 'caught-up', 'confirmed', 'live']);
    // The rest of the skipped events, the welcome's, then the held-back stream: no hole, no overlap.
    expect(seqs(fx)).toEqual([4, 5, 6, 7]);
    expect(s.holding).toBe(false);
    expect(s.state.confirmedSeq).toBe(7);
  });

  it('with an outbox and nothing confirmed, fetches from 0 and rebases the outbox over the events (O2, P4)', () => {
    const s = session();
    s.edit(['a']);
    s.opened(user);
    const fx = s.take(welcome(checkpoint(2), [], 2), 1);
    expect(sent(fx)).toEqual([{ type: 'history', reqId: 1, from: 0, to: 2, limit: 2 }]);
    const done = s.take({ type: 'history-page', reqId: 1, events: events(0, 2), checkpoints: [checkpoint(2)], next: null }, 2);
    expect(sent(done)).toMatchObject([{ type: 'submit', base: 2 }]);
    expect(s.state.live.toString()).toBe('ayy');
  });

  it('sends the outbox in batches of maxBatch, each event once per connection, and again after a re-sync (O2, P17)', () => {
    const s = session();
    for (const c of 'abcde') s.edit([c]);
    s.opened(user);
    const fx = s.take(welcome(null, [], 0), 1);
    expect(sent(fx).map((m) => (m.type === 'submit' ? m.events.length : 0))).toEqual([2, 2, 1]);
    expect(sent(s.pump())).toEqual([]);
    // An ack out of order is a gap: the connection is given up, everything goes again on the next.
    const gap = s.take({ type: 'ack', id: { client: 'me', clientSeq: 2 }, seq: 2 }, 2);
    expect(kinds(gap)).toEqual(['problem', 'reconnect']);
    expect(s.take({ type: 'ack', id: { client: 'me', clientSeq: 1 }, seq: 1 }, 2)).toEqual([]); // the dropped connection's last words
    s.opened(user);
    expect(sent(s.take(welcome(null, [], 0), 3)).map((m) => (m.type === 'submit' ? m.events.length : 0))).toEqual([2, 2, 1]);
  });

  it('an acked event is confirmed in the log form: its batch base and the ack time (L2)', () => {
    const s = session();
    s.opened(user);
    s.take(welcome(null, events(0, 3), 3), 1);
    s.edit([3, 'x']);
    s.pump();
    const fx = s.take({ type: 'ack', id: { client: 'me', clientSeq: 1 }, seq: 4, time: 1234 }, 99);
    expect(fx).toEqual([{ type: 'confirmed', reset: false, rebased: false, events: [{ id: { client: 'me', clientSeq: 1 }, seq: 4, base: 3, author: 'me', time: 1234, op: [3, 'x'], kind: 'edit' }] }]);
  });

  it('re-syncs on a refused submit, stops for good on a fatal error, and backs off with jitter (S1, P17)', () => {
    const s = session();
    s.opened(user);
    s.take(welcome(null, [], 0), 1);
    const r1 = s.take({ type: 'error', code: 'rate-limited', message: 'slow down', fatal: false }, 1);
    expect(r1).toEqual([{ type: 'problem', source: 'server', code: 'rate-limited', message: 'slow down', fatal: false }, { type: 'reconnect', afterMs: 100 }]);
    s.opened(user);
    expect(s.lost()).toEqual([{ type: 'reconnect', afterMs: 200 }]);
    s.opened(user);
    s.take(welcome(null, [], 0), 1); // caught up: the backoff starts over
    expect(s.lost()).toEqual([{ type: 'reconnect', afterMs: 100 }]);
    s.opened(user);
    const fatal = s.take({ type: 'error', code: 'base-ahead', message: 'not your log', fatal: true }, 1);
    expect(kinds(fatal)).toEqual(['problem', 'close']);
    expect(s.fatal).toBe('base-ahead');
    expect(s.lost()).toEqual([]);
    expect(s.opened(user)).toEqual([{ type: 'close' }]);
    expect(['protocol-version', 'base-ahead', 'access-denied', 'too-many-documents', 'read-only'].every(isFatalError)).toBe(true);
    expect(['rate-limited', 'out-of-order', 'store-failed', 'server-shutting-down', 'rebase-required'].some(isFatalError)).toBe(false);
    expect(backoffDelay({ minMs: 100, maxMs: 1000 }, 10, 0.99)).toBeCloseTo(1490);
  });

  it('a server that is down: every refused attempt brings another reconnect, later each time (found by the process tests) (P17)', () => {
    const s = session();
    s.opened(user);
    s.take(welcome(null, [], 0), 1);
    expect(s.lost()).toEqual([{ type: 'reconnect', afterMs: 100 }]);
    // The next attempts fail before they open: the session never hears `opened`.
    expect(s.lost()).toEqual([{ type: 'reconnect', afterMs: 200 }]);
    expect(s.lost()).toEqual([{ type: 'reconnect', afterMs: 400 }]);
  });

  it('an undecodable frame is reported and re-syncs; nothing of it is taken (S1, P17)', () => {
    const s = session();
    s.opened(user);
    const fx = s.receive('{"type":"events","events":[]}', 1);
    expect(kinds(fx)).toEqual(['problem', 'reconnect']);
    expect(fx[0]).toMatchObject({ source: 'decode', code: 'bad-message' });
  });

  it('takes a binary welcome as the same welcome; a damaged one is reported and re-syncs (P19, S1)', () => {
    const w = welcome(checkpoint(5), events(5, 7), 7);
    const frame = encodeServerFrame(w) as Uint8Array;
    const a = session();
    a.opened(user);
    const b = session();
    b.opened(user);
    expect(a.receive(frame, 1)).toEqual(b.take(w, 1));
    expect(a.state.confirmedSeq).toBe(7);
    const c = session();
    c.opened(user);
    const bad = frame.slice();
    bad[bad.length - 3] ^= 0x10;
    const fx = c.receive(bad, 1);
    expect(kinds(fx)).toEqual(['problem', 'reconnect']);
    expect(fx[0]).toMatchObject({ source: 'decode', code: 'bad-message' });
    expect(c.state.confirmedSeq).toBe(0);
  });

  it('under slow-down keeps one submit in flight and the rest in the outbox, sends them as one batch once it is confirmed, and is slow until lifted (P22)', () => {
    const s = session(undefined, 100);
    s.opened(user);
    s.take(welcome(null, [], 0), 1);
    expect(s.slow).toBe(false);
    expect(kinds(s.take({ type: 'slow-down', batchMs: 200 }, 2))).toEqual(['other']);
    expect(s.slow).toBe(true);
    expect(s.batchMs).toBe(200);
    // Typing is never blocked: each edit is taken; only the first goes out.
    expect(s.edit(['a']).ok).toBe(true);
    const first = sent(s.pump());
    expect(first).toHaveLength(1);
    const firstEvents = (first[0] as { events: unknown[] }).events;
    expect(firstEvents).toHaveLength(1);
    for (const c of ['b', 'c']) expect(s.edit([c]).ok).toBe(true);
    expect(sent(s.pump())).toEqual([]);
    expect(s.state.pending.length).toBe(3);
    // Its events come back in the shared stream: the rest goes out as one submit.
    const own = firstEvents.map((e, i) => ({ ...(e as object), seq: i + 1, base: 0, time: 9 }) as DocEvent);
    const after = s.take({ type: 'events', events: own }, 3);
    const next = sent(after);
    expect(next).toHaveLength(1);
    expect((next[0] as { events: unknown[] }).events.length).toBe(2);
    // Lifted: not slow, and several submits may fly again.
    s.take({ type: 'slow-down', batchMs: 0 }, 4);
    expect(s.slow).toBe(false);
  });

  it('at the shortest interval (a crowd held at 50 ms, K21) keeps one submit in flight but is not slow: no keystroke waits noticeably (P22)', () => {
    const s = session(undefined, 100);
    s.opened(user);
    s.take(welcome(null, [], 0), 1);
    s.take({ type: 'slow-down', batchMs: SHORTEST_BATCH_MS }, 2);
    expect(s.batchMs).toBe(50);
    expect(s.slow).toBe(false);
    expect(s.edit(['a']).ok).toBe(true);
    expect(sent(s.pump())).toHaveLength(1);
    expect(s.edit(['b']).ok).toBe(true);
    expect(sent(s.pump())).toEqual([]);
    // Longer than the shortest: slow.
    s.take({ type: 'slow-down', batchMs: 2 * SHORTEST_BATCH_MS }, 3);
    expect(s.slow).toBe(true);
  });

  it('is slow from behind until the welcome that catches it up, and takes that welcome like a continuation of the stream (P21)', () => {
    const s = session();
    s.opened(user);
    s.take(welcome(null, events(0, 2), 2), 1);
    expect(s.take({ type: 'behind', at: 2 }, 2).some((e) => e.type === 'reconnect')).toBe(false);
    expect(s.slow).toBe(true);
    // Typing goes on meanwhile.
    expect(s.edit(['m']).ok).toBe(true);
    const fx = s.take(welcome(null, events(2, 5), 5), 3);
    expect(kinds(fx).filter((k) => k === 'reconnect' || k === 'problem')).toEqual([]);
    expect(s.slow).toBe(false);
    expect(s.state.confirmedSeq).toBe(5);
    expect(s.ready).toBe(true);
  });

  it('with a clock, also keeps batchMs between its submits and says when to pump again (P22)', () => {
    let t = 1000;
    const s = new ClientSession({ docId: 'd', state: new ClientState({ client: 'me', author: 'me' }), maxBatch: 100, historyLimit: 2, backoff: { minMs: 100, maxMs: 1000 }, random: () => 0.5, now: () => t });
    s.opened(user);
    s.take(welcome(null, [], 0), t);
    s.take({ type: 'slow-down', batchMs: 200 }, t);
    s.edit(['a']);
    const first = sent(s.pump());
    expect(first).toHaveLength(1);
    s.edit(['b']);
    // Confirmed at once: still 200 ms to wait, and the session says so.
    t += 50;
    const own = (first[0] as unknown as { events: DocEvent[] }).events.map((e, i) => ({ ...e, seq: i + 1, base: 0, time: t }) as DocEvent);
    expect(sent(s.take({ type: 'events', events: own }, t))).toEqual([]);
    expect(s.pumpDelayMs).toBe(150);
    t += 149;
    expect(sent(s.pump())).toEqual([]);
    t += 1;
    expect(s.pumpDelayMs).toBe(0);
    expect(sent(s.pump())).toHaveLength(1);
    expect(s.pumpDelayMs).toBeNull(); // in flight now: the confirmation brings the next
  });
});
