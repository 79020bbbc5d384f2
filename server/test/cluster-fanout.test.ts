/**
 * Fan-out between nodes over a real PostgreSQL's LISTEN/NOTIFY: two nodes' fan-outs, each
 * with a room core of one document over one shared log (the rooms read the log directly;
 * the PostgreSQL log store is what the whole-cluster test, cluster.test.ts, runs). What one
 * node commits, the other's connections get once and in order; presence crosses; notices
 * lost while PostgreSQL restarts are made good by the listener's reconnect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterFanout, type ClusterHost, type ClusterRoom } from '../src/cluster/index.js';
import { decodeNotice, encodeNotice } from '../src/cluster/cluster-notice.js';
import { silentLogger } from '../src/options.js';
import { RoomCore, MemoryLog, type DocEvent, type RoomPeer, type Send, type CommitItem } from '../../shared/src/index.js';
import { PgCluster } from './helpers/pg-cluster.js';

interface Peer extends RoomPeer {
  readonly got: number[];
  readonly heard: string[];
}

const peer = (client: string): Peer => ({ client, role: 'edit', user: { name: client, color: '#123456' }, cursor: null, got: [], heard: [] });

function deliver(sends: readonly Send<Peer>[]): void {
  for (const s of sends) {
    if (s.msg.type === 'events') for (const e of s.msg.events) s.to.got.push(e.seq);
    else if (s.msg.type === 'ack' && s.msg.time !== undefined) s.to.got.push(s.msg.seq);
    else if (s.msg.type === 'presence') s.to.heard.push(`${s.msg.client}@${s.msg.cursor?.head ?? '-'}`);
    else if (s.msg.type === 'presence-leave') s.to.heard.push(`${s.msg.client} left`);
  }
}

/** One node: a room core of doc 'd' over the shared log, behind a ClusterFanout. */
function node(url: string, id: string, log: MemoryLog) {
  const core = new RoomCore<Peer>('d', log, { checkpointEvery: 1000 });
  const room: ClusterRoom = {
    docId: 'd',
    heardCommit: (s) => core.heardCommit(s),
    catchUpPlan: () => core.catchUpPlan(),
    adoptRemote: (events) => deliver(core.adopt(events)),
    remotePresence: (e) => deliver(core.remotePresence(e)),
    remoteLeave: (c, n) => deliver(core.remoteLeave(c, n)),
    expireRemote: (now) => deliver(core.expireRemote(now)),
    localPresence: () => core.peers,
  };
  const host: ClusterHost = {
    room: (d) => (d === 'd' ? room : undefined),
    rooms: () => [room],
    readRange: async (_d, from, to) => log.range(from, to),
    readHead: async () => log.head,
    recheckAccess: () => {},
  };
  const fanout = new ClusterFanout({ url, nodeId: id, host, log: silentLogger, pollMs: 60_000, presenceEveryMs: 20 });
  let cs = 0;
  const p = peer(`client-${id}`);
  core.join(p, 0);
  /** Types one character and commits it to the shared log; `tell` sends the notice. */
  const type = (tell = true): void => {
    const r = core.submit(p, { base: core.sequencerHead, events: [{ id: { client: p.client, clientSeq: ++cs }, author: p.client, op: [core.text().length, id], kind: 'edit' }] }, Date.now());
    if (!r.ok) throw new Error(r.error.message);
    const items: CommitItem<Peer>[] = [r.value];
    log.append(r.value.appended);
    deliver(core.committed(items));
    if (tell) fanout.committed('d', core.committedHead);
  };
  return { core, fanout, peer: p, type };
}

async function until(what: string, f: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let pg: PgCluster;
beforeAll(async () => {
  pg = await PgCluster.start();
}, 60_000);
afterAll(async () => {
  await pg?.destroy();
});

describe('cluster fan-out over LISTEN/NOTIFY', () => {
  it('notices are small pointers, and anything malformed decodes to null (R23)', () => {
    const n = { t: 'commit', n: 'a', d: 'doc', s: 7 } as const;
    expect(decodeNotice(encodeNotice(n)!)).toEqual(n);
    for (const bad of ['', 'null', '{"t":"commit","n":"a","d":"doc","s":-1}', '{"t":"presence","n":"a","d":"d","c":"x","u":{"name":1},"k":null}', '{"t":"other","n":"a","d":"d"}']) {
      expect(decodeNotice(bad)).toBeNull();
    }
    expect(encodeNotice({ t: 'presence', n: 'a', d: 'd', c: 'x', u: { name: 'x'.repeat(8000), color: '' }, k: null })).toBeNull();
  });

  it('delivers the other node’s commits once and in seq order, and catches up after PostgreSQL restarts (R23)', async () => {
    const log = new MemoryLog();
    const a = node(pg.url, 'A', log);
    const b = node(pg.url, 'B', log);
    await Promise.all([a.fanout.start(), b.fanout.start()]);
    try {
      await until('listening', () => a.fanout.listening && b.fanout.listening);
      for (let i = 0; i < 20; i++) {
        // The one who types has heard everything (a race lost in the store is cluster.test.ts's).
        const n = i % 3 === 0 ? b : a;
        await until('caught up', () => n.core.committedHead === log.head);
        n.type();
      }
      await until('b has 20', () => b.peer.got.length === 20 && a.peer.got.length === 20);
      // Notices lost: A commits without telling while PostgreSQL is down (the log here is
      // the shared memory one); B's listener must find them when it is back.
      await pg.stop();
      for (let i = 0; i < 5; i++) a.type(false);
      await pg.start();
      await until('b caught up by its reconnect', () => b.peer.got.length === 25, 20_000);
      const all = Array.from({ length: 25 }, (_, k) => k + 1);
      expect(a.peer.got).toEqual(all);
      expect(b.peer.got).toEqual(all);
      expect(b.core.text()).toBe(a.core.text());
      expect(b.fanout['listener'].connects).toBeGreaterThanOrEqual(2);
    } finally {
      await Promise.all([a.fanout.close(), b.fanout.close()]);
    }
  }, 60_000);

  it('relays presence coalesced, and leaves (P20)', async () => {
    const log = new MemoryLog();
    const a = node(pg.url, 'A', log);
    const b = node(pg.url, 'B', log);
    await Promise.all([a.fanout.start(), b.fanout.start()]);
    try {
      await until('listening', () => a.fanout.listening && b.fanout.listening);
      for (let i = 1; i <= 10; i++) a.fanout.presence('d', 'client-A', { name: 'A', color: '#000000' }, { anchor: i, head: i });
      await until('b hears the caret', () => b.peer.heard.includes('client-A@10'));
      // Ten moves within the coalescing window arrive as the last one.
      expect(b.peer.heard).toEqual(['client-A@10']);
      a.fanout.left('d', 'client-A');
      await until('b hears the leave', () => b.peer.heard.includes('client-A left'));
    } finally {
      await Promise.all([a.fanout.close(), b.fanout.close()]);
    }
  }, 30_000);
});
