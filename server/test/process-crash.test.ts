/**
 * Crashes under load (L2, L3, O2): 20 clients type into one document without pause
 * while the server process is SIGKILLed at random moments and restarted on the same
 * DATA_DIR, at least 20 times. Clients keep typing while it is down (their outboxes
 * grow), reconnect with backoff, catch up and resend. At the end:
 *   - every event a client saw acknowledged is in the log, exactly once, at the seq
 *     the ack named (an ack only ever follows a durable commit);
 *   - every event any client made is in the log exactly once (resends are answered
 *     with the original seq, never appended again);
 *   - all clients hold the same text, equal to the replay of the log;
 *   - the store sealed blocks meanwhile (every 100 events here) and compacted runs of them
 *     into blocks of up to 500 (R25), kills landing in seals and merges too.
 * server/test/soak.ts runs the same for longer.
 */
import { afterAll, expect, it } from 'vitest';
import { Random } from '../../shared/test/sim/random';
import { ServerProcess, readLog, sealedHead } from './helpers/server-process';
import Database from 'better-sqlite3';
import type { WsClient } from './helpers/ws-client';
import { checkAgainstLog, makeTypists, settle, startTyping, testSeed } from './helpers/typing';

const CYCLES = Number(process.env.EVENTIDE_CRASH_CYCLES || 20);
/** Small blocks, so that seals and merges happen many times under the kills. */
const SEAL_EVERY = 100;
const COMPACT_EVENTS = 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let sp: ServerProcess | null = null;
let cs: WsClient[] = [];

afterAll(async () => {
  for (const c of cs) c.stop();
  await sp?.dispose();
});

it(`loses nothing acknowledged across ${CYCLES} SIGKILLs under the load of 20 typists, sealing and compacting meanwhile (L2, R25)`, async () => {
  const seed = testSeed('crash cycles');
  const rnd = new Random(seed);
  sp = await ServerProcess.start({ env: { EVENTIDE_SEAL_EVERY: String(SEAL_EVERY), EVENTIDE_COMPACT_EVENTS: String(COMPACT_EVENTS) } });
  cs = makeTypists(sp.url, 20, 'crash', seed, 200);
  cs.forEach((c) => c.start());
  await Promise.all(cs.map((c) => c.waitFor(() => c.ready)));
  const stopTyping = startTyping(cs, rnd, 1);

  const acksBefore: number[] = [];
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    await sleep(150 + rnd.int(450));
    await sp.kill();
    acksBefore.push(cs.reduce((n, c) => n + c.acks.size, 0));
    await sleep(rnd.int(100));
    await sp.launch();
  }
  await sleep(300);
  stopTyping();
  const head = await settle(cs, 60_000);
  expect(await sp.stop()).toBe(0);

  const made = cs.reduce((n, c) => n + c.state.nextClientSeq - 1, 0);
  const log = readLog(sp.dbFile, 'crash');
  expect(log.length).toBe(head);
  expect(head).toBe(made);
  checkAgainstLog(log, cs);
  // Sealing went on through the kills: most of the log is in blocks (readLog checked that
  // blocks and rows together hold every seq exactly once).
  const sealed = sealedHead(sp.dbFile, 'crash');
  expect(sealed).toBeGreaterThanOrEqual(head - 2 * SEAL_EVERY);
  expect(sealed).toBeGreaterThan(0);
  // Compaction went on through them too: blocks larger than a seal's.
  const raw = new Database(sp.dbFile, { readonly: true });
  const merged = raw.prepare(`SELECT count(*) FROM blocks WHERE doc_id = 'crash' AND last_seq - first_seq + 1 > ?`).pluck().get(SEAL_EVERY) as number;
  raw.close();
  expect(merged).toBeGreaterThan(0);
  // The load was real: acks kept arriving between crashes.
  const grew = acksBefore.filter((n, i) => i === 0 || n > acksBefore[i - 1]).length;
  expect(grew).toBeGreaterThanOrEqual(CYCLES / 2);
  const reconnects = cs.reduce((n, c) => n + c.connects, 0);
  console.log(`crash cycles: ${CYCLES} kills, ${made} events (${sealed} sealed, ${merged} merged blocks), ${reconnects} connections, ${sp.starts} server starts`);
}, 240_000);
