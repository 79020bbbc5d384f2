/**
 * The crash soak: process-crash.test.ts for as long as you like, over several
 * documents at once (so group commits span rooms), with clients that also go offline
 * on their own for a while (so some come back more than 1,000 events behind with an
 * outbox and must catch up through history), and with clean restarts (SIGTERM) mixed
 * into the SIGKILLs. Not part of npm test. Run:
 *
 *   npx tsx server/test/soak.ts
 *   SOAK_SECONDS=600 SOAK_DOCS=3 SOAK_CLIENTS=10 npx tsx server/test/soak.ts
 *
 * Knobs (env): SOAK_SECONDS (120), SOAK_DOCS (2), SOAK_CLIENTS per document (10),
 * SOAK_TYPE_MS mean pause between edits (1), SOAK_MAX_UP_MS longest run between crashes
 * (1500), SOAK_TERM share of clean restarts (0.2), SOAK_OFFLINE share of actions that
 * take a client offline (0.3), SOAK_SEED, plus any EVENTIDE_* server knob. Prints one
 * JSON line at the end; exits 1 on any lost, duplicated or diverging event.
 */
import { Random } from '../../shared/test/sim/random.js';
import { ServerProcess, readLog } from './helpers/server-process.js';
import type { WsClient } from './helpers/ws-client.js';
import { checkAgainstLog, makeTypists, settle, startTyping } from './helpers/typing.js';

const num = (name: string, dflt: number) => (process.env[name] ? Number(process.env[name]) : dflt);
const SECONDS = num('SOAK_SECONDS', 120);
const DOCS = num('SOAK_DOCS', 2);
const CLIENTS = num('SOAK_CLIENTS', 10);
const TYPE_MS = num('SOAK_TYPE_MS', 1);
const MAX_UP_MS = num('SOAK_MAX_UP_MS', 1500);
const TERM = num('SOAK_TERM', 0.2);
const OFFLINE = num('SOAK_OFFLINE', 0.3);
const SEED = num('SOAK_SEED', Math.floor(Math.random() * 2 ** 31));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  console.log(`soak: seed ${SEED} (SOAK_SEED=${SEED}), ${SECONDS} s, ${DOCS} documents x ${CLIENTS} clients`);
  const rnd = new Random(SEED);
  const sp = await ServerProcess.start();
  const docs: WsClient[][] = [];
  for (let d = 0; d < DOCS; d++) docs.push(makeTypists(sp.url, CLIENTS, `soak${d}`, SEED + d, 500));
  const all = docs.flat();
  all.forEach((c) => c.start());
  const stopTyping = startTyping(all, rnd, TYPE_MS);
  const stats = { kills: 0, terms: 0, offline: 0, maxOutbox: 0 };
  const offline = new Set<WsClient>();
  const t0 = Date.now();
  try {
    while (Date.now() - t0 < SECONDS * 1000) {
      await sleep(100 + rnd.int(MAX_UP_MS));
      stats.maxOutbox = Math.max(stats.maxOutbox, ...all.map((c) => c.state.pending.length));
      if (rnd.chance(OFFLINE)) {
        // Someone closes the laptop, or opens it again.
        const c = rnd.pick(all);
        if (offline.has(c)) {
          offline.delete(c);
          c.start();
        } else {
          offline.add(c);
          c.stop();
          stats.offline++;
        }
        continue;
      }
      if (rnd.chance(TERM)) {
        const code = await sp.stop();
        if (code !== 0) throw new Error(`SIGTERM: exit code ${code}\n${sp.output.slice(-3000)}`);
        stats.terms++;
      } else {
        await sp.kill();
        stats.kills++;
      }
      await sleep(rnd.int(300));
      await sp.launch();
    }
    stopTyping();
    for (const c of offline) c.start();
    for (const cs of docs) await settle(cs, 120_000);
    const code = await sp.stop();
    if (code !== 0) throw new Error(`final SIGTERM: exit code ${code}`);
    let events = 0;
    for (let d = 0; d < DOCS; d++) {
      const log = readLog(sp.dbFile, `soak${d}`);
      checkAgainstLog(log, docs[d]);
      events += log.length;
    }
    const historyFetches = all.reduce((n, c) => n + c.historyFetches, 0);
    const checkpointsUsed = all.reduce((n, c) => n + c.checkpointsUsed, 0);
    const connections = all.reduce((n, c) => n + c.connects, 0);
    console.log(JSON.stringify({ ok: true, seed: SEED, seconds: Math.round((Date.now() - t0) / 1000), events, connections, historyFetches, checkpointsUsed, ...stats }));
    await sp.dispose();
  } catch (e) {
    stopTyping();
    all.forEach((c) => c.stop());
    console.log(JSON.stringify({ ok: false, seed: SEED, error: (e as Error).message.slice(0, 2000), ...stats }));
    console.error(`server output (tail):\n${sp.output.slice(-4000)}\ndata kept in ${sp.dataDir}`);
    await sp.kill();
    process.exit(1);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
