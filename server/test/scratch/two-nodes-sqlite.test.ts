import { describe, expect, it } from 'vitest';
import { startServer } from '../../src/http.js';
import { silentLogger } from '../../src/options.js';
import { Random } from '../../../shared/test/sim/random.js';
import { checkAgainstLog, makeTypists, settle, startTyping } from '../helpers/typing.js';
import { readLog, tempDataDir } from '../helpers/server-process.js';
import { freshDatabase } from '../helpers/pg-cluster.js';

describe('scratch', () => {
  it('two nodes over one sqlite file, fan-out via pg', async () => {
    const db = await freshDatabase();
    const dataDir = await tempDataDir();
    const mk = (id: string) => startServer({ port: 0, dataDir, staticDir: dataDir, sync: { log: silentLogger, cluster: { url: db.url, nodeId: id, pollMs: 500 }, connections: { rate: 1e6, burst: 1e6 }, creates: { rate: 1e6, burst: 1e6 }, addressFrames: { rate: 1e6, burst: 1e6 } } });
    const a = await mk('A');
    const b = await mk('B');
    const c3 = await mk('C');
    const urls = [a, b, c3].map((s) => `ws://127.0.0.1:${s.port}/ws`);
    const seed = 42;
    const cs = makeTypists((i) => urls[i % 3], 12, 'doc', seed);
    for (const c of cs) c.start();
    await Promise.all(cs.map((c) => c.waitFor(() => c.ready)));
    const stop = startTyping(cs, new Random(seed), 5);
    await new Promise((r) => setTimeout(r, 4000));
    stop();
    const head = await settle(cs, 30_000);
    const errs = cs.map((c) => c.errors.join(',')).join(' | ');
    console.log('head', head, 'errors', errs.slice(0, 500), 'acks', cs.reduce((n, c) => n + c.acks.size, 0));
    checkAgainstLog(readLog(`${dataDir}/eventide.sqlite`, 'doc'), cs);
    for (const c of cs) c.stop();
    await a.close();
    await b.close();
    await c3.close();
    await db.drop();
    expect(head).toBeGreaterThan(10);
  }, 60_000);
});
