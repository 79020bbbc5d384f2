/**
 * The room core's rules, driven without a server: welcomes (checkpoint or events,
 * base-ahead), history pages (clamp, limit, the 4th checkpoint, next), the stream after a
 * group commit (acks where the event stands, duplicates after), presence, restarts over
 * the same log, and a seeded run of many clients whose streams must be gapless and agree.
 */
import { describe, it, expect } from 'vitest';
import { RoomCore, type RoomPeer } from '../../src/room/room-core.js';
import { welcomeMessage } from '../../src/room/welcome.js';
import { historyPageMessage, planHistoryPage, MAX_PAGE_CHECKPOINTS, MAX_PAGE_BYTES, PAGE_CHUNK, type PageCost } from '../../src/room/history-page.js';
import type { CommitItem, Send } from '../../src/room/commit-stream.js';
import { MemoryLog } from '../../src/log/memory-log.js';
import { replay } from '../../src/log/replay.js';
import type { DocEvent, LocalEvent } from '../../src/log/event.js';
import type { Op } from '../../src/op/op.js';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { applyToString } from '../../src/op/apply.js';
import { unwrap } from '../../src/result.js';
import { Random } from '../sim/random.js';

interface TestPeer extends RoomPeer {
  readonly name: string;
}

function peer(name: string, client = name, role: 'edit' | 'view' = 'edit'): TestPeer {
  return { name, client, role, user: { name, color: '#000000' }, cursor: null };
}

function ev(client: string, clientSeq: number, op: Op): LocalEvent {
  return { id: { client, clientSeq }, author: client, op, kind: 'edit' };
}

/** A room over a memory log whose commits always succeed; `commit` plays the shell's commit queue. */
function setup(checkpointEvery = 1000, log = new MemoryLog()) {
  const room = new RoomCore<TestPeer>('d', log, { checkpointEvery });
  const commit = (items: CommitItem<TestPeer>[]): Send<TestPeer>[] => {
    for (const it of items) log.append(it.appended);
    const sends = room.committed(items);
    const cp = room.dueCheckpoint();
    if (cp !== null) {
      log.putCheckpoint(cp);
      room.checkpointStored(cp);
    }
    return sends;
  };
  return { log, room, commit };
}

/** Types `n` one-character events as client `w`, one commit each. */
function typeInto(s: ReturnType<typeof setup>, n: number, w = peer('w')): void {
  let cs = s.log.lastClientSeq(w.client);
  for (let i = 0; i < n; i++) {
    const head = s.room.sequencerHead;
    const r = s.room.submit(w, { base: head, events: [ev(w.client, ++cs, [s.room.text().length, 'x'])] }, 1000 + head);
    if (!r.ok) throw new Error(r.error.message);
    s.commit([r.value]);
  }
}

const kinds = (sends: readonly Send<TestPeer>[]) => sends.map((s) => `${s.to.name}:${describeMsg(s.msg)}`);
function describeMsg(m: ServerMessage): string {
  switch (m.type) {
    case 'events':
      return `events ${m.events.map((e) => e.seq).join(',')}`;
    case 'ack':
      return `ack ${m.seq}${m.time === undefined ? ' dup' : ''}`;
    case 'presence':
      return `presence ${m.client}`;
    case 'presence-leave':
      return `leave ${m.client}`;
    case 'behind':
      return `behind ${m.at}`;
    case 'slow-down':
      return 'slow-down';
    default:
      return m.type;
  }
}

describe('room core: welcome', () => {
  it('catches a new client up from the newest checkpoint plus the tail, which replays to the head (L5, P3)', () => {
    const s = setup(100);
    typeInto(s, 250);
    expect(s.room.newestCheckpoint).toBe(200);
    const j = s.room.join(peer('a'), 0);
    expect(j.ok && j.value.welcome).toMatchObject({ head: 250, checkpoint: 200, from: 200 });
    const msg = welcomeMessage(j.ok ? j.value.welcome : (null as never), s.log);
    expect(msg.checkpoint?.seq).toBe(200);
    expect(msg.events.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 201 + i));
    expect(replay(msg.checkpoint, msg.events).toString()).toBe(replay(null, s.log.events).toString());
  });

  it('sends the events after last up to 1,000 behind, and a checkpoint beyond that (L5, P3)', () => {
    const s = setup(1000);
    typeInto(s, 2100);
    const near = s.room.join(peer('a'), 1100);
    expect(near.ok && near.value.welcome).toMatchObject({ checkpoint: null, from: 1100, head: 2100 });
    const far = s.room.join(peer('b'), 1099);
    expect(far.ok && far.value.welcome).toMatchObject({ checkpoint: 2000, from: 2000, head: 2100 });
    // Far behind but past the newest checkpoint: events, not a checkpoint that would go back.
    const none = setup(5000);
    typeInto(none, 1200);
    const j = none.room.join(peer('c'), 0);
    expect(j.ok && j.value.welcome).toMatchObject({ checkpoint: null, from: 0, head: 1200 });
  });

  it('refuses a last beyond the committed head and does not add the peer (S1, P15)', () => {
    const s = setup();
    typeInto(s, 3);
    const a = peer('a');
    const r = s.room.join(a, 4);
    expect(!r.ok && r.error.code).toBe('base-ahead');
    expect(s.room.peers.has(a)).toBe(false);
  });

  it('welcomes with the committed head only: a group sequenced but not committed comes with its commit (L2)', () => {
    const s = setup();
    typeInto(s, 2);
    const w = peer('w');
    const r = s.room.submit(w, { base: 2, events: [ev('w', 3, [2, 'y'])] }, 5);
    expect(r.ok).toBe(true);
    expect(s.room.sequencerHead).toBe(3);
    const a = peer('a');
    const j = s.room.join(a, 0);
    expect(j.ok && j.value.welcome.head).toBe(2);
    const sends = s.commit([r.ok ? r.value : (null as never)]);
    expect(kinds(sends)).toEqual(['a:events 3']); // w left the room before its commit: no ack
  });
});

describe('room core: history pages', () => {
  it('clamps to the committed head, keeps to the limit, and says where the next page starts (L2, P9)', () => {
    const s = setup(1000);
    typeInto(s, 30);
    const w = peer('w');
    expect(s.room.submit(w, { base: 30, events: [ev('w', 31, [30, 'z'])] }, 9).ok).toBe(true); // sequenced, not committed
    expect(s.room.history({ type: 'history', reqId: 1, from: 0, to: 100, limit: 1000 })).toEqual({ reqId: 1, from: 0, end: 30, checkpoints: [], next: null });
    expect(s.room.history({ type: 'history', reqId: 2, from: 5, to: 100, limit: 10 })).toEqual({ reqId: 2, from: 5, end: 15, checkpoints: [], next: 15 });
    expect(s.room.history({ type: 'history', reqId: 3, from: 25, to: 28, limit: 10 }).next).toBe(null);
    expect(s.room.history({ type: 'history', reqId: 4, from: 30, to: 30, limit: 10 })).toEqual({ reqId: 4, from: 30, end: 30, checkpoints: [], next: null });
  });

  it('ends a page at its 64th checkpoint, and paging gives back exactly the log and every checkpoint (L1, P9)', () => {
    const s = setup(1);
    typeInto(s, 150);
    const plan = s.room.history({ type: 'history', reqId: 1, from: 3, to: 150, limit: 1000 });
    expect(MAX_PAGE_CHECKPOINTS).toBe(64);
    expect(plan).toEqual({ reqId: 1, from: 3, end: 67, checkpoints: Array.from({ length: 64 }, (_, i) => 4 + i), next: 67 });
    const events: DocEvent[] = [];
    const cps: number[] = [];
    let from: number | null = 0;
    while (from !== null) {
      const page = historyPageMessage(s.room.history({ type: 'history', reqId: 0, from, to: 1000, limit: 25 }), s.log);
      events.push(...page.events);
      cps.push(...page.checkpoints.map((c) => c.seq));
      expect(page.checkpoints.length).toBeLessThanOrEqual(MAX_PAGE_CHECKPOINTS);
      from = page.next;
    }
    expect(events).toEqual(s.log.events);
    expect(cps).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
  });

  it('bounds a priced page by its bytes, cut at a chunk, with at least one chunk, the limit still kept (P9)', () => {
    const req = (from: number, limit = 1_000_000) => ({ type: 'history' as const, reqId: 1, from, to: 50_000, limit });
    const none = { checkpointSeqs: () => [] as number[] };
    const perEvent = (bytes: number, cpBytes = 0): PageCost => ({ events: (a, b) => (b - a) * bytes, checkpoint: () => cpBytes });
    expect(PAGE_CHUNK).toBe(1000);
    expect(MAX_PAGE_BYTES).toBe(1 << 20);
    // 100 bytes an event: ten chunks are 1,000,000 bytes, an eleventh would pass 1 MiB.
    expect(planHistoryPage(req(0), 50_000, none, perEvent(100))).toEqual({ reqId: 1, from: 0, end: 10_000, checkpoints: [], next: 10_000 });
    // Starting mid-chunk: the rest of that chunk, then whole chunks.
    expect(planHistoryPage(req(500), 50_000, none, perEvent(100)).end).toBe(10_000);
    // One chunk over the bound still goes out alone, so paging always moves on.
    expect(planHistoryPage(req(0), 50_000, none, perEvent(2000)).end).toBe(1000);
    expect(planHistoryPage(req(1000), 50_000, none, perEvent(2000)).end).toBe(2000);
    // Checkpoints weigh in: a chunk with its checkpoint is 400 kB here, so two fit.
    const every = { checkpointSeqs: (a: number, b: number) => Array.from({ length: 50 }, (_, i) => (i + 1) * 1000).filter((x) => x >= a && x <= b) };
    expect(planHistoryPage(req(0), 50_000, every, perEvent(100, 300_000))).toEqual({ reqId: 1, from: 0, end: 2000, checkpoints: [1000, 2000], next: 2000 });
    // The limit and the head still bound it; unpriced, only they and the checkpoint count do.
    expect(planHistoryPage(req(0, 1500), 50_000, none, perEvent(1)).end).toBe(1500);
    expect(planHistoryPage(req(0), 3200, none, perEvent(1))).toEqual({ reqId: 1, from: 0, end: 3200, checkpoints: [], next: null });
    expect(planHistoryPage(req(0), 50_000, none).end).toBe(50_000);
    // A shell whose encoding budget for the page is spent ends it at the chunk reached.
    let priced = 0;
    const tiring: PageCost = { events: (a, b) => (priced++, b - a), checkpoint: () => 0, exhausted: () => priced >= 3 };
    expect(planHistoryPage(req(500), 50_000, none, tiring)).toEqual({ reqId: 1, from: 500, end: 3000, checkpoints: [], next: 3000 });
  });
});

describe('room core: the stream after a group commit', () => {
  it('sends every connection, submitters included, the group as one shared message, and nothing before the commit (L1, L2, P5)', () => {
    const s = setup();
    const a = peer('a');
    const b = peer('b');
    const c = peer('c');
    for (const p of [a, b, c]) expect(s.room.join(p, 0).ok).toBe(true);
    const items: CommitItem<TestPeer>[] = [];
    const submit = (p: TestPeer, cs: number, op: Op, base = 0) => {
      const r = s.room.submit(p, { base, events: [ev(p.client, cs, op)] }, 7);
      if (!r.ok) throw new Error(r.error.message);
      items.push(r.value);
    };
    submit(a, 1, ['a']);
    submit(b, 1, ['b']);
    submit(a, 2, [1, 'A'], 0);
    expect(s.room.committedHead).toBe(0); // sequenced only
    const sends = s.commit(items);
    expect(kinds(sends)).toEqual(['a:events 1,2,3', 'b:events 1,2,3', 'c:events 1,2,3']);
    // One message object: a shell encodes it once for everyone.
    expect(new Set(sends.map((x) => x.msg)).size).toBe(1);
    expect(s.room.committedHead).toBe(3);
  });

  it('answers a resent event with its original seq after the stream has reached it, also after a restart (L3)', () => {
    const s = setup();
    const a = peer('a');
    s.room.join(a, 0);
    const first = s.room.submit(a, { base: 0, events: [ev('a', 1, ['hi'])] }, 1);
    expect(first.ok).toBe(true);
    const again = s.room.submit(a, { base: 0, events: [ev('a', 1, ['hi']), ev('a', 2, [2, '!'])] }, 2);
    expect(again.ok && again.value.duplicates).toEqual([{ id: { client: 'a', clientSeq: 1 }, seq: 1 }]);
    const sends = s.commit([first.ok ? first.value : (null as never), again.ok ? again.value : (null as never)]);
    expect(kinds(sends)).toEqual(['a:events 1,2', 'a:ack 1 dup']);

    const restarted = new RoomCore<TestPeer>('d', s.log, { checkpointEvery: 1000 });
    const b = peer('a');
    restarted.join(b, 2);
    const r = restarted.submit(b, { base: 2, events: [ev('a', 2, [2, '!'])] }, 3);
    expect(r.ok && r.value).toMatchObject({ appended: [], duplicates: [{ seq: 2 }] });
    expect(kinds(restarted.committed([r.ok ? r.value : (null as never)]))).toEqual(['a:ack 2 dup']);
    expect(restarted.text()).toBe('hi!');
  });

  it('after a restart, refuses a batch that needs the lost sent forms (rebase-required), and accepts it after a re-sync (P6)', () => {
    const s = setup();
    const a = peer('a');
    const b = peer('b');
    s.room.join(a, 0);
    s.room.join(b, 0);
    const r1 = s.room.submit(a, { base: 0, events: [ev('a', 1, ['one'])] }, 1);
    s.commit([r1.ok ? r1.value : (null as never)]);
    const r2 = s.room.submit(b, { base: 0, events: [ev('b', 1, ['B'])] }, 2);
    s.commit([r2.ok ? r2.value : (null as never)]);
    // a sent event 2 at base 0, after its event 1 (still in flight from its point of view).
    const restarted = new RoomCore<TestPeer>('d', s.log, { checkpointEvery: 1000 });
    const lost = restarted.submit(a, { base: 0, events: [ev('a', 2, [3, '!'])] }, 3);
    expect(!lost.ok && lost.error.code).toBe('rebase-required');
    expect(restarted.sequencerHead).toBe(2);
    const resync = restarted.submit(a, { base: 2, events: [ev('a', 2, [4, '!'])] }, 4);
    expect(resync.ok).toBe(true);
    expect(restarted.text()).toBe('Bone!');
  });

  it('reload forgets the uncommitted group and sends what the log holds beyond the stream (R7)', () => {
    const s = setup();
    const a = peer('a');
    const b = peer('b');
    s.room.join(a, 0);
    s.room.join(b, 0);
    const lost = s.room.submit(a, { base: 0, events: [ev('a', 1, ['x'])] }, 1);
    expect(lost.ok && s.room.sequencerHead).toBe(1);
    expect(s.room.reload()).toEqual([]); // the commit failed: nothing stored, nothing to send
    expect(s.room.sequencerHead).toBe(0);
    // A commit that was reported failed but landed: the log is ahead of the stream.
    s.log.append([{ id: { client: 'a', clientSeq: 1 }, seq: 1, base: 0, author: 'a', time: 1, op: ['x'], kind: 'edit' }]);
    expect(kinds(s.room.reload())).toEqual(['a:events 1', 'b:events 1']);
    expect(s.room.committedHead).toBe(1);
  });
});

describe('room core: presence', () => {
  it('tells a newcomer who is here, the others of the newcomer, and of a leave only when the client’s last connection goes (P10)', () => {
    const s = setup();
    const a = peer('a');
    const b1 = peer('b1', 'b');
    const b2 = peer('b2', 'b');
    expect(s.room.join(a, 0).ok).toBe(true);
    const j = s.room.join(b1, 0);
    expect(j.ok && kinds(j.value.sends)).toEqual(['b1:presence a', 'a:presence b']);
    s.room.join(b2, 0);
    expect(kinds(s.room.presence(a, { anchor: 0, head: 0 }, { name: 'Ann', color: '#111111' }))).toEqual(['b1:presence a', 'b2:presence a']);
    expect(a.user.name).toBe('Ann');
    expect(kinds(s.room.leave(b1))).toEqual([]);
    expect(kinds(s.room.leave(b2))).toEqual(['a:leave b']);
    expect(kinds(s.room.leave(b2))).toEqual([]);
    expect(kinds(s.room.presence(a, null))).toEqual([]);
  });
});

describe('room core: many clients, random groups (seeded)', () => {
  it('gives every connection one gapless stream in seq order whose text is the log’s (L1, L2, L3, L4, P5)', () => {
    const seeds = Number(process.env.ROOM_SEEDS ?? 40);
    for (let seed = 1; seed <= seeds; seed++) {
      try {
        runRandom(seed);
      } catch (e) {
        throw new Error(`room core random run failed with seed ${seed}: ${(e as Error).message}`);
      }
    }
  });
});

/** Clients that submit at their confirmed head, groups committed at random, joins and leaves at random. */
function runRandom(seed: number): void {
  const rnd = new Random(seed);
  const s = setup(1 + rnd.int(20));
  interface Conn {
    p: TestPeer;
    seen: number; // the last seq of its stream
    text: string; // its replica at `seen`
    cs: number;
    inFlight: number; // clientSeqs sent and not acked
  }
  const conns = new Map<TestPeer, Conn>();
  let queue: CommitItem<TestPeer>[] = [];
  const take = (sends: readonly Send<TestPeer>[]) => {
    for (const { to, msg } of sends) {
      const c = conns.get(to);
      if (c === undefined) throw new Error(`a send to ${to.name}, who is not here`);
      if (msg.type === 'events') {
        for (const e of msg.events) {
          if (e.seq !== c.seen + 1) throw new Error(`${to.name}: event ${e.seq} after ${c.seen}`);
          c.seen = e.seq;
          c.text = unwrap(applyToString(c.text, e.op));
          if (e.id.client === to.client) c.inFlight--; // its own event: the ack
        }
      } else if (msg.type === 'ack' && msg.time !== undefined) {
        if (msg.seq !== c.seen + 1) throw new Error(`${to.name}: ack ${msg.seq} after ${c.seen}`);
        const e = s.log.events[msg.seq - 1];
        c.seen = msg.seq;
        c.text = unwrap(applyToString(c.text, e.op));
        c.inFlight--;
      } else if (msg.type === 'ack') {
        if (msg.seq > c.seen) throw new Error(`${to.name}: duplicate ack ${msg.seq} before the stream reached it (${c.seen})`);
      }
    }
  };
  let names = 0;
  for (let step = 0; step < 200; step++) {
    const x = rnd.next();
    const idle = [...conns.values()].filter((c) => c.inFlight === 0);
    if (x < 0.15 || conns.size === 0) {
      const p = peer(`p${names++}`);
      const j = s.room.join(p, 0);
      if (!j.ok) throw new Error(j.error.message);
      const w = welcomeMessage(j.value.welcome, s.log);
      conns.set(p, { p, seen: w.head, text: replay(w.checkpoint, w.events).toString(), cs: 0, inFlight: 0 });
      take(j.value.sends);
    } else if (x < 0.2 && idle.length > 0) {
      const c = rnd.pick(idle);
      conns.delete(c.p);
      take(s.room.leave(c.p));
    } else if (x < 0.7 && idle.length > 0) {
      // Only clients with nothing in flight submit, at their confirmed head (their view is the log up to it).
      const c = rnd.pick(idle);
      const pos = rnd.int(c.text.length + 1);
      const op: Op = pos > 0 ? [pos, rnd.text()] : [rnd.text()];
      const r = s.room.submit(c.p, { base: c.seen, events: [ev(c.p.client, ++c.cs, op)] }, step);
      if (!r.ok) throw new Error(`${c.p.name}: ${r.error.code} ${r.error.message}`);
      c.inFlight++;
      queue.push(r.value);
      if (rnd.chance(0.2)) {
        // A resend of the same event (a reconnect race): a duplicate, answered with its seq (L3).
        const d = s.room.submit(c.p, { base: c.seen, events: [ev(c.p.client, c.cs, op)] }, step);
        if (!d.ok || d.value.appended.length !== 0 || d.value.duplicates.length !== 1) throw new Error('resend was not a duplicate');
        queue.push(d.value);
      }
    } else if (queue.length > 0) {
      const items = queue;
      queue = [];
      take(s.commit(items));
    }
  }
  take(s.commit(queue));
  const truth = replay(null, s.log.events).toString();
  expect(s.room.text()).toBe(truth);
  for (const c of conns.values()) {
    expect(c.seen).toBe(s.log.head);
    expect(c.inFlight).toBe(0);
    expect(c.text).toBe(truth);
  }
}

describe('room core: a connection past its send budget, and slow-down', () => {
  it('moves a connection over budget behind, feeds it nothing, then catches it up with a welcome from where it stopped (P21)', () => {
    const s = setup();
    const a = peer('a');
    const slow = peer('slow');
    for (const p of [a, slow]) s.room.join(p, 0);
    const submit = (cs: number, text: string) => {
      const r = s.room.submit(a, { base: s.room.sequencerHead, events: [ev('a', cs, [0, text].filter((x) => x !== 0) as Op)] }, 5);
      if (!r.ok) throw new Error(r.error.message);
      return r.value;
    };
    for (const it of [submit(1, 'x')]) for (const e of it.appended) s.log.append([e]);
    const first = s.room.committed([{ peer: a, appended: s.log.events.slice(0, 1), duplicates: [] }]);
    expect(kinds(first)).toEqual(['a:events 1', 'slow:events 1']);

    // Over budget at the next turn: `behind` at 1 (it has the stream up to 1), and nothing else.
    const it2 = submit(2, 'y');
    s.log.append(it2.appended);
    const second = s.room.committed([it2], (p) => p === slow);
    expect(kinds(second)).toEqual(['slow:behind 1', 'a:events 2']);
    expect(s.room.isBehind(slow)).toBe(true);
    // Behind: no stream, no presence, whatever the predicate says now.
    const it3 = submit(3, 'z');
    s.log.append(it3.appended);
    expect(kinds(s.room.committed([it3], () => false))).toEqual(['a:events 3']);
    expect(kinds(s.room.presence(a, { anchor: 1, head: 1 }))).toEqual([]);

    // Drained: a welcome from 1 (events 2, 3: exactly what it missed), then a's presence.
    const d = s.room.drained(slow);
    expect(d).not.toBeNull();
    const w = welcomeMessage(d!.welcome, s.log);
    expect(w.checkpoint).toBeNull();
    expect(w.events.map((e) => e.seq)).toEqual([2, 3]);
    expect(kinds(d!.sends)).toEqual(['slow:presence a']);
    expect(s.room.isBehind(slow)).toBe(false);
    expect(s.room.drained(slow)).toBeNull();
    // And it is fed again.
    const it4 = submit(4, 'w');
    s.log.append(it4.appended);
    expect(kinds(s.room.committed([it4], () => false))).toEqual(['a:events 4', 'slow:events 4']);
  });

  it('asks a crowd to batch as its 100th editor joins, before anyone types: everyone already here, and the newcomer after its welcome; viewers never (K21, P22)', () => {
    const room = new RoomCore<TestPeer>('d', new MemoryLog(), { checkpointEvery: 1000, targetLagMs: 150 });
    const viewers = Array.from({ length: 50 }, (_, i) => peer(`v${i}`, `v${i}`, 'view'));
    for (const v of viewers) expect(unwrap(room.join(v, 0)).sends.filter((x) => x.msg.type === 'slow-down')).toEqual([]);
    const editors = Array.from({ length: 100 }, (_, i) => peer(`e${i}`));
    for (const e of editors.slice(0, 99)) expect(unwrap(room.join(e, 0)).sends.filter((x) => x.msg.type === 'slow-down')).toEqual([]);
    expect(room.batchMs).toBe(0);
    const hundredth = unwrap(room.join(editors[99], 0)).sends.filter((x) => x.msg.type === 'slow-down');
    expect(hundredth.map((x) => x.to.name).sort()).toEqual(editors.map((e) => e.name).sort());
    expect(new Set(hundredth.map((x) => JSON.stringify(x.msg)))).toEqual(new Set([JSON.stringify({ type: 'slow-down', batchMs: 50 })]));
    expect(room.batchMs).toBe(50);
    // The 101st hears it with its welcome, as any joiner while one holds; nobody else hears it again.
    const late = unwrap(room.join(peer('e100'), 0)).sends.filter((x) => x.msg.type === 'slow-down');
    expect(late.map((x) => x.to.name)).toEqual(['e100']);
  });

  it('notices a sudden crowd within a tenth of a second while nothing is asked, and then measures over half a second (K16, K19)', () => {
    const log = new MemoryLog();
    const room = new RoomCore<TestPeer>('d', log, { checkpointEvery: 1000, targetLagMs: 150 });
    const editors = Array.from({ length: 12 }, (_, i) => peer(`e${i}`));
    for (const p of editors) room.join(p, 0);
    const cs = new Map<TestPeer, number>();
    // Every editor submits at base 0 at `now` (so each is as stale as the first turn is old); the shell paces at `paceAt`.
    const round = (now: number, paceAt: number) => {
      const items: CommitItem<TestPeer>[] = [];
      for (const p of editors) {
        const n = (cs.get(p) ?? 0) + 1;
        cs.set(p, n);
        const r = room.submit(p, { base: 0, events: [ev(p.client, n, ['x'])] }, now);
        if (!r.ok) throw new Error(r.error.message);
        items.push(r.value);
      }
      for (const it of items) log.append(it.appended);
      room.committed(items);
      return room.pace(paceAt);
    };
    expect(round(0, 1)).toEqual([]);
    // 200 ms stale, 201 ms after the window opened: asked (a half-second window would still be open).
    expect(round(200, 201)[0]?.msg).toEqual({ type: 'slow-down', batchMs: 50 });
    // Asked: the next window is half a second long.
    expect(round(250, 260)).toEqual([]);
    expect(round(700, 701)).toEqual([]);
    expect(round(760, 761)[0]?.msg).toEqual({ type: 'slow-down', batchMs: 100 });
  });

  it('asks editors (not viewers) to batch when the submits go stale, tells newcomers, and lifts it when they are fresh again, falling by quarters (K16, P22, K19)', () => {
    const log = new MemoryLog();
    const room = new RoomCore<TestPeer>('d', log, { checkpointEvery: 1000, targetLagMs: 150 });
    const editors = Array.from({ length: 12 }, (_, i) => peer(`e${i}`));
    const viewer = peer('v', 'v', 'view');
    for (const p of [...editors, viewer]) room.join(p, 0);
    const cs = new Map<TestPeer, number>();
    // Each editor submits at base `base` at time `now`; all commit in one turn.
    const round = (now: number, base: (head: number) => number) => {
      const items: CommitItem<TestPeer>[] = [];
      for (const p of editors) {
        const n = (cs.get(p) ?? 0) + 1;
        cs.set(p, n);
        const r = room.submit(p, { base: base(room.committedHead), events: [ev(p.client, n, ['x'])] }, now);
        if (!r.ok) throw new Error(r.error.message);
        items.push(r.value);
      }
      for (const it of items) log.append(it.appended);
      room.committed(items);
      return room.pace(now + 1);
    };
    // Fresh submits (at the head): nothing asked.
    expect(round(0, (h) => h)).toEqual([]);
    expect(round(600, (h) => h)).toEqual([]);
    // Stale ones: each made before the last turn (600 ms old at 1,200): slow-down 50 to every editor.
    round(1200, (h) => h - 12);
    const on = round(1800, (h) => h - 12);
    expect(new Set(on.map((x) => x.to))).toEqual(new Set(editors));
    expect(on[0].msg).toEqual({ type: 'slow-down', batchMs: 50 });
    expect(room.batchMs).toBe(50);
    // A newcomer editor hears it with its join; a viewer does not.
    const late = peer('late');
    const j = room.join(late, room.committedHead);
    expect(j.ok && kinds(j.value.sends).filter((k) => k.startsWith('late:slow'))).toEqual(['late:slow-down']);
    const j2 = room.join(peer('v2', 'v2', 'view'), room.committedHead);
    expect(j2.ok && kinds(j2.value.sends).some((k) => k.includes('slow'))).toBe(false);
    // Still stale: doubles.
    round(2400, (h) => h - 12);
    expect(round(3000, (h) => h - 12)[0]?.msg).toEqual({ type: 'slow-down', batchMs: 100 });
    round(3600, (h) => h - 12);
    expect(round(4200, (h) => h - 12)[0]?.msg).toEqual({ type: 'slow-down', batchMs: 200 });
    // Fresh again: falls by quarters (K19), then lifts.
    round(4800, (h) => h);
    expect(round(5400, (h) => h)[0]?.msg).toEqual({ type: 'slow-down', batchMs: 50 });
    round(6000, (h) => h);
    expect(round(6600, (h) => h)[0]?.msg).toEqual({ type: 'slow-down', batchMs: 0 });
    expect(room.batchMs).toBe(0);
    // Just lifted: measured over half a second again, not a tenth (no flapping, K19).
    expect(round(7000, (h) => h - 12)).toEqual([]);
    expect(round(7150, (h) => h - 12)).toEqual([]);
    expect(round(7550, (h) => h - 12)[0]?.msg).toEqual({ type: 'slow-down', batchMs: 50 });
  });
});
