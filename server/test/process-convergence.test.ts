/**
 * The real server process (node --import tsx server/src/main.ts, SQLite in a temp
 * DATA_DIR) with real WebSocket clients:
 *   - 20 people typing into one document at once end with byte-identical text equal
 *     to the replay of the stored log; seqs are contiguous (L1, L4), every edit is in
 *     the log once (L3), and the server checkpoints match the log's prefixes (L5);
 *   - one event sent 100 times across reconnects and a restart is stored once, and
 *     every answer names its original seq (L3);
 *   - SIGTERM: everything acknowledged is stored, sockets close with 1001, exit 0.
 * The log is read from the SQLite file after the server has stopped.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { idKey, replay } from '../../shared/src/index';
import { Random } from '../../shared/test/sim/random';
import { ServerProcess, readCheckpoints, readLog } from './helpers/server-process';
import { WsClient } from './helpers/ws-client';
import { RawSocket } from './helpers/raw-socket';
import { checkAgainstLog, makeTypists, settle, startTyping, testSeed } from './helpers/typing';

const servers: ServerProcess[] = [];
const clients: WsClient[] = [];

afterAll(async () => {
  for (const c of clients) c.stop();
  for (const s of servers) await s.dispose();
});

function typists(sp: ServerProcess, n: number, docId: string, seed: number): WsClient[] {
  const cs = makeTypists(sp.url, n, docId, seed);
  clients.push(...cs);
  return cs;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('real server process', () => {
  it('20 clients typing into one document converge on the replay of the stored log (L4, L5, P5, R4)', async () => {
    const seed = testSeed('20 typists');
    const sp = await ServerProcess.start();
    servers.push(sp);
    const cs = typists(sp, 20, 'together', seed);
    cs.forEach((c) => c.start());
    await Promise.all(cs.map((c) => c.waitFor(() => c.ready)));
    const rnd = new Random(seed);
    const stop = startTyping(cs, rnd, 1);
    while (cs.reduce((n, c) => n + c.state.nextClientSeq - 1, 0) < 2500) await sleep(50);
    stop();
    const head = await settle(cs);
    expect(head).toBe(cs.reduce((n, c) => n + c.state.nextClientSeq - 1, 0));
    expect(cs.every((c) => c.errors.length === 0)).toBe(true);
    expect(await sp.stop()).toBe(0);

    const log = readLog(sp.dbFile, 'together');
    expect(log.length).toBe(head);
    checkAgainstLog(log, cs);
    // Server checkpoints (every 1,000 committed events) are the log's prefixes (L5).
    const cps = readCheckpoints(sp.dbFile, 'together');
    expect(cps.length).toBeGreaterThanOrEqual(2);
    for (const cp of cps) {
      const rope = replay(null, log.slice(0, cp.seq));
      expect(cp.text).toBe(rope.toString());
      expect(cp.authorship).toEqual(rope.authorship());
    }
  });

  it('one event sent 100 times across reconnects and a restart is stored once, always at its first seq (L3)', async () => {
    const sp = await ServerProcess.start();
    servers.push(sp);
    const [other] = typists(sp, 1, 'resend', 5);
    other.start();
    const stopTyping = startTyping([other], new Random(5), 3);
    const event = { id: { client: 'resender', clientSeq: 1 }, author: 'r', op: ['once'], kind: 'edit' };
    let seq = -1;
    for (let i = 0; i < 100; i++) {
      if (i === 50) {
        await sp.restart();
        await other.waitFor(() => other.ready, 20_000, 'reconnect after the restart');
      }
      const { sock, welcome } = await RawSocket.join(sp.url, 'resend', 'resender', 0);
      // Sometimes made at base 0, sometimes at the head; twice in a row now and then.
      const base = i % 2 === 0 ? 0 : welcome.head;
      sock.sendJson({ type: 'submit', base, events: [event] });
      if (i % 10 === 3) sock.sendJson({ type: 'submit', base, events: [event] });
      const ack = await sock.next('ack');
      expect(ack.id).toEqual(event.id);
      if (i === 0) seq = ack.seq;
      expect(ack.seq).toBe(seq);
      if (i % 10 === 3) expect((await sock.next('ack')).seq).toBe(seq);
      expect(sock.messages.filter((m) => m.type === 'error')).toEqual([]);
      if (i % 3 === 0) sock.terminate();
      else sock.close();
    }
    stopTyping();
    await settle([other]);
    expect(await sp.stop()).toBe(0);
    const log = readLog(sp.dbFile, 'resend');
    const mine = log.filter((e) => e.id.client === 'resender');
    expect(mine.length).toBe(1);
    expect(mine[0].seq).toBe(seq);
    expect(log.length).toBeGreaterThan(seq); // the document moved on meanwhile
  });

  it('SIGTERM: acknowledged events are stored, sockets close with 1001, the process exits 0 (L2, P13)', async () => {
    const seed = testSeed('sigterm');
    const sp = await ServerProcess.start();
    servers.push(sp);
    const cs = typists(sp, 5, 'term', seed);
    cs.forEach((c) => c.start());
    await Promise.all(cs.map((c) => c.waitFor(() => c.ready)));
    const stop = startTyping(cs, new Random(seed), 1);
    await sleep(400);
    expect(await sp.stop()).toBe(0);
    stop();
    expect(cs.every((c) => c.closes.includes(1001))).toBe(true);
    const log = readLog(sp.dbFile, 'term');
    const seqOf = new Map(log.map((e) => [idKey(e.id), e.seq]));
    for (const c of cs) for (const [k, s] of c.acks) expect(seqOf.get(k)).toBe(s);
    // Back up: everything else arrives too.
    await sp.launch();
    const head = await settle(cs);
    cs.forEach((c) => c.stop());
    await sp.stop();
    checkAgainstLog(readLog(sp.dbFile, 'term'), cs);
    expect(head).toBeGreaterThan(0);
  });
});
