/**
 * Presence in a crowded document (K17): from 32 connections on, caret moves are
 * coalesced: the others hear the latest caret of each connection every 100 ms, not every
 * move. A small document relays every move at once (P10).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/http';
import { MemoryLogStore } from '../src/store/memory-log-store';
import { silentLogger } from '../src/options';
import { RawSocket } from './helpers/raw-socket';
import { presenceEntries } from '../../shared/src/index.js';

let servers: RunningServer[] = [];
let socks: RawSocket[] = [];
afterEach(async () => {
  for (const s of socks) s.terminate();
  socks = [];
  for (const s of servers) await s.close();
  servers = [];
});

async function room(n: number, docId: string): Promise<RawSocket[]> {
  const srv = await startServer({ port: 0, host: '127.0.0.1', dataDir: '/tmp', staticDir: '/nonexistent', store: new MemoryLogStore(), sync: { log: silentLogger, heartbeatMs: 0 } });
  servers.push(srv);
  const url = `ws://127.0.0.1:${srv.port}/ws`;
  const out: RawSocket[] = [];
  for (let i = 0; i < n; i++) {
    const { sock } = await RawSocket.join(url, docId, `p${i}`);
    socks.push(sock);
    out.push(sock);
  }
  return out;
}

/** p0 moves its caret 20 times at once; what p1 hears of it, once the moves have settled. */
async function movesHeard(socks: RawSocket[]): Promise<number[]> {
  const [mover, listener] = socks;
  const heard = () => listener.messages.flatMap((m) => (m.type === 'presence' && m.client === 'p0' && m.cursor !== null ? [m.cursor.anchor] : []));
  for (let i = 1; i <= 20; i++) mover.sendJson({ type: 'presence', cursor: { anchor: i, head: i } });
  await expect.poll(() => heard().at(-1), { timeout: 10_000 }).toBe(20);
  await new Promise((r) => setTimeout(r, 300));
  return heard();
}

describe('presence pacing', () => {
  it('relays every caret move at once in a small document (P10)', async () => {
    expect(await movesHeard(await room(3, 'small'))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('coalesces caret moves in a document of 32 or more connections: the latest, not every one (K17, P10)', async () => {
    const heard = await movesHeard(await room(33, 'crowd'));
    expect(heard.at(-1)).toBe(20);
    expect(heard.length).toBeLessThan(20);
    // In order: a later batch never brings back an older caret.
    expect([...heard].sort((a, b) => a - b)).toEqual(heard);
  });

  it('sends each receiver one presence frame a tick in a crowded document, with every caret that moved (K17, P24)', async () => {
    const socks = await room(34, 'crowd-batch');
    const listener = socks[33];
    const movers = socks.slice(0, 10);
    const before = listener.messages.length;
    for (let i = 1; i <= 5; i++) movers.forEach((m, k) => m.sendJson({ type: 'presence', cursor: { anchor: k * 10 + i, head: k * 10 + i } }));
    // The frames that carry moves (the join's presence of those already there has null carets).
    const presence = () =>
      listener.messages.slice(before).filter((m) => (m.type === 'presence' && m.cursor !== null) || (m.type === 'presence-batch' && m.entries.some((e) => e.cursor !== null)));
    const carets = () => {
      const out = new Map<string, number>();
      for (const m of presence()) {
        for (const e of presenceEntries(m, 'p33')) if (e.cursor !== null) out.set(e.client, e.cursor.anchor);
      }
      return out;
    };
    await expect.poll(() => carets().size, { timeout: 10_000 }).toBe(10);
    await new Promise((r) => setTimeout(r, 300));
    expect([...carets()].sort()).toEqual(movers.map((_, k) => [`p${k}`, k * 10 + 5]).sort());
    // Ten movers, five moves each: one frame a tick (a tick or two here), not one per mover.
    expect(presence().length).toBeLessThanOrEqual(3);
    expect(presence().some((m) => m.type === 'presence-batch')).toBe(true);
  });
});
