/**
 * History paging and presence against the real server process.
 *   - history: pages of at most `limit` events that continue each other through
 *     `next` up to `to` (clamped to the head), the server checkpoints that fall in
 *     each page, each equal to the replay of the events before it (L5, T1), and
 *     the same answers after a restart (the room reloaded from the store);
 *   - presence: relayed to everyone else in the document with the sender's user,
 *     the newcomer hears who is there, leaving is announced; never logged.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { replay, type Checkpoint, type DocEvent } from '../../shared/src/index';
import { Random } from '../../shared/test/sim/random';
import { ServerProcess, readLog } from './helpers/server-process';
import { RawSocket } from './helpers/raw-socket';
import type { WsClient } from './helpers/ws-client';
import { makeTypists, randomEdit, settle } from './helpers/typing';

const servers: ServerProcess[] = [];
const clients: WsClient[] = [];

afterAll(async () => {
  for (const c of clients) c.stop();
  for (const s of servers) await s.dispose();
});

let reqIds = 1;
async function page(sock: RawSocket, from: number, to: number, limit: number) {
  const reqId = reqIds++;
  sock.sendJson({ type: 'history', reqId, from, to, limit });
  const p = await sock.next('history-page');
  expect(p.reqId).toBe(reqId);
  return p;
}

/** Walks pages from `from` to `to`; checks each page on the way. */
async function walk(sock: RawSocket, from: number, to: number, limit: number) {
  const events: DocEvent[] = [];
  const checkpoints: Checkpoint[] = [];
  let at: number | null = from;
  let pages = 0;
  while (at !== null) {
    const p = await page(sock, at, to, limit);
    pages++;
    expect(p.events.length).toBeLessThanOrEqual(limit);
    p.events.forEach((e, i) => expect(e.seq).toBe(at! + i + 1));
    const end = at + p.events.length;
    for (const cp of p.checkpoints) {
      expect(cp.seq).toBeGreaterThan(at);
      expect(cp.seq).toBeLessThanOrEqual(end);
    }
    events.push(...p.events);
    checkpoints.push(...p.checkpoints);
    if (p.next !== null) expect(p.next).toBe(end);
    at = p.next;
  }
  return { events, checkpoints, pages };
}

describe('history and presence (real process)', () => {
  it('pages history with checkpoints, as binary frames, before and after a restart (P9, P19)', async () => {
    // Every checkpoint kept (R16 would keep only the newest two of these), so pages carry all ten.
    const sp = await ServerProcess.start({ env: { EVENTIDE_CHECKPOINT_EVERY: '100', EVENTIDE_CHECKPOINT_KEEP_EVERY: '100' } });
    servers.push(sp);
    const [writer] = makeTypists(sp.url, 1, 'hist', 9);
    clients.push(writer);
    const rnd = new Random(9);
    writer.start();
    await writer.waitFor(() => writer.ready);
    // In rounds of 50 acknowledged events, so commits (and checkpoints) fall between them.
    for (let round = 0; round < 21; round++) {
      for (let i = 0; i < 50; i++) randomEdit(writer, rnd);
      await writer.waitFor(() => writer.state.pending.length === 0);
    }
    const head = await settle([writer]);
    expect(head).toBe(1050);

    let { sock } = await RawSocket.join(sp.url, 'hist', 'reader');
    const all = await walk(sock, 0, head, 300);
    expect(all.pages).toBe(4);
    expect(all.events.length).toBe(head);
    expect(all.checkpoints.map((c) => c.seq)).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    for (const cp of all.checkpoints) {
      const rope = replay(null, all.events.slice(0, cp.seq));
      expect(cp.text).toBe(rope.toString());
      expect(cp.authorship).toEqual(rope.authorship());
    }
    expect(replay(null, all.events).toString()).toBe(writer.state.live.toString());

    // A window in the middle, one event a page.
    const small = await walk(sock, 500, 505, 1);
    expect(small.events.map((e) => e.seq)).toEqual([501, 502, 503, 504, 505]);
    expect(small.events).toEqual(all.events.slice(500, 505));
    // `to` beyond the head stops at the head; `from` at or beyond it is an empty last page.
    expect(await page(sock, head - 2, head + 100, 50)).toMatchObject({ next: null, checkpoints: expect.any(Array) });
    expect((await page(sock, head - 2, head + 100, 50)).events.map((e) => e.seq)).toEqual([head - 1, head]);
    expect(await page(sock, head, head + 10, 10)).toEqual({ type: 'history-page', reqId: reqIds - 1, events: [], checkpoints: [], next: null });
    expect(await page(sock, head + 5, head + 10, 10)).toMatchObject({ events: [], next: null });
    sock.close();

    // After a crash and restart the room is rebuilt from the store: same answers.
    writer.stop();
    await sp.restart();
    ({ sock } = await RawSocket.join(sp.url, 'hist', 'reader'));
    const again = await walk(sock, 0, head, 1000);
    expect(again.pages).toBe(2); // the limit, 1,000 events (a page holds up to 64 checkpoints): pages end at 1000, 1050
    expect(again.events).toEqual(all.events);
    expect(again.checkpoints.map((c) => c.seq)).toEqual(all.checkpoints.map((c) => c.seq));
    // Pages are bounded by their bytes, not by 1,000 events: a large limit takes it all at once.
    const whole = await walk(sock, 0, head, 1_000_000);
    expect(whole.pages).toBe(1);
    expect(whole.events).toEqual(all.events);
    expect(whole.checkpoints).toEqual(again.checkpoints);
    sock.close();
    await sp.stop();
    expect(readLog(sp.dbFile, 'hist')).toEqual(all.events);
  });

  it('relays presence to the others and announces leaving; presence is never logged (P10)', async () => {
    const sp = await ServerProcess.start();
    servers.push(sp);
    const [a, b] = makeTypists(sp.url, 2, 'pres', 4);
    clients.push(a, b);
    for (const c of [a, b]) {
      c.keepOthers = true;
      c.start();
    }
    await Promise.all([a, b].map((c) => c.waitFor(() => c.ready)));
    a.edit(['hello world']);
    const head = await settle([a, b]);

    const { sock: c } = await RawSocket.join(sp.url, 'pres', 'carol');
    // The newcomer hears who is here; the others hear it arrive.
    const here = [await c.next('presence'), await c.next('presence')].map((m) => m.client).sort();
    expect(here).toEqual([a.opts.client, b.opts.client]);
    for (const w of [a, b]) await w.waitFor(() => w.others.some((m) => m.type === 'presence' && m.client === 'carol' && m.cursor === null));

    for (let i = 0; i < 50; i++) c.sendJson({ type: 'presence', cursor: { anchor: i, head: i + 1 } });
    for (const w of [a, b]) {
      await w.waitFor(() => w.others.some((m) => m.type === 'presence' && m.client === 'carol' && m.cursor?.anchor === 49), 5000, 'cursor 49');
      const mine = w.others.filter((m) => m.type === 'presence' && m.client === 'carol');
      expect(mine.length).toBe(51);
      expect(mine[50]).toEqual({ type: 'presence', client: 'carol', user: { name: 'carol', color: '#123' }, cursor: { anchor: 49, head: 50 } });
    }
    // Nobody hears their own presence.
    c.sendJson({ type: 'presence', cursor: null });
    c.sendJson({ type: 'ping', t: 1 });
    await c.next('pong');
    expect(c.messages.filter((m) => m.type === 'presence' && m.client === 'carol')).toEqual([]);

    // A rename rides on presence: the others hear the new name at once, and so does a later newcomer.
    const renamed = { name: 'Carol R', color: '#0a7c86' };
    c.sendJson({ type: 'presence', cursor: { anchor: 2, head: 5 }, user: renamed });
    for (const w of [a, b]) {
      await w.waitFor(() => w.others.some((m) => m.type === 'presence' && m.client === 'carol' && m.user.name === 'Carol R'), 5000, 'rename');
      expect(w.others.filter((m) => m.type === 'presence' && m.client === 'carol').at(-1)).toEqual({ type: 'presence', client: 'carol', user: renamed, cursor: { anchor: 2, head: 5 } });
    }
    const { sock: d } = await RawSocket.join(sp.url, 'pres', 'dave');
    const seen = [await d.next('presence'), await d.next('presence'), await d.next('presence')];
    expect(seen.find((m) => m.client === 'carol')).toEqual({ type: 'presence', client: 'carol', user: renamed, cursor: { anchor: 2, head: 5 } });
    d.close();

    c.close();
    for (const w of [a, b]) await w.waitFor(() => w.others.some((m) => m.type === 'presence-leave' && m.client === 'carol'));
    a.stop();
    b.stop();
    await sp.stop();
    const log = readLog(sp.dbFile, 'pres');
    expect(log.length).toBe(head);
    expect(log.every((e) => e.id.client !== 'carol')).toBe(true);
  });
});
