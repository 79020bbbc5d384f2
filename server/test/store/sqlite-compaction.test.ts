/**
 * Compaction of sealed blocks (R25) and the settling of an idle document: runs of small
 * blocks merged into larger ones in one transaction each, with the id index (L3) and every
 * read unchanged; what is merged when (complete runs once a busy document is quiet, the tail
 * too once it is idle, complete runs at open); checkpoints written again smaller. Then the
 * contract suite on a store that seals every 3 events and compacts into blocks of up to 10,
 * so every read and id check crosses compacted blocks, plain blocks and rows.
 */
import { describe, it, expect, afterAll } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SqliteLogStore, type LayoutStep } from '../../src/store/sqlite-log-store.js';
import { checkpointOf, replay, type DocEvent } from '../../../shared/src/index.js';
import { logStoreContract, ev, evs } from './contract.js';
import { Random } from '../../../shared/test/sim/random.js';
import { readLog } from '../helpers/stored-log.js';
import { runKilledChild } from '../helpers/killed-child.js';

const root = resolve(__dirname, '..', '..', '..');
const storeUrl = pathToFileURL(join(root, 'server', 'src', 'store', 'sqlite-log-store.ts')).href;

const dirs: string[] = [];
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-compact-'));
  dirs.push(dir);
  return join(dir, 'eventide.sqlite');
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

logStoreContract('SqliteLogStore sealing every 3 events, compacting into blocks of up to 10', (options) =>
  SqliteLogStore.open(tempFile(), { ...options, sealEvery: 3, sealing: 'inline', compactEvents: 10 }),
);

/** The file's blocks of `docId` and its id index rows, read with a connection of its own. */
function layout(file: string, docId: string) {
  const raw = new Database(file, { readonly: true });
  try {
    return {
      blocks: raw.prepare('SELECT first_seq, last_seq FROM blocks WHERE doc_id = ? ORDER BY last_seq').raw().all(docId) as [number, number][],
      ids: raw.prepare('SELECT client, min_cs, max_cs, last_seq FROM block_ids WHERE doc_id = ? ORDER BY last_seq, client').raw().all(docId) as [string, number, number, number][],
      rows: raw.prepare('SELECT count(*) FROM events WHERE doc_id = ?').pluck().get(docId) as number,
    };
  } finally {
    raw.close();
  }
}

/** Two clients taking turns: each block has id rows for both. */
const twoClients = (q: number): Partial<DocEvent> => ({ id: { client: q % 2 ? 'x' : 'y', clientSeq: q } });

describe('SqliteLogStore compaction (R25)', () => {
  it('merges complete runs of small blocks into one block each, one transaction per merge; reads and ids unchanged (L3, R12, R25)', async () => {
    const file = tempFile();
    const s = SqliteLogStore.open(file, { sealEvery: 3, sealing: 'inline', compactEvents: 10 });
    const log = evs(0, 28, twoClients);
    // Appended one event at a time: seals of 3, then merges once a run cannot grow.
    for (let i = 0; i < log.length; i++) expect((await s.append('a', i, [log[i]])).ok).toBe(true);
    const l = layout(file, 'a');
    // [1,9] and [10,18] are merged (3 blocks each: a 4th would pass 10 events); [19,21],
    // [22,24], [25,27] may still grow into a run of 9 (nothing follows them), so they wait.
    expect(l.blocks).toEqual([[1, 9], [10, 18], [19, 21], [22, 24], [25, 27]]);
    expect(l.rows).toBe(1);
    // One id row per client per block, for the merged blocks too, and none left over.
    expect(l.ids.filter(([, , , last]) => last === 9)).toEqual([['x', 1, 9, 9], ['y', 2, 8, 9]]);
    expect(l.ids).toHaveLength(10);
    expect(await s.range('a', 0, 100)).toEqual(log);
    for (const [from, to] of [[0, 1], [4, 7], [8, 11], [17, 20], [20, 28]]) expect(await s.range('a', from, to)).toEqual(log.slice(from, to));
    for (const e of log) expect(await s.seqOf('a', e.id)).toBe(e.seq);
    expect(await s.lastClientSeq('a', 'x')).toBe(27);
    expect(await s.lastClientSeq('a', 'y')).toBe(28);
    await expect(s.append('a', 28, [ev(29, { id: { client: 'x', clientSeq: 5 } })])).rejects.toThrow(/L3/);
    expect(await s.head('a')).toBe(28);
    await s.close();
  });

  it('a merge stays under compactBytes of stored blocks; a block as large as compactEvents is never merged again (R25)', async () => {
    const file = tempFile();
    // Blocks of 4 events of noisy text: about 4 x 60 bytes each.
    const rnd = new Random(17);
    const text = () => Array.from({ length: 60 }, () => String.fromCharCode(97 + rnd.int(26))).join('');
    const log = evs(0, 40, (q) => ({ op: [text()], id: { client: 'c1', clientSeq: q } }));
    const sizes = (f: string) => new Database(f, { readonly: true }).prepare('SELECT length(data) FROM blocks ORDER BY last_seq').pluck().all() as number[];
    const s = SqliteLogStore.open(file, { sealEvery: 4, sealing: 'inline', compactEvents: 1000, compactBytes: 700 });
    for (let i = 0; i < log.length; i += 4) expect((await s.append('a', i, log.slice(i, i + 4))).ok).toBe(true);
    s.settle('a');
    const blocks = layout(file, 'a').blocks;
    expect(blocks.length).toBeGreaterThan(1);
    expect(blocks[0][0]).toBe(1);
    for (let i = 1; i < blocks.length; i++) expect(blocks[i][0]).toBe(blocks[i - 1][1] + 1);
    expect(blocks[blocks.length - 1][1]).toBe(40);
    for (const n of sizes(file)) expect(n).toBeLessThanOrEqual(700);
    expect(await s.range('a', 0, 40)).toEqual(log);
    await s.close();

    // compactEvents 8: two blocks of 4 make a block of 8, which is not small any more.
    const other = tempFile();
    const t = SqliteLogStore.open(other, { sealEvery: 4, sealing: 'inline', compactEvents: 8 });
    for (let i = 0; i < 24; i += 4) expect((await t.append('a', i, log.slice(i, i + 4))).ok).toBe(true);
    t.settle('a');
    expect(layout(other, 'a').blocks).toEqual([[1, 8], [9, 16], [17, 24]]);
    await t.close();
  });

  it('settle (and an idle document) merges the tail run too and writes the checkpoints again smaller; reads unchanged (R16, R25)', async () => {
    const file = tempFile();
    const rnd = new Random(5);
    const words = ['alpha ', 'beta ', 'gamma ', 'delta ', 'epsilon '];
    const log = evs(0, 60, (q) => ({ op: [words[rnd.int(words.length)].repeat(20)], id: { client: 'c1', clientSeq: q } }));
    const s = SqliteLogStore.open(file, { sealEvery: 10, compactEvents: 1000, idleSealMs: 300 });
    expect((await s.append('a', 0, log.slice(0, 55))).ok).toBe(true);
    const cp = checkpointOf('a', 55, replay(null, log.slice(0, 55)));
    expect((await s.putCheckpoint(cp)).ok).toBe(true);
    const stored = () => new Database(file, { readonly: true }).prepare('SELECT length(data) FROM checkpoints WHERE doc_id = ?').pluck().get('a') as number;
    const before = stored();
    for (let i = 0; i < 8; i++) await new Promise((r) => setImmediate(r));
    expect(layout(file, 'a')).toMatchObject({ blocks: [[1, 10], [11, 20], [21, 30], [31, 40], [41, 50]], rows: 5 });
    // Idle: the rows sealed, the whole run merged, the checkpoint written at level 9.
    await new Promise((r) => setTimeout(r, 900));
    expect(layout(file, 'a')).toMatchObject({ blocks: [[1, 55]], rows: 0 });
    expect(stored()).toBeLessThan(before);
    expect(await s.checkpointAtOrBefore('a', 55)).toEqual(cp);
    expect(await s.range('a', 0, 55)).toEqual(log.slice(0, 55));
    // A second settle finds nothing to do.
    expect(s.settle('a')).toEqual({ blocks: 0, checkpoints: 0 });
    // Appends go on after the merged block; it is merged again with what follows.
    expect((await s.append('a', 55, log.slice(55))).ok).toBe(true);
    expect(s.settle('a')).toEqual({ blocks: 2, checkpoints: 0 });
    expect(layout(file, 'a').blocks).toEqual([[1, 60]]);
    expect(await s.range('a', 0, 60)).toEqual(log);
    await s.close();
  });

  it('an idle document is settled one step per turn of the event loop: its last rows sealed on one turn, merged on a later one (R13, R25)', async () => {
    const file = tempFile();
    const s = SqliteLogStore.open(file, { sealEvery: 2, compactEvents: 1000, idleSealMs: 100 });
    const log = evs(0, 23);
    expect((await s.append('a', 0, log)).ok).toBe(true);
    // Watch the file after every turn until it is settled; each state seen once.
    const seen: string[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 5000) {
      await new Promise((r) => setImmediate(r));
      const l = layout(file, 'a');
      const state = `${l.blocks.length} blocks, ${l.rows} rows`;
      if (seen.at(-1) !== state) seen.push(state);
      if (l.blocks.length === 1 && l.rows === 0) break;
    }
    // 11 seals of 2 (one a turn), then idle: the last row sealed, and only then the merge.
    expect(seen.slice(-3)).toEqual(['11 blocks, 1 rows', '12 blocks, 0 rows', '1 blocks, 0 rows']);
    expect(seen.length).toBeGreaterThan(5);
    expect(await s.range('a', 0, 23)).toEqual(log);
    await s.close();
  });

  it('a busy document\'s complete runs wait until it has had no append for mergeQuietMs, then merge a step a turn; with 0 they merge while it is busy; never quiet, one merges each mergeMaxWaitMs (R25)', async () => {
    // Appends of one event every 20 ms, sealed in blocks of 2; runs of two blocks are complete.
    const typeFor = async (s: SqliteLogStore, log: DocEvent[]) => {
      for (let i = 0; i < log.length; i++) {
        expect((await s.append('a', i, [log[i]])).ok).toBe(true);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const log = evs(0, 30, twoClients);
    const waitFile = tempFile();
    const s = SqliteLogStore.open(waitFile, { sealEvery: 2, compactEvents: 4, mergeQuietMs: 400, idleSealMs: 0 });
    await typeFor(s, log);
    const busy = layout(waitFile, 'a');
    expect(busy.blocks.length).toBeGreaterThanOrEqual(14); // sealed as it went…
    expect(busy.blocks.every(([f, l]) => l - f + 1 === 2)).toBe(true); // …and nothing merged while busy
    const t0 = Date.now();
    let merged = busy.blocks;
    while (Date.now() - t0 < 3000 && merged.length > 8) {
      await new Promise((r) => setTimeout(r, 20));
      merged = layout(waitFile, 'a').blocks;
    }
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300); // not before it was quiet
    expect(merged.slice(0, 7)).toEqual([[1, 4], [5, 8], [9, 12], [13, 16], [17, 20], [21, 24], [25, 28]]);
    expect(await s.range('a', 0, 30)).toEqual(log);
    for (const e of log) expect(await s.seqOf('a', e.id)).toBe(e.seq);
    await s.close();

    const atOnce = tempFile();
    const t = SqliteLogStore.open(atOnce, { sealEvery: 2, compactEvents: 4, mergeQuietMs: 0, idleSealMs: 0 });
    await typeFor(t, log);
    expect(layout(atOnce, 'a').blocks.filter(([f, l]) => l - f + 1 === 4).length).toBeGreaterThanOrEqual(6);
    await t.close();

    // Never quiet, but a merge waits at most mergeMaxWaitMs: runs merge while it is busy.
    const capped = tempFile();
    const c = SqliteLogStore.open(capped, { sealEvery: 2, compactEvents: 4, mergeQuietMs: 400, mergeMaxWaitMs: 150, idleSealMs: 0 });
    await typeFor(c, log);
    const merges = layout(capped, 'a').blocks.filter(([f, l]) => l - f + 1 === 4).length;
    expect(merges).toBeGreaterThanOrEqual(1);
    expect(await c.range('a', 0, 30)).toEqual(log);
    await c.close();
  });

  it('opening a file compacts its complete runs, each merge reported; a store that compacts nothing reads the same file (R14, R25)', async () => {
    const file = tempFile();
    const log = evs(0, 50, twoClients);
    // compactEvents 1: no block is small, so nothing is ever merged (a file as the store wrote before R25).
    const s = SqliteLogStore.open(file, { sealEvery: 5, sealing: 'inline', compactEvents: 1 });
    expect((await s.append('a', 0, log)).ok).toBe(true);
    await s.close();
    expect(layout(file, 'a').blocks).toHaveLength(10);
    const steps: LayoutStep[] = [];
    const t = SqliteLogStore.open(file, { sealEvery: 5, compactEvents: 20, progress: (p) => steps.push(p) });
    expect(steps).toEqual([
      { kind: 'compacted', docId: 'a', first: 1, last: 20, blocks: 4 },
      { kind: 'compacted', docId: 'a', first: 21, last: 40, blocks: 4 },
    ]);
    expect(layout(file, 'a').blocks).toEqual([[1, 20], [21, 40], [41, 45], [46, 50]]);
    expect(await t.range('a', 0, 50)).toEqual(log);
    await t.close();
    const u = SqliteLogStore.open(file, { compactEvents: 1 });
    expect(await u.range('a', 0, 50)).toEqual(log);
    for (const e of log) expect(await u.seqOf('a', e.id)).toBe(e.seq);
    await u.close();
  });

  it('events read from a cached block are frozen: a caller cannot change what the next read returns (R8)', async () => {
    const s = SqliteLogStore.open(tempFile(), { sealEvery: 4, sealing: 'inline', compactEvents: 100 });
    const log = evs(0, 12);
    expect((await s.append('a', 0, log)).ok).toBe(true);
    s.settle('a');
    const got = await s.range('a', 0, 12);
    expect(() => {
      (got[3] as { seq: number }).seq = 99;
    }).toThrow(TypeError);
    expect(() => (got[3].op as unknown[]).push('x')).toThrow(TypeError);
    expect(await s.range('a', 0, 12)).toEqual(log);
    await s.close();
  });

  it('SIGKILL in the middle of the merges at open, again and again: every start leaves each seq in exactly one block and goes on where the last stopped (L1, L3, R12, R25)', async () => {
    const seed = Number(process.env.COMPACT_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`compaction crash seed ${seed} (COMPACT_CRASH_SEED=${seed} repeats it)`);
    const rnd = new Random(seed);
    const file = tempFile();
    // 3,000 events of 7 clients in blocks of 50, never merged: 60 blocks, 15 merges of 4 to do.
    const log = evs(0, 3000, (q) => ({ id: { client: `k${q % 7}`, clientSeq: Math.ceil(q / 7) }, op: [`${q % 10}`] }));
    const s = SqliteLogStore.open(file, { sealEvery: 50, compactEvents: 1 });
    for (let i = 0; i < log.length; i += 500) expect((await s.appendSealed('a', i, log.slice(i, i + 500))).ok).toBe(true);
    await s.close();
    const child = join(file, '..', 'compact-child.mjs');
    writeFileSync(child, compactChild);
    let kills = 0;
    for (let round = 0; round < 30; round++) {
      const afterSteps = 1 + rnd.int(3);
      const extraMs = rnd.int(4);
      const steps = (out: string) => out.split('\n').filter((l) => l.startsWith('{')).length;
      const out = await runKilledChild('node', ['--import', 'tsx', child, file], root, { when: (o) => steps(o) >= afterSteps, afterMs: extraMs });
      // After every start, killed or not: the log whole, each seq once, blocks contiguous.
      expect(readLog(file, 'a'), `round ${round} (seed ${seed})`).toStrictEqual(log);
      const blocks = layout(file, 'a').blocks;
      for (let i = 1; i < blocks.length; i++) expect(blocks[i][0], `round ${round} (seed ${seed})`).toBe(blocks[i - 1][1] + 1);
      if (out.stdout.includes('done')) break;
      expect(out.signal, `round ${round} (seed ${seed}): ${out.stderr}`).toBe('SIGKILL');
      kills++;
    }
    expect(kills).toBeGreaterThanOrEqual(3);
    const l = layout(file, 'a');
    expect(l.blocks).toEqual(Array.from({ length: 15 }, (_, i) => [i * 200 + 1, i * 200 + 200]));
    expect(l.ids).toHaveLength(15 * 7); // no id rows of the merged-away blocks left behind
    const t = SqliteLogStore.open(file, { sealEvery: 50, compactEvents: 200 });
    for (const e of log) expect(await t.seqOf('a', e.id)).toBe(e.seq);
    for (let c = 0; c < 7; c++) expect(await t.lastClientSeq('a', `k${c}`)).toBe(Math.max(...log.filter((e) => e.id.client === `k${c}`).map((e) => e.id.clientSeq)));
    await expect(t.append('a', 3000, [ev(3001, { id: { client: 'k3', clientSeq: 100 } })])).rejects.toThrow(/L3/);
    await t.close();
    console.log(`compaction crash: ${kills} kills, nothing lost`);
  }, 180_000);
});

/** Opens the store (which merges), printing each committed step and pausing 3 ms after it so the parent's kill lands mid-way; prints `done` once open returns. */
const compactChild = `import { writeSync } from 'node:fs';
const { SqliteLogStore } = await import(${JSON.stringify(storeUrl)});
const pause = new Int32Array(new SharedArrayBuffer(4));
const s = SqliteLogStore.open(process.argv[2], {
  sealEvery: 50,
  compactEvents: 200,
  progress: (step) => { writeSync(1, JSON.stringify(step) + '\\n'); Atomics.wait(pause, 0, 0, 3); },
});
await s.close();
writeSync(1, 'done\\n');
`;
