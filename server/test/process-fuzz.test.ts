/**
 * Hostile input against the real server process (S1). One socket sends at least
 * 10,000 random and mutated bad frames (helpers/bad-frames.ts: garbage, wrong types,
 * unknown types, invalid ops, ops outside the document, id-rule breakers, frames over
 * 1 MiB, invalid UTF-8, a foreign protocol version, frames before hello, bursts of
 * hundreds at once) while 5 honest clients edit the same document. Every bad frame
 * must get an error with the right code, or the right close code; the server stays
 * healthy; the honest clients converge; nothing from the bad socket is in the log.
 *
 * A second server with a small frame bucket shows the flood rule: over the limit,
 * frames are dropped with `rate-limited`, and a connection that keeps going is closed
 * with 1008, while honest clients at a human pace are untouched.
 */
import { afterAll, expect, it } from 'vitest';
import { opFromSplice } from '../../shared/src/index';
import { Random } from '../../shared/test/sim/random';
import { ServerProcess, readLog } from './helpers/server-process';
import { RawSocket } from './helpers/raw-socket';
import { BadFrames, type BadFrame } from './helpers/bad-frames';
import type { WsClient } from './helpers/ws-client';
import { checkAgainstLog, makeTypists, settle, startTyping, testSeed } from './helpers/typing';

const FRAMES = Number(process.env.EVENTIDE_FUZZ_FRAMES || 10_000);
const servers: ServerProcess[] = [];
const clients: WsClient[] = [];

afterAll(async () => {
  for (const c of clients) c.stop();
  for (const s of servers) await s.dispose();
});

/** Keeps the bad connection's idea of the head current and drops what is not an error. */
function track(sock: RawSocket, gen: BadFrames): void {
  for (const m of sock.messages) if (m.type === 'events') gen.head = Math.max(gen.head, m.events[m.events.length - 1].seq);
  const errors = sock.messages.filter((m) => m.type === 'error');
  sock.messages.length = 0;
  sock.messages.push(...errors);
}

function describeFrame(f: BadFrame): string {
  const d = typeof f.data === 'string' ? f.data : `<${f.data.length} bytes${f.binary ? ' binary' : ''}>`;
  return `${f.kind}: ${d.slice(0, 200)}`;
}

it(`answers ${FRAMES} bad frames from one socket with the right codes while 5 honest clients converge (S1, P12)`, async () => {
  const seed = testSeed('bad frames');
  const rnd = new Random(seed);
  const sp = await ServerProcess.start({ env: { EVENTIDE_RATE_FRAMES: '1000000/1000000' } });
  servers.push(sp);
  const honest = makeTypists(sp.url, 5, 'fuzz', seed);
  clients.push(...honest);
  honest.forEach((c) => c.start());
  await Promise.all(honest.map((c) => c.waitFor(() => c.ready)));
  honest[0].edit(opFromSplice(0, '', 'abcdefghij'.repeat(50)));
  await settle(honest);
  const stopTyping = startTyping(honest, new Random(seed + 1), 3, { keepAtLeast: 400 });

  const gen = new BadFrames(rnd, 'bad', 'fuzz');
  const join = async () => {
    const { sock, welcome } = await RawSocket.join(sp.url, 'fuzz', 'bad');
    gen.head = welcome.head;
    return sock;
  };
  let sock = await join();
  const kinds = new Map<string, number>();
  const count = (k: string) => kinds.set(k, (kinds.get(k) ?? 0) + 1);
  let sent = 0;
  let nextHealth = 1000;
  while (sent < FRAMES) {
    track(sock, gen);
    if (rnd.chance(0.04)) {
      // A frame that ends the connection: alone, then reconnect (sometimes talking out of turn first).
      const f = gen.closing();
      sock.send(f.data, f.binary);
      if ('error' in f.expect && f.expect.error) expect((await sock.next('error')).code, describeFrame(f)).toBe(f.expect.error);
      expect(await sock.waitClose(), describeFrame(f)).toBe((f.expect as { close: number }).close);
      count(f.kind);
      sent++;
      const fresh = await RawSocket.open(sp.url);
      for (let k = rnd.int(3); k > 0; k--) {
        const g = gen.beforeHello();
        fresh.send(g.data);
        expect((await fresh.next('error')).code, describeFrame(g)).toBe('not-joined');
        count(g.kind);
        sent++;
      }
      fresh.close();
      sock = await join();
      continue;
    }
    // A window of frames sent back to back; sometimes a flood of hundreds.
    const n = rnd.chance(0.03) ? 300 + rnd.int(300) : 1 + rnd.int(40);
    const frames = Array.from({ length: n }, () => gen.joined());
    for (const f of frames) sock.send(f.data, f.binary);
    for (const f of frames) {
      const e = await sock.next('error');
      if (e.code !== (f.expect as { error: string }).error) {
        throw new Error(`expected ${(f.expect as { error: string }).error}, got ${e.code} (${e.message}) for ${describeFrame(f)}`);
      }
      expect(e.fatal).toBe(false);
      count(f.kind);
    }
    sent += n;
    if (sent >= nextHealth) {
      expect(await sp.healthy()).toBe(true);
      nextHealth += 1000;
    }
  }
  sock.close();
  stopTyping();
  await settle(honest);
  expect(honest.flatMap((c) => c.errors)).toEqual([]);
  expect(await sp.healthy()).toBe(true);
  expect(await sp.stop()).toBe(0);

  const log = readLog(sp.dbFile, 'fuzz');
  expect(log.filter((e) => e.id.client.startsWith('bad') || e.author === 'mallory')).toEqual([]);
  checkAgainstLog(log, honest);
  console.log(`bad frames: ${sent} sent; by kind: ${[...kinds].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  expect(kinds.size).toBeGreaterThanOrEqual(20);
}, 120_000);

it('drops a flood with rate-limited, then closes it with 1008; honest clients are untouched (K4, P13)', async () => {
  const seed = testSeed('flood');
  const sp = await ServerProcess.start({ env: { EVENTIDE_RATE_FRAMES: '50/100' } });
  servers.push(sp);
  const honest = makeTypists(sp.url, 2, 'flood', seed);
  clients.push(...honest);
  honest.forEach((c) => c.start());
  await Promise.all(honest.map((c) => c.waitFor(() => c.ready)));
  const stopTyping = startTyping(honest, new Random(seed), 25);

  const { sock } = await RawSocket.join(sp.url, 'flood', 'flooder');
  for (let i = 0; i < 400; i++) sock.sendJson({ type: 'ping', t: i });
  expect(await sock.waitClose()).toBe(1008);
  const pongs = sock.messages.filter((m) => m.type === 'pong').length;
  const errors = sock.messages.filter((m) => m.type === 'error');
  expect(pongs).toBeGreaterThanOrEqual(90);
  expect(pongs).toBeLessThanOrEqual(250); // 99 tokens plus what a slow machine refills meanwhile
  expect(errors.length).toBeGreaterThanOrEqual(90);
  expect(errors.every((e) => e.type === 'error' && e.code === 'rate-limited')).toBe(true);
  expect(errors.filter((e) => e.type === 'error' && e.fatal).length).toBe(1);
  expect(pongs + errors.length).toBeLessThan(400);

  await new Promise((r) => setTimeout(r, 300));
  stopTyping();
  await settle(honest);
  expect(honest.flatMap((c) => c.errors)).toEqual([]);
  expect(await sp.healthy()).toBe(true);
  expect(await sp.stop()).toBe(0);
  checkAgainstLog(readLog(sp.dbFile, 'flood'), honest);
}, 60_000);
