/**
 * Two room cores over one log play two server nodes of one document: what one commits,
 * the other hears of as a pointer (a seq), reads from the log and adopts. Notices may
 * repeat, come out of order or be lost; every connection must still get each event once,
 * in seq order, and submits on either node must keep rebasing correctly afterwards.
 */
import { describe, it, expect } from 'vitest';
import { RoomCore, type RoomPeer } from '../../src/room/room-core.js';
import { planCatchUp } from '../../src/room/remote-commits.js';
import type { CommitItem, Send } from '../../src/room/commit-stream.js';
import { MemoryLog } from '../../src/log/memory-log.js';
import { replay } from '../../src/log/replay.js';
import type { DocEvent, LocalEvent } from '../../src/log/event.js';
import type { Op } from '../../src/op/op.js';
import { Random } from '../sim/random.js';

interface TestPeer extends RoomPeer {
  readonly name: string;
  /** Every seq this connection received, as events or acks, in order. */
  readonly got: number[];
}

function peer(name: string): TestPeer {
  return { name, client: name, role: 'edit', user: { name, color: '#000000' }, cursor: null, got: [] };
}

function ev(client: string, clientSeq: number, op: Op): LocalEvent {
  return { id: { client, clientSeq }, author: client, op, kind: 'edit' };
}

function deliver(sends: readonly Send<TestPeer>[]): void {
  for (const s of sends) {
    if (s.msg.type === 'events') for (const e of s.msg.events) s.to.got.push(e.seq);
    else if (s.msg.type === 'ack' && s.msg.time !== undefined) s.to.got.push(s.msg.seq);
  }
}

/** A node: a room core over the shared log, whose commit fails when another node got there first (the database's primary key). */
function node(log: MemoryLog) {
  const room = new RoomCore<TestPeer>('d', log, { checkpointEvery: 50 });
  const commit = (items: CommitItem<TestPeer>[]): boolean => {
    const first = items.find((it) => it.appended.length > 0)?.appended[0];
    if (first !== undefined && first.seq !== log.head + 1) {
      deliver(room.reload());
      return false;
    }
    for (const it of items) log.append(it.appended);
    deliver(room.committed(items));
    return true;
  };
  const hear = (seq: number): void => {
    const plan = room.heardCommit(seq);
    if (plan === null || plan === 'wait') return;
    deliver(room.adopt(log.range(plan.from, plan.to)));
  };
  return { room, commit, hear };
}

describe('remote commits', () => {
  it('plans a read of (head, heard] only when nothing is sequenced here (R23)', () => {
    expect(planCatchUp(5, 5, 5)).toBeNull();
    expect(planCatchUp(5, 5, 3)).toBeNull();
    expect(planCatchUp(5, 7, 9)).toBe('wait');
    expect(planCatchUp(5, 5, 9)).toEqual({ from: 5, to: 9 });
  });

  it('delivers another node’s commits once, in seq order, when notices repeat, reorder or are lost (R23)', () => {
    const log = new MemoryLog();
    const a = node(log);
    const b = node(log);
    const pa = peer('pa');
    const pb = peer('pb');
    a.room.join(pa, 0);
    b.room.join(pb, 0);
    for (let i = 1; i <= 6; i++) {
      const r = a.room.submit(pa, { base: a.room.sequencerHead, events: [ev('pa', i, [a.room.text().length, String(i)])] }, i);
      if (!r.ok) throw new Error(r.error.message);
      a.commit([r.value]);
    }
    // Notices for 1..6 arrive as 3, 1, 3 (repeat), 6; 2, 4, 5 are lost.
    b.hear(3);
    b.hear(1);
    b.hear(3);
    b.hear(6);
    expect(pb.got).toEqual([1, 2, 3, 4, 5, 6]);
    expect(b.room.text()).toBe('123456');
    expect(b.room.committedHead).toBe(6);
  });

  it('waits while its own submit is sequenced; the lost race reloads and the resend lands after (R23)', () => {
    const log = new MemoryLog();
    const a = node(log);
    const b = node(log);
    const pa = peer('pa');
    const pb = peer('pb');
    a.room.join(pa, 0);
    b.room.join(pb, 0);
    const rb = b.room.submit(pb, { base: 0, events: [ev('pb', 1, [0, 'b'])] }, 1);
    const ra = a.room.submit(pa, { base: 0, events: [ev('pa', 1, [0, 'a'])] }, 1);
    if (!ra.ok || !rb.ok) throw new Error('refused');
    expect(a.commit([ra.value])).toBe(true);
    expect(b.room.heardCommit(1)).toBe('wait');
    // b's commit at seq 1 loses: nothing of it is stored, the room reloads from the log.
    expect(b.commit([rb.value])).toBe(false);
    expect(pb.got).toEqual([1]);
    expect(b.room.committedHead).toBe(1);
    // The client resends at its base 0 (as after store-failed): rebased over 'a'.
    const again = b.room.submit(pb, { base: 0, events: [ev('pb', 1, [0, 'b'])] }, 2);
    if (!again.ok) throw new Error(again.error.message);
    expect(b.commit([again.value])).toBe(true);
    a.hear(2);
    expect(a.room.text()).toBe(b.room.text());
    expect(replay(null, log.range(0, log.head)).toString()).toBe(a.room.text());
    expect(pa.got).toEqual([1, 2]);
    expect(pb.got).toEqual([1, 2]);
  });

  it('after a lost race, the reload keeps this node’s forms: a pipelined batch is sequenced again over the new head with no re-sync (R23, R21, P6)', () => {
    const log = new MemoryLog();
    const a = node(log);
    const b = node(log);
    const pa = peer('pa');
    const pb = peer('pb');
    a.room.join(pa, 0);
    b.room.join(pb, 0);
    // pb types 'x' (committed at 1), then 'y' at base 0 before its ack: pipelined, so the
    // sequencer needs the form 'x' was sent in to place 'y'.
    const r1 = b.room.submit(pb, { base: 0, events: [ev('pb', 1, [0, 'x'])] }, 1);
    if (!r1.ok) throw new Error(r1.error.message);
    expect(b.commit([r1.value])).toBe(true);
    a.hear(1);
    const ra = a.room.submit(pa, { base: 1, events: [ev('pa', 1, [0, 'A'])] }, 2);
    if (!ra.ok) throw new Error(ra.error.message);
    expect(a.commit([ra.value])).toBe(true);
    const r2 = b.room.submit(pb, { base: 0, events: [ev('pb', 2, [1, 'y'])] }, 3);
    if (!r2.ok) throw new Error(r2.error.message);
    // b's commit of 'y' at seq 2 loses to a's 'A': retried over the new head instead.
    expect(r2.value.appended[0].seq).toBe(log.head);
    // The server's catch-up after a lost race (commit-queue.ts): reload keeping the forms
    // of this node's committed events, then the same batch again.
    deliver(b.room.reload({ keepSent: true }));
    const again = b.room.submit(pb, { base: 0, events: [ev('pb', 2, [1, 'y'])] }, 4);
    if (!again.ok) throw new Error(again.error.message);
    expect(again.value.appended.map((e) => e.seq)).toEqual([3]);
    log.append(again.value.appended);
    deliver(b.room.committed([again.value]));
    a.hear(3);
    expect(b.room.text()).toBe('Axy');
    expect(a.room.text()).toBe('Axy');
    expect(replay(null, log.range(0, log.head)).toString()).toBe('Axy');
    expect(pb.got).toEqual([1, 2, 3]);
    expect(pa.got).toEqual([1, 2, 3]);
  });

  it('a seeded run of two nodes keeps every connection gapless and every text the log’s (R23, L4)', () => {
    const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
    const rnd = new Random(seed);
    try {
      const log = new MemoryLog();
      const nodes = [node(log), node(log)];
      const peers = [0, 1, 2, 3].map((i) => peer(`c${i}`));
      const home = peers.map((_, i) => nodes[i % 2]);
      const cs = peers.map(() => 0);
      peers.forEach((p, i) => home[i].room.join(p, 0));
      const notices: number[][] = [[], []];
      // A submit sequenced on a node and not yet committed (its commit may lose the race).
      const held: (CommitItem<TestPeer> | null)[] = [null, null];
      let lost = 0;
      for (let step = 0; step < 600; step++) {
        const i = rnd.int(peers.length);
        const n = home[i];
        const k = nodes.indexOf(n);
        const roll = rnd.next();
        if (held[k] === null && roll < 0.45) {
          const head = n.room.sequencerHead;
          const len = n.room.text().length;
          const r = n.room.submit(peers[i], { base: head, events: [ev(peers[i].client, cs[i] + 1, [rnd.int(len + 1), 'x'])] }, step);
          if (r.ok) held[k] = r.value;
        } else if (held[k] !== null && roll < 0.7) {
          const item = held[k]!;
          held[k] = null;
          const c = peers.indexOf(item.peer);
          if (n.commit([item])) {
            cs[c]++;
            // The notice to the other node: sometimes lost, sometimes delayed.
            if (rnd.next() < 0.8) notices[k ^ 1].push(log.head);
          } else {
            lost++; // the client resends the same clientSeq later
          }
        } else {
          const q = notices[k];
          if (q.length > 0) n.hear(q.splice(rnd.int(q.length), 1)[0]);
        }
      }
      for (const [k, item] of held.entries()) if (item !== null && nodes[k].commit([item])) cs[peers.indexOf(item.peer)]++;
      expect(lost).toBeGreaterThan(0);
      // The listener's reconnect: each node reads the head and catches up.
      for (const n of nodes) n.hear(log.head);
      const text = replay(null, log.range(0, log.head)).toString();
      for (const n of nodes) expect(n.room.text()).toBe(text);
      for (const p of peers) expect(p.got).toEqual(Array.from({ length: log.head }, (_, k) => k + 1));
    } catch (e) {
      throw new Error(`seed ${seed}: ${(e as Error).message}`);
    }
  });
});

describe('remote presence', () => {
  it('relays another node’s client, tells newcomers, and forgets it on leave or after the TTL (P20)', () => {
    const log = new MemoryLog();
    const room = new RoomCore<TestPeer>('d', log, { checkpointEvery: 50, remotePresenceTtlMs: 1000 });
    const p = peer('p');
    room.join(p, 0);
    const seen = (sends: readonly Send<TestPeer>[]) => sends.map((s) => `${s.to.name}:${s.msg.type}:${'client' in s.msg ? s.msg.client : ''}`);
    const r = { client: 'x', node: 'n2', user: { name: 'X', color: '#111111' }, cursor: { anchor: 1, head: 1 } };
    expect(seen(room.remotePresence({ ...r, heardAt: 0 }))).toEqual(['p:presence:x']);
    // No news is not relayed again.
    expect(room.remotePresence({ ...r, heardAt: 100 })).toEqual([]);
    const q = peer('q');
    const joined = room.join(q, 0);
    if (!joined.ok) throw new Error('join refused');
    expect(seen(joined.value.sends)).toEqual(['q:presence:p', 'q:presence:x', 'p:presence:q']);
    // A leave from another node than the one it is on is ignored.
    expect(room.remoteLeave('x', 'n3')).toEqual([]);
    expect(seen(room.expireRemote(1000))).toEqual([]);
    expect(seen(room.expireRemote(1101))).toEqual(['p:presence-leave:x', 'q:presence-leave:x']);
    room.remotePresence({ ...r, client: 'y', heardAt: 2000 });
    expect(seen(room.remoteLeave('y', 'n2'))).toEqual(['p:presence-leave:y', 'q:presence-leave:y']);
  });
});
