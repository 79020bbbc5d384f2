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
});
